#!/usr/bin/env bash
# Blue/green switch of an HAProxy backend through its runtime API (no reload, no config edit):
# put the new server ready, check that it answers, then drain the old one and put it in
# maintenance once its sessions are gone. The old server keeps serving until the new one has
# answered, so a new server that does not come up leaves traffic where it was.
#
# As a hand-off command: --deploy-command 'examples/deploy/haproxy-swap.sh green'
#                        --rollback-command 'examples/deploy/haproxy-swap.sh blue'
# Environment:
#   HAPROXY_SOCKET   the admin socket (`stats socket ... level admin`), required
#   HAPROXY_BACKEND  the backend holding the blue and green servers (default: app)
#   READY_PATH       what the new server must answer 200 on before it gets traffic (default: /ready)
#   READY_TIMEOUT    seconds to wait for that (default: 10)
#   DRAIN_TIMEOUT    seconds to wait for the old server's sessions to end before maintenance (default: 10)
#   MIGRATE_PHASE    set by `migrate apply` (deploy, rollback, ...): shown in the output
set -euo pipefail

usage() { echo "usage: HAPROXY_SOCKET=<admin socket> [HAPROXY_BACKEND=app] $0 <server to make live>" >&2; exit 2; }
[ $# -eq 1 ] || usage
NEW="$1"
SOCK="${HAPROXY_SOCKET:-}"
BACKEND="${HAPROXY_BACKEND:-app}"
READY_PATH="${READY_PATH:-/ready}"
READY_TIMEOUT="${READY_TIMEOUT:-10}"
DRAIN_TIMEOUT="${DRAIN_TIMEOUT:-10}"
TAG="[haproxy-swap${MIGRATE_PHASE:+ $MIGRATE_PHASE}]"
say() { echo "$TAG $*"; }
fail() { echo "$TAG error: $*" >&2; exit 1; }
[ -n "$SOCK" ] || usage
[ -S "$SOCK" ] || fail "no HAProxy admin socket at $SOCK (HAPROXY_SOCKET)"
command -v socat >/dev/null || fail "socat is needed to talk to the runtime API (apt-get install socat)"
command -v curl >/dev/null || fail "curl is needed for the readiness check (apt-get install curl)"

api() { echo "$1" | socat -t 5 stdio "UNIX-CONNECT:$SOCK"; }
# One line per server of the backend: name address:port op_state (2 = running) admin_state.
servers() {
  api "show servers state $BACKEND" | awk '
    /^#/ { for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
    /^[0-9]/ && NF > 5 { print $col["srv_name"], $col["srv_addr"] ":" $col["srv_port"], $col["srv_op_state"], $col["srv_admin_state"] }'
}
# Current sessions of one server, from `show stat` (CSV: pxname,svname,qcur,qmax,scur,...).
sessions() { api "show stat" | awk -F, -v b="$BACKEND" -v s="$1" '$1 == b && $2 == s { print $5 }'; }
set_state() {
  local out
  out="$(api "set server $BACKEND/$1 state $2")"
  [ -z "$(echo "$out" | tr -d '[:space:]')" ] || fail "HAProxy refused 'set server $BACKEND/$1 state $2': $out"
}

LIST="$(servers)"
[ -n "$LIST" ] || fail "HAProxy has no backend '$BACKEND' (HAPROXY_BACKEND) or it holds no server"
ADDR="$(echo "$LIST" | awk -v n="$NEW" '$1 == n { print $2 }')"
[ -n "$ADDR" ] || fail "backend '$BACKEND' has no server '$NEW'; it has: $(echo "$LIST" | awk '{ print $1 }' | tr '\n' ' ')"
# The servers taking traffic now, other than the new one: running (op_state 2) and no drain bit
# (0x08, 0x10) in the admin state. Not admin_state == 0: a server declared `disabled` and enabled
# at run time keeps its config-maintenance bit while it runs.
OLD="$(echo "$LIST" | awk -v n="$NEW" '$1 != n && $3 == 2 && int($4 / 8) % 4 == 0 { print $1 }' | tr '\n' ' ')"

say "checking $NEW ($ADDR) answers $READY_PATH before it gets traffic"
deadline=$((SECONDS + READY_TIMEOUT))
until curl -fs -o /dev/null --max-time 2 "http://$ADDR$READY_PATH"; do
  [ $SECONDS -lt $deadline ] || fail "$NEW ($ADDR) did not answer 200 on $READY_PATH within ${READY_TIMEOUT}s; traffic stays on: ${OLD:-nothing}"
  sleep 0.2
done

set_state "$NEW" ready
say "$NEW is ready in $BACKEND"
for old in $OLD; do
  set_state "$old" drain
  say "$old drains: no new requests"
done
for old in $OLD; do
  deadline=$((SECONDS + DRAIN_TIMEOUT))
  while [ "$(sessions "$old")" != 0 ]; do
    [ $SECONDS -lt $deadline ] || { say "warning: $old still had $(sessions "$old") session(s) after ${DRAIN_TIMEOUT}s; putting it in maintenance anyway"; break; }
    sleep 0.1
  done
  set_state "$old" maint
  say "$old is in maintenance"
done
say "$BACKEND now serves from $NEW"
