# OpenSearch 2.19.6, one node, security plugin absent, HTTP on 127.0.0.1:9200
# and transport on 127.0.0.1:9300.
#
# Maven Central has the server jar and each module's jar, but no distribution
# archive and no module zips. So the install builds an OPENSEARCH_HOME by hand:
#   lib/                 org.opensearch:opensearch and its runtime dependencies,
#                        plus opensearch-plugin-classloader, spatial4j and
#                        jts-core (optional in the server's POM; without them
#                        the geo_shape query is not registered and indexing a
#                        shape fails)
#   modules/<name>/      the module jar and its own dependencies (jars already
#                        in lib/ removed, as PluginsService rejects duplicate
#                        classes), plus a plugin-descriptor.properties
#                        written here
#   config/              opensearch.yml and log4j2.properties
#   launcher/            BridgeOpenSearchNode.class, compiled from
#                        opensearch/BridgeOpenSearchNode.java
# OpenSearch's own main class rejects running as root, which CI does, so the
# launcher starts the node without the bootstrap layer (see its comment).
# geo_point, geo_shape and the geo_shape query are in the server jar in 2.19;
# the geo module adds the geo aggregations (geo_bounds, geohash_grid,
# geotile_grid, geo_centroid on shapes).

OPENSEARCH_VERSION=2.19.6
OPENSEARCH_PORT=9200
OPENSEARCH_TRANSPORT_PORT=9300
OPENSEARCH_DIR="$BRIDGE_SERVICES_HOME/opensearch"
OPENSEARCH_HOME="$OPENSEARCH_DIR/home"
OPENSEARCH_JAVA_OPTS="${OPENSEARCH_JAVA_OPTS:--Xms512m -Xmx1g}"
# Module folder name, Maven artifact (group org.opensearch.plugin), plugin
# class, and the plugin it extends (or "-").
OPENSEARCH_MODULES=(
  "transport-netty4 transport-netty4-client org.opensearch.transport.Netty4Plugin -"
  "lang-painless lang-painless org.opensearch.painless.PainlessPlugin -"
  "analysis-common analysis-common org.opensearch.analysis.common.CommonAnalysisPlugin lang-painless"
  "mapper-extras mapper-extras-client org.opensearch.index.mapper.MapperExtrasPlugin -"
  "geo geo org.opensearch.geo.GeoModulePlugin -"
  "reindex reindex-client org.opensearch.index.reindex.ReindexPlugin -"
)

opensearch_probe_kind() { echo http; }

opensearch_install() {
  mkdir -p "$OPENSEARCH_DIR/data" "$OPENSEARCH_DIR/logs" "$OPENSEARCH_DIR/tmp"
  local stamp="$OPENSEARCH_HOME/.installed"
  local wanted
  wanted="$OPENSEARCH_VERSION $(printf '%s;' "${OPENSEARCH_MODULES[@]}")"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    opensearch_build_home
    printf '%s' "$wanted" >"$stamp"
  fi
  opensearch_compile_launcher
  opensearch_write_config
}

opensearch_build_home() {
  log "opensearch: resolving org.opensearch:opensearch:$OPENSEARCH_VERSION and its modules with Maven"
  local build="$OPENSEARCH_DIR/build"
  rm -rf "$OPENSEARCH_HOME" "$build"
  mkdir -p "$OPENSEARCH_HOME/lib" "$OPENSEARCH_HOME/modules" "$build/server"

  # One Maven reactor: the server and each module are separate projects, so
  # each gets its own dependency tree in <project>/lib, in one Maven run.
  local entry name artifact classname extends jar module_names=()
  opensearch_write_pom "$build/server/pom.xml" server \
    "org.opensearch opensearch $OPENSEARCH_VERSION" \
    "org.opensearch opensearch-plugin-classloader $OPENSEARCH_VERSION" \
    "org.apache.logging.log4j log4j-core 2.25.4" \
    "org.locationtech.spatial4j spatial4j 0.7" \
    "org.locationtech.jts jts-core 1.15.0"
  for entry in "${OPENSEARCH_MODULES[@]}"; do
    read -r name artifact classname extends <<<"$entry"
    mkdir -p "$build/$name"
    opensearch_write_pom "$build/$name/pom.xml" "$name" "org.opensearch.plugin $artifact $OPENSEARCH_VERSION"
    module_names+=("$name")
  done
  {
    printf '<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n'
    printf '  <groupId>local.bridge</groupId><artifactId>opensearch-home</artifactId><version>1</version><packaging>pom</packaging>\n  <modules>\n'
    printf '    <module>%s</module>\n' server "${module_names[@]}"
    printf '  </modules>\n</project>\n'
  } >"$build/pom.xml"
  maven_copy_dependencies "$build"

  cp "$build/server/lib/"*.jar "$OPENSEARCH_HOME/lib/"
  for entry in "${OPENSEARCH_MODULES[@]}"; do
    read -r name artifact classname extends <<<"$entry"
    mkdir -p "$OPENSEARCH_HOME/modules/$name"
    for jar in "$build/$name/lib/"*.jar; do
      [ -e "$OPENSEARCH_HOME/lib/$(basename "$jar")" ] || cp "$jar" "$OPENSEARCH_HOME/modules/$name/"
    done
    [ "$extends" = - ] && extends=""
    cat >"$OPENSEARCH_HOME/modules/$name/plugin-descriptor.properties" <<DESCRIPTOR
description=$name module, from org.opensearch.plugin:$artifact:$OPENSEARCH_VERSION
version=$OPENSEARCH_VERSION
name=$name
classname=$classname
java.version=11
opensearch.version=$OPENSEARCH_VERSION
extended.plugins=$extends
has.native.controller=false
DESCRIPTOR
  done
  # An extending module loads the extended module's jars through its parent
  # class loader, so a second copy would be a duplicate class.
  for entry in "${OPENSEARCH_MODULES[@]}"; do
    read -r name artifact classname extends <<<"$entry"
    [ "$extends" = - ] && continue
    for jar in "$OPENSEARCH_HOME/modules/$extends/"*.jar; do
      rm -f "$OPENSEARCH_HOME/modules/$name/$(basename "$jar")"
    done
  done
  rm -rf "$build"
}

