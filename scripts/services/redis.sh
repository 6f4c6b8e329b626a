# Redis from Debian's redis-server package (7.0 on Debian 12), on
# 127.0.0.1:6379, daemonized with its own config file and no persistence
# (it is a benchmark peer, not a store of record).

REDIS_PORT=6379
REDIS_DIR="$BRIDGE_SERVICES_HOME/redis"

redis_probe_kind() { echo redis; }

redis_install() {
  apt_install redis-server
  mkdir -p "$REDIS_DIR/data"
  cat >"$REDIS_DIR/redis.conf" <<CONF
bind 127.0.0.1
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $(pid_file redis)
logfile $(log_file redis)
dir $REDIS_DIR/data
save ""
appendonly no
CONF
}

redis_start() {
  # redis-server forks, writes the pid file and calls setsid, so its pid is
  # also its process group id, as stop_process_group expects.
  # 9>&- closes the service lock descriptor, which the server must not inherit.
  (cd "$REDIS_DIR" && redis-server "$REDIS_DIR/redis.conf") </dev/null >>"$(log_file redis)" 2>&1 9>&-
  local waited=0
  while ! running_pid redis >/dev/null && [ "$waited" -lt 20 ]; do
    sleep 0.25
    waited=$((waited + 1))
  done
}

redis_stop() {
  stop_process_group redis 15
}

redis_version() {
  redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'
}
