#!/usr/bin/env bash
# The demo: a whole release on a local sandbox, under HTTP load. It installs what is missing,
# starts a MariaDB primary with two replicas behind HAProxy and the demo app (examples/app/) as
# two real HTTP servers behind their own HAProxy: blue, the old release, live; green, the new
# release, idle. autocannon sends requests through the app's balancer the whole time.
# The app writes through the writer endpoint and reads through the replicas' read pool.
# Pass 1 (release 2, migrations up to 0006): `migrate apply` runs the expand migration (the INT ->
# BIGINT widening green needs, blocking, so replica-first, each replica drained from the read pool
# during its ALTER, then a measured switchover), hands off
# to examples/deploy/haproxy-swap.sh (blue -> green), verifies the new release over HTTP, then runs
# the contract (0006). Pass 2 (release 3, migrations 0007 and 0008): the expand adds a column, a
# broken build goes on the idle slot, its health check fails, so the code is rolled back to green
# and the contract (0008) does not run.
# The figures (failed requests, slowest request, write block) are what this run measured.
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
HTTP_PID=
cleanup() {
  [ -n "$LOAD_PID" ] && kill "$LOAD_PID" 2>/dev/null || true
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null || true
  node --import tsx scripts/demo-app.ts stop "$DIR" >/dev/null 2>&1 || true
  $M sandbox down --dir "$DIR" >/dev/null 2>&1 || true
  if [ -n "${DEMO_SHADOW:-}" ]; then
    $M shadow down --dialect mysql --dir "$DEMO_SHADOW" >/dev/null 2>&1 || true
    rm -rf "$DEMO_SHADOW"
  fi
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
# HTTP load through the app's balancer until stop-http appears; its report goes to $1.
http_load() {
  rm -f "$DIR/stop-http"
  node --import tsx scripts/demo-http-load.ts run "http://127.0.0.1:$APP_PORT" "$DIR/stop-http" > "$1" 2>&1 &
  HTTP_PID=$!
}
http_load_end() {
  touch "$DIR/stop-http"
  local rc=0
  wait "$HTTP_PID" || rc=$?
  HTTP_PID=
  cat "$1"
  return $rc
}

node --import tsx scripts/demo-app.ts stop "$DIR" >/dev/null 2>&1 || true
$M sandbox down --dir "$DIR" >/dev/null 2>&1 || true
step "1. Start a sandbox: MariaDB primary + 2 replicas (GTID, ROW binlog) behind HAProxy"
$M sandbox up --topology primary-replica --replicas 2 --proxy --dir "$DIR"
CFG="$DIR/migrate.config.json"
rm -rf "$DIR/.migrate" "$DIR/release-2" "$DIR/app"
# Release 2 ships the migrations up to 0006; release 3 adds 0007 and 0008 (the repository's set).
# Its config sits beside the sandbox's, so both share one state directory (roles, journal).
mkdir -p "$DIR/release-2"
cp migrations/000[1-6]_* "$DIR/release-2/"
CFG2="$DIR/migrate.release-2.json"
node -e 'const [f, o] = process.argv.slice(1); const c = JSON.parse(require("fs").readFileSync(f, "utf8")); c.migrations.directory = "release-2"; require("fs").writeFileSync(o, JSON.stringify(c, null, 2));' "$CFG" "$CFG2"

step "2. The initial schema, applied through the writer endpoint, some data, and the app (blue live, green idle)"
$M --config "$CFG" up --to 0004_create_order_events
node --import tsx scripts/demo-load.ts seed "$DIR"
node --import tsx scripts/demo-app.ts start "$DIR"
eval "$(node --import tsx scripts/demo-app.ts env "$DIR")"
echo "green's health check on the old schema: $(curl -s "http://127.0.0.1:$GREEN_PORT/health")"
$M --config "$CFG2" status

step "3. The plan for release 2 (what CI shows on the pull request)"
$M --config "$CFG2" plan || true

step "4. Every step apply would take, per node, and the hand-off (dry run)"
# The hand-off: deploy = the balancer swap, verify = the app's /health through the balancer (what
# users reach), rollback = the swap back. A short healthy window keeps the demo fast.
HANDOFF_VERIFY=(--verify-url "http://127.0.0.1:$APP_PORT/health" --verify-retries 4 --verify-window 2s)
HANDOFF_1=(--deploy-command 'examples/deploy/haproxy-swap.sh green' "${HANDOFF_VERIFY[@]}" --rollback-command 'examples/deploy/haproxy-swap.sh blue')
$M --config "$CFG2" apply --dry-run "${HANDOFF_1[@]}" | sed -n '1,50p'

step "5. Pass 1, release 2 under HTTP and write load: replica-first ALTER, switchover, blue -> green, verify, contract"
rm -f "$DIR/stop-load"
node --import tsx scripts/demo-load.ts run "$DIR" > "$DIR/load.out" 2>&1 &
LOAD_PID=$!
http_load "$DIR/http-1.out"
sleep 1
$M --config "$CFG2" apply "${HANDOFF_1[@]}" | tee "$DIR/apply-1.out"
sleep 1
touch "$DIR/stop-load"
wait "$LOAD_PID"
LOAD_PID=
cat "$DIR/load.out"
http_load_end "$DIR/http-1.out"
curl -fsS "http://127.0.0.1:$APP_PORT/health"; echo

step "6. After pass 1: the new writer, every node replicating, one schema everywhere"
$M --config "$CFG" topology
node --import tsx scripts/demo-verify.ts "$DIR"

step "7. Pass 2, release 3 under HTTP load: expand (a new column), a broken build on the idle blue slot: verify fails, the code is rolled back, no contract"
node --import tsx scripts/demo-app.ts put "$DIR" blue broken
http_load "$DIR/http-2.out"
sleep 1
set +e
$M --config "$CFG" apply \
  --deploy-command 'examples/deploy/haproxy-swap.sh blue' "${HANDOFF_VERIFY[@]}" --rollback-command 'examples/deploy/haproxy-swap.sh green' \
  2>&1 | tee "$DIR/apply-2.out"
APPLY2=${PIPESTATUS[0]}
set -e
sleep 1
http_load_end "$DIR/http-2.out"
[ "$APPLY2" -ne 0 ] || { echo "demo: the broken release passed verify: apply should have failed" >&2; exit 1; }
curl -fsS "http://127.0.0.1:$APP_PORT/health"; echo
$M --config "$CFG" status
$M --config "$CFG" status --format json | node -e 'const s = JSON.parse(require("fs").readFileSync(0, "utf8")); const m = s.migrations.find((x) => x.id.startsWith("0008")); if (!m || m.state !== "pending") { console.error("demo: contract 0008 ran after a failed verify"); process.exit(1); }'

step "Summary: measured by this run"
WRITE_BLOCK="$(grep -o 'write block [0-9.]* ms' "$DIR/apply-1.out" | head -1 || true)"
[ -n "$WRITE_BLOCK" ] || { echo "demo: apply printed no switchover write block" >&2; exit 1; }
echo "pass 1 (release 2, blue -> green): $(tail -1 "$DIR/http-1.out"); switchover $WRITE_BLOCK"
echo "pass 2 (release 3, broken build):  $(tail -1 "$DIR/http-2.out"); apply exit $APPLY2, code back on green, 0008 not applied"

step "8. Tear down"
node --import tsx scripts/demo-app.ts stop "$DIR"
$M sandbox down --dir "$DIR"
if [ -n "${DEMO_SHADOW:-}" ]; then $M shadow down --dialect mysql --dir "$DEMO_SHADOW"; rm -rf "$DEMO_SHADOW"; fi
trap - EXIT

step "9. The same release on PostgreSQL: in place on the primary, the replica's replay waited for, the hand-off, the contract; then a failed verify"
# Its own throwaway shadow server unless the user named one (ours above is stopped).
( if [ -n "${DEMO_SHADOW:-}" ]; then unset MIGRATE_SHADOW_DIR; fi; bash scripts/demo-postgres.sh )
echo "demo finished"
