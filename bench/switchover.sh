#!/usr/bin/env bash
# bench/switchover: a blocking column-type change on a 1,000,000-row table under a write load,
# done three ways (direct ALTER, pt-online-schema-change, migrate replica-first), repeated, with
# a table of write gaps, latencies, throughput, replica lag, failed and lost writes.
# Installs what it needs first (HAProxy, MariaDB, npm packages, percona-toolkit); needs root or sudo
# for apt-get. Options go to bench/switchover/main.ts (see its header), e.g.
#   bash bench/switchover.sh --reps 3 --doc docs/benchmarks-switchover.md
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if ! command -v pt-online-schema-change >/dev/null 2>&1; then
  echo "installing Debian packages: percona-toolkit"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq percona-toolkit >/dev/null
fi
exec node --import tsx bench/switchover/main.ts "$@"
