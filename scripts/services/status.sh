#!/usr/bin/env bash
# Print one JSON object on stdout with, for each local server:
#   {"up": bool, "version": string|null, "address": "127.0.0.1:port", "pid": number|null}
# "up" means the server responded to a real protocol request just now; "version"
# is what the server reported (FerretDB: its own version, not the MongoDB
# version it emulates; Kafka: the version it logged at startup).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

entries=()
for name in "${ALL_SERVICES[@]}"; do
  port_var="${name^^}_PORT"
  pid="$(running_pid "$name" || true)"
  result="$(probe "$name" || true)"
  [ -n "$result" ] || result='{}'
  version=""
  if [ "$name" = kafka ] && printf '%s' "$result" | grep -q '"ok":true'; then
    version="$(kafka_version)"
  fi
  entries+=("$name" "${!port_var}" "${pid:-}" "$result" "$version")
done

node -e '
const args = process.argv.slice(1);
const out = {};
for (let i = 0; i < args.length; i += 5) {
  const [name, port, pid, probeJson, loggedVersion] = args.slice(i, i + 5);
  let probe = {};
  try { probe = JSON.parse(probeJson); } catch { probe = {}; }
  out[name] = {
    up: probe.ok === true,
    version: probe.ok === true ? (probe.version ?? (loggedVersion || null)) : null,
    address: `127.0.0.1:${port}`,
    pid: pid ? Number(pid) : null,
  };
}
console.log(JSON.stringify(out, null, 2));
' "${entries[@]}"
