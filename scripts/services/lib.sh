# Shared helpers for the local server scripts. Source this file; do not run it.
#
# Each server has a file NAME.sh beside this one that defines NAME_install,
# NAME_start, NAME_stop, NAME_probe_kind (the probe.mjs protocol) and
# NAME_version, plus NAME_PORT and optionally NAME_extra_logs.
# Everything a server downloads, builds or writes (data, logs, pid files)
# lives under BRIDGE_SERVICES_HOME, outside the repository.

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BRIDGE_SERVICES_HOME="${BRIDGE_SERVICES_HOME:-$HOME/.cache/bridge-services}"
ALL_SERVICES=(rabbitmq kafka opensearch ferretdb redis)
# Seconds that wait_until_ready gives a server to respond to its probe.
START_TIMEOUT="${BRIDGE_SERVICES_START_TIMEOUT:-120}"

mkdir -p "$BRIDGE_SERVICES_HOME/run" "$BRIDGE_SERVICES_HOME/logs"

for service in "${ALL_SERVICES[@]}"; do
  # shellcheck source=/dev/null
  source "$SERVICES_DIR/$service.sh"
done
unset service

log() {
  printf '[services %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# Print the requested service names, or all of them; reject unknown names.
resolve_services() {
  if [ "$#" -eq 0 ]; then
    printf '%s\n' "${ALL_SERVICES[@]}"
    return
  fi
  local name known
  for name in "$@"; do
    known=no
    for service in "${ALL_SERVICES[@]}"; do
      [ "$name" = "$service" ] && known=yes
    done
    [ "$known" = yes ] || die "unknown service '$name'; expected one of: ${ALL_SERVICES[*]}"
    printf '%s\n' "$name"
  done
}

pid_file() {
  printf '%s/run/%s.pid' "$BRIDGE_SERVICES_HOME" "$1"
}

log_file() {
  printf '%s/logs/%s.log' "$BRIDGE_SERVICES_HOME" "$1"
}

# Print the pid from NAME's pid file if that process is alive; return 1 otherwise.
running_pid() {
  local file pid
  file="$(pid_file "$1")"
  [ -f "$file" ] || return 1
  pid="$(cat "$file")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  printf '%s\n' "$pid"
}

# Start a command in a new session (its pid is also its process group id),
# with stdout and stderr appended to NAME's log, and record its pid.
start_daemon() {
  local name="$1"
  shift
  local log
  log="$(log_file "$name")"
  printf '\n===== %s starting: %s\n' "$(date -Is)" "$*" >>"$log"
  # The server runs in the cache folder, so crash dumps (erl_crash.dump,
  # hs_err_pid*.log) never land in the caller's folder. 9>&- closes the
  # service lock descriptor, which the server must not inherit.
  (cd "$BRIDGE_SERVICES_HOME/run" && exec setsid "$@") </dev/null >>"$log" 2>&1 9>&- &
  printf '%s\n' "$!" >"$(pid_file "$name")"
}

# Send TERM to the process group of NAME, wait up to TIMEOUT seconds, then
# KILL. Returns 1 if a process of the group is still alive after that.
stop_process_group() {
  local name="$1" timeout="${2:-30}" pid waited=0
  if ! pid="$(running_pid "$name")"; then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  log "$name: stopping process group $pid"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while pgrep -g "$pid" >/dev/null 2>&1 && [ "$waited" -lt $((timeout * 5)) ]; do
    sleep 0.2
    waited=$((waited + 1))
  done
  if pgrep -g "$pid" >/dev/null 2>&1; then
    log "$name: still running after ${timeout}s, sending KILL to process group $pid"
    kill -KILL -- "-$pid" 2>/dev/null || true
    sleep 1
  fi
  if pgrep -g "$pid" >/dev/null 2>&1; then
    log "$name: processes of group $pid survived KILL: $(pgrep -g "$pid" | tr '\n' ' ')"
    return 1
  fi
  rm -f "$(pid_file "$name")"
}

# Run NAME's probe; print its JSON result.
probe() {
  local name="$1" port_var
  port_var="${name^^}_PORT"
  node "$SERVICES_DIR/probe.mjs" "$("${name}_probe_kind")" "${!port_var}" 2>/dev/null
}

is_ready() {
  probe "$1" | grep -q '"ok":true'
}

# Poll NAME's probe until it responds or START_TIMEOUT passes. On failure print
# the log tail and return 1. Also fails early if the server process exited.
wait_until_ready() {
  local name="$1" started=$SECONDS last=""
  while [ $((SECONDS - started)) -lt "$START_TIMEOUT" ]; do
    if last="$(probe "$name")" && printf '%s' "$last" | grep -q '"ok":true'; then
      log "$name: ready after $((SECONDS - started))s"
      return 0
    fi
    if ! running_pid "$name" >/dev/null; then
      log "$name: process exited before it answered; last probe: $last"
      print_log_tail "$name"
      return 1
    fi
    sleep 0.5
  done
  log "$name: no answer within ${START_TIMEOUT}s; last probe: $last"
  print_log_tail "$name"
  return 1
}

print_log_tail() {
  local name="$1" file
  for file in "$(log_file "$name")" $("${name}_extra_logs" 2>/dev/null); do
    [ -f "$file" ] || continue
    printf '%s\n' "----- last 40 lines of $file" >&2
    tail -n 40 "$file" >&2
  done
}

# Fail if something else already listens on PORT, so a foreign server is never
# mistaken for ours.
require_free_port() {
  local name="$1" port="$2" holder=""
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    command -v ss >/dev/null && holder="$(ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n 1)"
    die "$name: port $port on 127.0.0.1 is in use by another process (${holder:-unknown}), maybe started with another BRIDGE_SERVICES_HOME; stop it first"
  fi
}

# Install Debian packages that are missing. Stops maintainer scripts from
# starting the services (there is no init system) with a temporary policy-rc.d.
# A machine-wide flock serializes concurrent runs, so one run never removes the
# policy-rc.d while another is still installing.
APT_LOCK=/var/lock/bridge-services-apt.lock
apt_install() {
  local missing=() package
  for package in "$@"; do
    dpkg_installed "$package" || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root (apt-get)"
  (
    flock -w 900 9 || die "timed out after 900s waiting for $APT_LOCK"
    apt_install_locked "$@"
  ) 9>"$APT_LOCK"
}

dpkg_installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install_locked() {
  local missing=() package
  for package in "$@"; do
    dpkg_installed "$package" || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0

  local policy=/usr/sbin/policy-rc.d created_policy=no apt_log="$BRIDGE_SERVICES_HOME/logs/apt.log"
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# Written by scripts/services: keep apt from starting services.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=yes
  fi
  log "apt-get install ${missing[*]}"
  local status=0
  apt-get -o DPkg::Lock::Timeout=600 update -q >>"$apt_log" 2>&1 || status=$?
  if [ "$status" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends \
      "${missing[@]}" >>"$apt_log" 2>&1 || status=$?
  fi
  [ "$created_policy" = yes ] && rm -f "$policy"
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$apt_log" >&2
    die "apt-get failed (exit $status) while installing ${missing[*]}; full output in $apt_log"
  fi
}

# Resolve the runtime dependencies of the Maven project DIR/pom.xml into DIR/lib
# (for an aggregator POM, into each module's lib folder).
maven_copy_dependencies() {
  local dir="$1"
  command -v mvn >/dev/null || die "mvn not found; install Maven 3.8 or newer"
  (cd "$dir" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime) \
    >>"$BRIDGE_SERVICES_HOME/logs/maven.log" 2>&1 \
    || { tail -n 30 "$BRIDGE_SERVICES_HOME/logs/maven.log" >&2; die "Maven failed to resolve the dependencies in $dir/pom.xml"; }
}

# Run a service step under a per-service lock in BRIDGE_SERVICES_HOME, so that
# concurrent up, down and restart runs for one server take turns.
with_service_lock() {
  local name="$1"
  shift
  (
    flock -w 600 9 || die "$name: timed out after 600s waiting for $(lock_file "$name")"
    "$@"
  ) 9>"$(lock_file "$name")"
}

lock_file() {
  printf '%s/run/%s.lock' "$BRIDGE_SERVICES_HOME" "$1"
}

# Install NAME if needed, without starting it.
service_install() {
  with_service_lock "$1" "${1}_install"
}

# Start NAME unless it already responds. Installs first if needed.
service_up() {
  with_service_lock "$1" service_up_locked "$1"
}

service_up_locked() {
  local name="$1" port_var
  port_var="${name^^}_PORT"
  if running_pid "$name" >/dev/null && is_ready "$name"; then
    log "$name: already running on 127.0.0.1:${!port_var}"
    return 0
  fi
  if running_pid "$name" >/dev/null; then
    log "$name: process is running but does not respond yet; waiting"
    wait_until_ready "$name" && return 0
    log "$name: restarting it"
    "${name}_stop"
  fi
  "${name}_install"
  require_free_port "$name" "${!port_var}"
  log "$name: starting"
  "${name}_start"
  wait_until_ready "$name"
}

service_down() {
  with_service_lock "$1" "${1}_stop"
}

# Stop and start NAME under one lock, so no other run starts it in between.
service_restart() {
  with_service_lock "$1" service_restart_locked "$1"
}

service_restart_locked() {
  "${1}_stop"
  service_up_locked "$1"
}
