#!/usr/bin/env bash
# Stop the named local servers (default: all) and check that none of their
# processes remain.
# Usage: scripts/services/down.sh [rabbitmq|kafka|opensearch|ferretdb|redis ...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mapfile -t services < <(resolve_services "$@")
leftover=()
for name in "${services[@]}"; do
  service_down "$name" || leftover+=("$name")
done
if [ "${#leftover[@]}" -gt 0 ]; then
  die "processes still running after stop: ${leftover[*]}; see the messages above"
fi
log "down: ${services[*]}"
