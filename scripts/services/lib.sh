# Shared helpers for the local server scripts. Source this file; do not run it.
#
# Each server has a file NAME.sh beside this one that defines NAME_install,
# NAME_start, NAME_stop, NAME_probe and NAME_version, plus NAME_PORT.
# Everything a server downloads, builds or writes (data, logs, pid files)
# lives under BRIDGE_SERVICES_HOME, outside the repository.

SERVICES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BRIDGE_SERVICES_HOME="${BRIDGE_SERVICES_HOME:-$HOME/.cache/bridge-services}"
ALL_SERVICES=(rabbitmq kafka opensearch ferretdb redis)
# Seconds that wait_until_ready gives a server to answer its probe.
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
  setsid "$@" </dev/null >>"$log" 2>&1 &
  printf '%s\n' "$!" >"$(pid_file "$name")"
}

# Send TERM to the process group of NAME, wait up to TIMEOUT seconds, then KILL.
stop_process_group() {
  local name="$1" timeout="${2:-30}" pid waited=0
  if ! pid="$(running_pid "$name")"; then
    rm -f "$(pid_file "$name")"
    return 0
  fi
  log "$name: stopping process group $pid"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  while pgrep -g "$pid" >/dev/null 2>&1 && [ "$waited" -lt "$timeout" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if pgrep -g "$pid" >/dev/null 2>&1; then
    log "$name: still running after ${timeout}s, sending KILL to process group $pid"
    kill -KILL -- "-$pid" 2>/dev/null || true
    sleep 1
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

# Poll NAME's probe until it answers or START_TIMEOUT passes. On failure print
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
  local name="$1" port="$2"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "$name: port $port on 127.0.0.1 is taken by a process that these scripts did not start; stop it first"
  fi
}

# Install Debian packages that are missing. Stops maintainer scripts from
# starting the services (there is no init system) with a temporary policy-rc.d.
APT_UPDATED=no
apt_install() {
  local missing=() package
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
  done
  [ "${#missing[@]}" -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "installing ${missing[*]} needs root (apt-get)"

  local policy=/usr/sbin/policy-rc.d created_policy=no
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# Written by scripts/services: keep apt from starting services.\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created_policy=yes
  fi
  log "apt-get install ${missing[*]}"
  if [ "$APT_UPDATED" = no ]; then
    apt-get update -q >"$BRIDGE_SERVICES_HOME/logs/apt.log" 2>&1 || { tail -n 20 "$BRIDGE_SERVICES_HOME/logs/apt.log" >&2; die "apt-get update failed"; }
    APT_UPDATED=yes
  fi
  local status=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >>"$BRIDGE_SERVICES_HOME/logs/apt.log" 2>&1 || status=$?
  [ "$created_policy" = yes ] && rm -f "$policy"
  if [ "$status" -ne 0 ]; then
    tail -n 20 "$BRIDGE_SERVICES_HOME/logs/apt.log" >&2
    die "apt-get install ${missing[*]} failed (exit $status)"
  fi
}

# Resolve a Maven project's runtime dependencies into DIR/lib. POM_FILE must exist.
maven_copy_dependencies() {
  local dir="$1"
  command -v mvn >/dev/null || die "mvn not found; install Maven 3.8 or newer"
  (cd "$dir" && mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime) \
    >>"$BRIDGE_SERVICES_HOME/logs/maven.log" 2>&1 \
    || { tail -n 30 "$BRIDGE_SERVICES_HOME/logs/maven.log" >&2; die "Maven failed to resolve the dependencies in $dir/pom.xml"; }
}

# Start NAME unless it already answers. Installs first if needed.
service_up() {
  local name="$1" port_var
  port_var="${name^^}_PORT"
  if running_pid "$name" >/dev/null && is_ready "$name"; then
    log "$name: already running on 127.0.0.1:${!port_var}"
    return 0
  fi
  if running_pid "$name" >/dev/null; then
    log "$name: process is running but does not answer yet; waiting"
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
  "${1}_stop"
}
