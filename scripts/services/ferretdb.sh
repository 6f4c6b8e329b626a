# FerretDB 1.24.2 (MongoDB wire protocol) with the SQLite backend, on
# 127.0.0.1:27017, telemetry disabled. README.md lists the MongoDB features it
# lacks.
#
# Built from the Go module github.com/FerretDB/FerretDB. A plain
# `go install ...@v1.24.2` builds a binary that panics at start, because the
# module does not contain build/version/version.txt (FerretDB's build
# generates it). So the install copies the module source from the Go module
# cache, writes that file and runs `go build`.

FERRETDB_VERSION=v1.24.2
FERRETDB_PORT=27017
FERRETDB_DIR="$BRIDGE_SERVICES_HOME/ferretdb"
FERRETDB_BIN="$BRIDGE_SERVICES_HOME/bin/ferretdb"

ferretdb_probe_kind() { echo mongo; }

ferretdb_install() {
  mkdir -p "$FERRETDB_DIR/data" "$FERRETDB_DIR/state"
  if [ -x "$FERRETDB_BIN" ] && "$FERRETDB_BIN" --version 2>/dev/null | grep -q "version: $FERRETDB_VERSION\$"; then
    return 0
  fi
  command -v go >/dev/null || die "go not found; FerretDB is built from source with Go"
  log "ferretdb: building $FERRETDB_VERSION with go build (about 3 minutes with empty Go caches)"
  local module_dir source="$FERRETDB_DIR/src"
  module_dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
    | node -e 'let s="";process.stdin.on("data",(d)=>{s+=d}).on("end",()=>{const m=JSON.parse(s);if(m.Error){console.error(m.Error);process.exit(1)}console.log(m.Dir)})')" \
    || die "ferretdb: go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION failed"
  rm -rf "$source"
  cp -r "$module_dir" "$source"
  chmod -R u+w "$source"
  printf '%s\n' "$FERRETDB_VERSION" >"$source/build/version/version.txt"
  mkdir -p "$(dirname "$FERRETDB_BIN")"
  (cd "$source" && GOTOOLCHAIN=local go build -trimpath -o "$FERRETDB_BIN" ./cmd/ferretdb) \
    >>"$(log_file ferretdb)" 2>&1 || { print_log_tail ferretdb; die "ferretdb: go build failed"; }
  rm -rf "$source"
}

ferretdb_start() {
  start_daemon ferretdb "$FERRETDB_BIN" \
    --handler=sqlite \
    --sqlite-url="file:$FERRETDB_DIR/data/" \
    --state-dir="$FERRETDB_DIR/state" \
    --listen-addr="127.0.0.1:$FERRETDB_PORT" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level=info
}

ferretdb_stop() {
  stop_process_group ferretdb 15
}

ferretdb_version() {
  "$FERRETDB_BIN" --version 2>/dev/null | sed -n 's/^version: //p'
}
