#!/usr/bin/env bash
# Stop and start one local server, then wait until it responds again.
# Fault tests use this to restart RabbitMQ or Kafka in the middle of a run.
# Usage: scripts/services/restart.sh NAME
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ "$#" -eq 1 ] || die "usage: restart.sh NAME (one of: ${ALL_SERVICES[*]})"
name="$(resolve_services "$1")"
started=$SECONDS
service_restart "$name"
log "$name: restarted in $((SECONDS - started))s"
