# RabbitMQ from Debian's rabbitmq-server package (3.10.8 on Debian 12), on
# 127.0.0.1:5672 with the default guest/guest user.
#
# The server runs as root in the foreground under setsid, from
# /usr/lib/rabbitmq/bin, because the /usr/sbin wrapper switches to the
# rabbitmq user, which cannot read this cache folder. No init system is used.
# epmd (the Erlang port mapper, 127.0.0.1:4369) is started here as its own
# process, so that stopping RabbitMQ also stops it.

RABBITMQ_PORT=5672
RABBITMQ_DIST_PORT=25672
RABBITMQ_EPMD_PORT=4369
RABBITMQ_DIR="$BRIDGE_SERVICES_HOME/rabbitmq"
RABBITMQ_BIN=/usr/lib/rabbitmq/bin

rabbitmq_probe_kind() { echo amqp; }

rabbitmq_env() {
  export HOME="$RABBITMQ_DIR/home"
  export RABBITMQ_NODENAME=rabbit@localhost
  export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$RABBITMQ_PORT"
  export RABBITMQ_DIST_PORT
  export ERL_EPMD_ADDRESS=127.0.0.1
  export ERL_EPMD_PORT="$RABBITMQ_EPMD_PORT"
  export RABBITMQ_CONF_ENV_FILE="$RABBITMQ_DIR/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$RABBITMQ_DIR/rabbitmq.conf"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$RABBITMQ_DIR/enabled_plugins"
  export RABBITMQ_MNESIA_BASE="$RABBITMQ_DIR/mnesia"
  export RABBITMQ_LOG_BASE="$RABBITMQ_DIR/log"
  export RABBITMQ_PID_FILE="$RABBITMQ_DIR/rabbit.pid"
  export ERL_CRASH_DUMP="$RABBITMQ_DIR/log/erl_crash.dump"
  # The Erlang distribution port listens on loopback only.
  export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

rabbitmq_install() {
  apt_install rabbitmq-server
  mkdir -p "$RABBITMQ_DIR/home" "$RABBITMQ_DIR/mnesia" "$RABBITMQ_DIR/log"
  : >"$RABBITMQ_DIR/rabbitmq-env.conf"
  printf '[].\n' >"$RABBITMQ_DIR/enabled_plugins"
  cat >"$RABBITMQ_DIR/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$RABBITMQ_PORT
loopback_users.guest = true
default_user = guest
default_pass = guest
log.file.level = info
log.console = false
CONF
}

rabbitmq_start() {
  rabbitmq_env
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$RABBITMQ_EPMD_PORT") 2>/dev/null; then
    start_daemon rabbitmq-epmd /usr/bin/epmd -address 127.0.0.1 -port "$RABBITMQ_EPMD_PORT"
  else
    log "rabbitmq: epmd already listens on 127.0.0.1:$RABBITMQ_EPMD_PORT; using it"
  fi
  start_daemon rabbitmq "$RABBITMQ_BIN/rabbitmq-server"
}

rabbitmq_stop() {
  local status=0
  stop_process_group rabbitmq 60 || status=1
  stop_process_group rabbitmq-epmd 10 || status=1
  return "$status"
}

rabbitmq_extra_logs() {
  ls "$RABBITMQ_DIR"/log/*.log 2>/dev/null
}

# Print the version from rabbitmqctl, which queries the running node. The status
# script reads the version from the AMQP handshake instead, which is faster.
rabbitmq_version() {
  rabbitmq_env
  "$RABBITMQ_BIN/rabbitmqctl" version 2>/dev/null
}
