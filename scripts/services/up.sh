#!/usr/bin/env bash
# Install what is missing and start the named local servers (default: all),
# then wait until each responds to a real protocol request. Idempotent: a server
# that already responds is left alone.
# Usage: scripts/services/up.sh [rabbitmq|kafka|opensearch|ferretdb|redis ...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mapfile -t services < <(resolve_services "$@")
failed=()
for name in "${services[@]}"; do
  service_up "$name" || failed+=("$name")
done
if [ "${#failed[@]}" -gt 0 ]; then
  die "failed to start: ${failed[*]}"
fi
log "up: ${services[*]}"
