#!/usr/bin/env bash
# Stop the named local servers (default: all) and check that none of their
# processes remain.
# Usage: scripts/services/down.sh [rabbitmq|kafka|opensearch|ferretdb|redis ...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mapfile -t services < <(resolve_services "$@")
for name in "${services[@]}"; do
  service_down "$name"
done

leftover=()
for name in "${services[@]}"; do
  if running_pid "$name" >/dev/null; then
    leftover+=("$name")
  fi
done
if [ "${#leftover[@]}" -gt 0 ]; then
  die "still running after stop: ${leftover[*]}"
fi
log "down: ${services[*]}"
