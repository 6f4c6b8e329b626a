# Apache Kafka 4.4.0, single node in KRaft mode (broker and controller in one
# process), on 127.0.0.1:9092 with the controller on 127.0.0.1:9093.
#
# Version choice: 4.4.0 is the newest 4.x on Maven Central when this was
# written. Kafka 4.0 removed old protocol versions (KIP-896), but kafkajs 2.2.4
# still works against 4.4.0: checks/kafka-check.cjs created a topic, produced,
# consumed with a consumer group (JoinGroup/SyncGroup/OffsetCommit) and
# committed a transaction, all with kafkajs 2.2.4 on this setup.
#
# The broker runs from the class path that Maven resolves for
# org.apache.kafka:kafka_2.13, with log4j2 writing to a file.

KAFKA_VERSION=4.4.0
KAFKA_PORT=9092
KAFKA_CONTROLLER_PORT=9093
KAFKA_DIR="$BRIDGE_SERVICES_HOME/kafka"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms512m -Xmx1g}"

kafka_probe_kind() { echo kafka; }

kafka_install() {
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  if [ ! -f "$KAFKA_DIR/lib/kafka_2.13-$KAFKA_VERSION.jar" ]; then
    log "kafka: resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven"
    rm -rf "${KAFKA_DIR:?}/lib"
    kafka_write_pom
    maven_copy_dependencies "$KAFKA_DIR"
  fi
  kafka_write_config
  if [ ! -f "$KAFKA_DIR/data/meta.properties" ]; then
    kafka_format_storage
  fi
}

kafka_write_pom() {
  # log4j-slf4j-impl routes Kafka's slf4j 1.7 logging to log4j2. Without a
  # binding, slf4j drops every log line.
  cat >"$KAFKA_DIR/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.bridge</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>2.25.5</version></dependency>
  </dependencies>
</project>
POM
}

kafka_write_config() {
  cat >"$KAFKA_DIR/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DIR/data
num.partitions=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
auto.create.topics.enable=true
group.initial.rebalance.delay.ms=0
CONF
  cat >"$KAFKA_DIR/log4j2.properties" <<CONF
status = warn
appender.file.type = RollingFile
appender.file.name = file
appender.file.fileName = $KAFKA_DIR/logs/server.log
appender.file.filePattern = $KAFKA_DIR/logs/server-%i.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 64MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.state.name = state.change.logger
logger.state.level = warn
CONF
}

kafka_java() {
  java -cp "$KAFKA_DIR/lib/*" \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    "$@"
}

# Format the KRaft storage once, as a standalone controller quorum of one voter.
kafka_format_storage() {
  local cluster_id
  cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid)"
  log "kafka: formatting storage with cluster id $cluster_id"
  kafka_java kafka.tools.StorageTool format --standalone \
    -t "$cluster_id" -c "$KAFKA_DIR/server.properties" >>"$(log_file kafka)" 2>&1 \
    || { print_log_tail kafka; die "kafka: storage format failed"; }
}

kafka_start() {
  # shellcheck disable=SC2086 # KAFKA_HEAP_OPTS holds several JVM flags.
  start_daemon kafka java $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -Djava.awt.headless=true \
    -cp "$KAFKA_DIR/lib/*" \
    -Dlog4j2.configurationFile="$KAFKA_DIR/log4j2.properties" \
    -Dkafka.logs.dir="$KAFKA_DIR/logs" \
    kafka.Kafka "$KAFKA_DIR/server.properties"
}

kafka_stop() {
  # SIGTERM runs Kafka's controlled shutdown, which flushes the logs.
  stop_process_group kafka 60
}

kafka_extra_logs() {
  echo "$KAFKA_DIR/logs/server.log"
}

# Print the version that the running broker logged at startup.
kafka_version() {
  sed -n 's/.*Kafka version: \([^ ]*\).*/\1/p' "$KAFKA_DIR/logs/server.log" 2>/dev/null | tail -n 1
}
