#!/usr/bin/env bash
# Run the client checks against the running local servers: kafkajs against
# Kafka, HTTP requests against OpenSearch, and the MongoDB driver feature
# survey against FerretDB. Installs kafkajs@2.2.4 and mongodb@6 with npm into
# a temporary folder, never into the repository.
# Usage: scripts/services/checks/run.sh [kafka] [opensearch] [ferretdb]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
checks=("$@")
[ "${#checks[@]}" -gt 0 ] || checks=(kafka opensearch ferretdb)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error kafkajs@2.2.4 mongodb@6 >/dev/null)
export NODE_PATH="$work/node_modules"

status=0
for check in "${checks[@]}"; do
  echo "== $check"
  case "$check" in
    kafka) node "$here/kafka-check.cjs" || status=1 ;;
    opensearch) node "$here/opensearch-check.mjs" || status=1 ;;
    ferretdb) node "$here/ferretdb-features.cjs" || status=1 ;;
    *) echo "unknown check '$check'; expected kafka, opensearch or ferretdb" >&2; exit 2 ;;
  esac
done
exit "$status"