# Write FILE, the POM of project opensearch-PROJECT, whose dependencies are
# the given "group artifact version" triples.
opensearch_write_pom() {
  local file="$1" project="$2" triple group artifact version
  shift 2
  {
    printf '<project xmlns="http://maven.apache.org/POM/4.0.0">\n  <modelVersion>4.0.0</modelVersion>\n'
    printf '  <groupId>local.bridge</groupId><artifactId>opensearch-%s</artifactId><version>1</version><packaging>pom</packaging>\n  <dependencies>\n' "$project"
    for triple in "$@"; do
      read -r group artifact version <<<"$triple"
      printf '    <dependency><groupId>%s</groupId><artifactId>%s</artifactId><version>%s</version></dependency>\n' "$group" "$artifact" "$version"
    done
    printf '  </dependencies>\n</project>\n'
  } >"$file"
}

opensearch_compile_launcher() {
  local source="$SERVICES_DIR/opensearch/BridgeOpenSearchNode.java"
  local out="$OPENSEARCH_HOME/launcher"
  local checksum
  checksum="$(sha256sum "$source" | cut -d' ' -f1)"
  if [ -f "$out/BridgeOpenSearchNode.class" ] && [ "$(cat "$out/.source-sha256" 2>/dev/null)" = "$checksum" ]; then
    return 0
  fi
  command -v javac >/dev/null || die "javac not found; the OpenSearch launcher needs a JDK 17"
  rm -rf "$out"
  mkdir -p "$out"
  javac -d "$out" -cp "$OPENSEARCH_HOME/lib/*" "$source" || die "opensearch: compiling $source failed"
  printf '%s' "$checksum" >"$out/.source-sha256"
}

opensearch_write_config() {
  mkdir -p "$OPENSEARCH_HOME/config"
  cat >"$OPENSEARCH_HOME/config/opensearch.yml" <<CONF
cluster.name: bridge-local
node.name: bridge-node
discovery.type: single-node
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
transport.port: $OPENSEARCH_TRANSPORT_PORT
path.data: $OPENSEARCH_DIR/data
path.logs: $OPENSEARCH_DIR/logs
action.auto_create_index: true
CONF
  cat >"$OPENSEARCH_HOME/config/log4j2.properties" <<'CONF'
status = error
appender.rolling.type = RollingFile
appender.rolling.name = rolling
appender.rolling.fileName = ${sys:opensearch.logs.base_path}${sys:file.separator}${sys:opensearch.logs.cluster_name}.log
appender.rolling.filePattern = ${sys:opensearch.logs.base_path}${sys:file.separator}${sys:opensearch.logs.cluster_name}-%i.log
appender.rolling.layout.type = PatternLayout
appender.rolling.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n
appender.rolling.policies.type = Policies
appender.rolling.policies.size.type = SizeBasedTriggeringPolicy
appender.rolling.policies.size.size = 64MB
appender.rolling.strategy.type = DefaultRolloverStrategy
appender.rolling.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.rolling.ref = rolling
CONF
}

opensearch_start() {
  # shellcheck disable=SC2086 # OPENSEARCH_JAVA_OPTS holds several JVM flags.
  start_daemon opensearch java $OPENSEARCH_JAVA_OPTS -XX:+UseG1GC \
    -Djava.awt.headless=true -Dfile.encoding=UTF-8 \
    -Djava.io.tmpdir="$OPENSEARCH_DIR/tmp" \
    -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath="$OPENSEARCH_DIR/logs" \
    -Dopensearch.path.home="$OPENSEARCH_HOME" \
    -Dopensearch.path.conf="$OPENSEARCH_HOME/config" \
    -cp "$OPENSEARCH_HOME/launcher:$OPENSEARCH_HOME/lib/*" \
    BridgeOpenSearchNode
}

opensearch_stop() {
  stop_process_group opensearch 30
}

opensearch_extra_logs() {
  echo "$OPENSEARCH_DIR/logs/bridge-local.log"
}

opensearch_version() {
  node "$SERVICES_DIR/probe.mjs" http "$OPENSEARCH_PORT" | sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}
