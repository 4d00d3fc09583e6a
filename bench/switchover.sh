#!/usr/bin/env bash
# bench/switchover: a blocking column-type change under a write load, done four ways (direct ALTER,
# pt-online-schema-change, migrate replica-first, and the same replica-first ALTERs with MHA 0.58's
# online switch in place of migrate's switchover), repeated, with a table of write gaps, latencies,
# throughput, replica lag, failed and lost writes; each way also once with the load connected as root.
# Installs what it needs first (HAProxy, MariaDB, npm packages, percona-toolkit, mha4mysql-manager
# and -node, socat); needs root or sudo for apt-get. Options go to bench/switchover/main.ts (see its
# header), e.g.
#   bash bench/switchover.sh --reps 5 --doc docs/benchmarks-switchover.md
#   bash bench/switchover.sh --install-only
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
need=()
command -v pt-online-schema-change >/dev/null 2>&1 || need+=(percona-toolkit)
command -v masterha_master_switch >/dev/null 2>&1 || need+=(mha4mysql-manager mha4mysql-node)
command -v socat >/dev/null 2>&1 || need+=(socat)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing Debian packages: ${need[*]}"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
if [ "${1:-}" = "--install-only" ]; then exit 0; fi
exec node --import tsx bench/switchover/main.ts "$@"
