#!/usr/bin/env bash
# Install the named local servers (default: all) without starting them:
# Debian packages, Maven class paths, the FerretDB build and config files.
# up.sh does the same on demand; run this first to fetch everything ahead of time.
# Usage: scripts/services/install.sh [rabbitmq|kafka|opensearch|ferretdb|redis ...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

mapfile -t services < <(resolve_services "$@")
for name in "${services[@]}"; do
  started=$SECONDS
  service_install "$name"
  log "$name: installed in $((SECONDS - started))s"
done
