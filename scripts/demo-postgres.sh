#!/usr/bin/env bash
# The demo's PostgreSQL half: the same release on a PostgreSQL primary with a streaming replica.
# `migrate apply` runs the expand migration in place on the primary (lock-safe: lock_timeout and
# retries, as `migrate up`), waits until the replica has replayed it, hands off (deploy, then a
# verify that reads the replica as the new release would), and runs the contract migration. A
# second release fails its verify: the code is rolled back, the old release verified again, the
# contract is not run and apply exits 1 with the next command. Called by scripts/demo.sh; runs alone too.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || bash scripts/install-deps.sh

DIR="${MIGRATE_PG_SANDBOX_DIR:-$PWD/.sandbox/demo-pg}"
M="node bin/migrate"
if [ -z "${MIGRATE_SHADOW_DIR:-}" ]; then
  PG_SHADOW="$(mktemp -d /dev/shm/migrate-demo-pg-shadow-XXXXXX 2>/dev/null || mktemp -d)"
  chmod 755 "$PG_SHADOW" # the postgres account runs the shadow server in it
  export MIGRATE_SHADOW_DIR="$PG_SHADOW"
fi
cleanup() {
  $M sandbox down --dir "$DIR" >/dev/null 2>&1 || true
  if [ -n "${PG_SHADOW:-}" ]; then
    $M shadow down --dialect postgres --dir "$PG_SHADOW" >/dev/null 2>&1 || true
    rm -rf "$PG_SHADOW"
  fi
}
trap cleanup EXIT
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

$M sandbox down --dir "$DIR" >/dev/null 2>&1 || true
step "P1. Start a PostgreSQL sandbox: primary + 1 streaming replica"
$M sandbox up --topology postgres --replicas 1 --dir "$DIR"
CFG="$DIR/migrate.config.json"
MIG="$DIR/migrations"
rm -rf "$DIR/.migrate" "$MIG" && mkdir -p "$MIG"
# The demo's own migrations: the sandbox's config points at them.
node -e 'const f=process.argv[1]; const c=JSON.parse(require("fs").readFileSync(f,"utf8")); c.migrations={directory:process.argv[2]}; require("fs").writeFileSync(f, JSON.stringify(c,null,2))' "$CFG" "$MIG"
w() { printf '%s\n' "$2" > "$MIG/$1"; }
w 0001_create_items.up.sql "CREATE TABLE items (id bigserial PRIMARY KEY, name text NOT NULL, legacy_code text);
INSERT INTO items (name, legacy_code) SELECT 'item ' || g, 'L' || g FROM generate_series(1, 5000) g;"
w 0001_create_items.down.sql 'DROP TABLE items;'
w 0002_add_items_sku.up.sql 'ALTER TABLE items ADD COLUMN sku text;'
w 0002_add_items_sku.down.sql 'ALTER TABLE items DROP COLUMN sku;'
w 0003_drop_items_legacy_code.up.sql '-- migrate:phase post-deploy
ALTER TABLE items DROP COLUMN legacy_code;'
w 0003_drop_items_legacy_code.down.sql 'ALTER TABLE items ADD COLUMN legacy_code text;'
$M --config "$CFG" up --to 0001_create_items

REPLICA_PORT=$(node -e 'const c=require(process.argv[1]); console.log(c.clusters[0].nodes.find((n)=>n.role==="replica").port)' "$CFG")
export PGPASSWORD; PGPASSWORD="$(cat "$DIR/secrets/app.password")"
# What release 2 needs, read where release 2 reads: the replica must have items.sku.
VERIFY="psql -X -q -h 127.0.0.1 -p $REPLICA_PORT -U app -d app -c 'SELECT sku FROM items LIMIT 1' >/dev/null && echo '   [verify] release 2 reads items.sku on the replica: ok'"

step "P2. Apply: 0002 (expand) in place on the primary, replica replay waited for; deploy + verify; 0003 (contract)"
$M --config "$CFG" apply \
  --deploy-command 'echo "   [deploy] release 2 (schema $MIGRATE_SCHEMA_VERSION, phase $MIGRATE_PHASE)"' \
  --verify-command "$VERIFY" \
  --rollback-command 'echo "   [rollback] back to release 1"'

step "P3. A second release whose health check fails"
w 0004_add_items_price.up.sql 'ALTER TABLE items ADD COLUMN price numeric(10,2);'
w 0004_add_items_price.down.sql 'ALTER TABLE items DROP COLUMN price;'
w 0005_drop_items_name.up.sql '-- migrate:phase post-deploy
ALTER TABLE items DROP COLUMN name;'
w 0005_drop_items_name.down.sql "ALTER TABLE items ADD COLUMN name text NOT NULL DEFAULT '';"
# Release 3 answers its health check with an error; release 2 (after the rollback) answers ok.
set +e
$M --config "$CFG" apply \
  --deploy-command 'echo "   [deploy] release 3"' \
  --verify-command 'if [ "$MIGRATE_PHASE" = verify-rollback ]; then echo "   [verify] release 2 healthy again"; else echo "   [verify] release 3 health check: HTTP 500"; exit 1; fi' \
  --rollback-command 'echo "   [rollback] back to release 2"'
rc=$?
set -e
echo "   apply exit code: $rc (1 expected: verify failed, code rolled back, contract held)"
[ "$rc" = 1 ] || { echo "unexpected exit code $rc" >&2; exit 1; }

step "P4. After: the expand (0004) is in place, the contract (0005) waits; items.name is still there"
$M --config "$CFG" status
psql -X -h 127.0.0.1 -p "$REPLICA_PORT" -U app -d app -Atc "SELECT 'replica columns: ' || string_agg(column_name, ', ' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'items'"
