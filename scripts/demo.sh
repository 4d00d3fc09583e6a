#!/usr/bin/env bash
# The demo: the whole flow on a local sandbox. It installs what is missing, starts a MariaDB
# primary with two replicas behind HAProxy, applies the initial schema, shows the plan for the
# pending migrations, then runs `migrate apply` under a small write load: a blocking INT->BIGINT
# change runs replica-first with a measured switchover, the hand-off runs a stand-in deploy
# command, and the contract migration runs after it. Then it tears everything down.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh

DIR="${MIGRATE_SANDBOX_DIR:-$PWD/.sandbox/demo}"
M="node bin/migrate"
# The analysis's throwaway shadow server: the demo's own, stopped at the end, so the demo neither
# uses nor leaves behind a `migrate shadow` server of the user's.
if [ -z "${MIGRATE_SHADOW_DIR:-}" ]; then
  DEMO_SHADOW="$(mktemp -d /dev/shm/migrate-demo-shadow-XXXXXX 2>/dev/null || mktemp -d)"
  export MIGRATE_SHADOW_DIR="$DEMO_SHADOW"
fi
LOAD_PID=
cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  $M sandbox down --dir "$DIR" >/dev/null 2>&1 || true
  if [ -n "${DEMO_SHADOW:-}" ]; then
    $M shadow down --dialect mysql --dir "$DEMO_SHADOW" >/dev/null 2>&1 || true
    rm -rf "$DEMO_SHADOW"
  fi
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

$M sandbox down --dir "$DIR" >/dev/null 2>&1 || true
step "1. Start a sandbox: MariaDB primary + 2 replicas (GTID, ROW binlog) behind HAProxy"
$M sandbox up --topology primary-replica --replicas 2 --proxy --dir "$DIR"
CFG="$DIR/migrate.config.json"
rm -rf "$DIR/.migrate"

step "2. The initial schema, applied through the writer endpoint, and some data"
$M --config "$CFG" up --to 0004_create_order_events
node --import tsx scripts/demo-load.ts seed "$DIR"
$M --config "$CFG" status

step "3. The plan for what is pending (what CI shows on the pull request)"
$M --config "$CFG" plan || true

step "4. Every statement apply would send, per node (dry run)"
$M --config "$CFG" apply --dry-run | sed -n '1,40p'

step "5. Apply under a write load: replica-first ALTER, switchover, hand-off to the deploy, contract phase"
rm -f "$DIR/stop-load"
node --import tsx scripts/demo-load.ts run "$DIR" > "$DIR/load.out" 2>&1 &
LOAD_PID=$!
sleep 1
$M --config "$CFG" apply --deploy-command 'echo "   [deploy] rolling out the new code: schema $MIGRATE_SCHEMA_VERSION, writer $MIGRATE_NEW_PRIMARY"; sleep 1'
sleep 1
touch "$DIR/stop-load"
wait "$LOAD_PID"
LOAD_PID=
cat "$DIR/load.out"

step "6. After: the new writer, every node replicating, one schema everywhere"
$M --config "$CFG" topology
node --import tsx scripts/demo-verify.ts "$DIR"
$M --config "$CFG" status

step "7. Tear down"
$M sandbox down --dir "$DIR"
if [ -n "${DEMO_SHADOW:-}" ]; then $M shadow down --dialect mysql --dir "$DEMO_SHADOW"; rm -rf "$DEMO_SHADOW"; fi
trap - EXIT
echo "demo finished"
