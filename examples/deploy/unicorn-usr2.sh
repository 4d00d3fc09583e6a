#!/usr/bin/env bash
# Unicorn-style zero-downtime restart: USR2 makes the running master re-exec with the code now on
# disk; the new master boots its workers and shares the listening socket, so both serve for a
# moment. The old master gets QUIT (finish what it serves, exit) only once the new one is up and
# HEALTH_URL answers 200 several times in a row. If the new master does not come up or is not
# healthy, it gets QUIT instead and the old master keeps serving (unicorn renames its pid file back).
# examples/deploy/unicorn-standin.mjs is a tiny Node master that implements USR2/QUIT this way.
#
# As hand-off commands: --deploy-command 'examples/deploy/unicorn-usr2.sh /run/unicorn.pid'
# (after the new code is on disk); the rollback puts the old code back on disk and runs it again.
# Environment:
#   HEALTH_URL  checked after the new master is up, required
#   HEALTH_OK   consecutive 200 answers needed (default: 5)
#   TIMEOUT     seconds for the new master to write its pid file, and again for the health check (default: 30)
#   MIGRATE_PHASE  set by `migrate apply`: shown in the output
set -euo pipefail

usage() { echo "usage: HEALTH_URL=<url> $0 <master pid file>" >&2; exit 2; }
TAG="[unicorn-usr2${MIGRATE_PHASE:+ $MIGRATE_PHASE}]"
say() { echo "$TAG $*"; }
fail() { echo "$TAG error: $*" >&2; exit 1; }
[ $# -eq 1 ] && [ -n "${HEALTH_URL:-}" ] || usage
PIDFILE="$1"
HEALTH_OK="${HEALTH_OK:-5}"
TIMEOUT="${TIMEOUT:-30}"
command -v curl >/dev/null || fail "curl is needed for the health check (apt-get install curl)"
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }

OLD="$(cat "$PIDFILE" 2>/dev/null || true)"
alive "$OLD" || fail "no running master in $PIDFILE"
[ ! -e "$PIDFILE.oldbin" ] || fail "$PIDFILE.oldbin exists: a restart is already under way (or one was left half done)"
kill -USR2 "$OLD"
say "USR2 sent to master $OLD; waiting for the new master"

NEW=
deadline=$((SECONDS + TIMEOUT))
# The master answers USR2 by renaming its pid file to .oldbin; until then there is nothing to read.
until [ -e "$PIDFILE.oldbin" ]; do
  [ $SECONDS -lt $deadline ] || fail "master $OLD did not answer USR2 (no $PIDFILE.oldbin within ${TIMEOUT}s)"
  sleep 0.05
done
while :; do
  cur="$(cat "$PIDFILE" 2>/dev/null || true)"
  if [ -n "$cur" ] && [ "$cur" != "$OLD" ] && alive "$cur"; then NEW="$cur"; break; fi
  # The old master took its pid file back: the new master died while booting.
  [ "$cur" != "$OLD" ] || [ -e "$PIDFILE.oldbin" ] || fail "the new master died while booting; master $OLD keeps serving"
  [ $SECONDS -lt $deadline ] || fail "no new master wrote $PIDFILE within ${TIMEOUT}s; master $OLD keeps serving (check for a stuck new master)"
  sleep 0.1
done
say "new master $NEW is up; checking $HEALTH_URL"

ok=0
deadline=$((SECONDS + TIMEOUT))
while [ "$ok" -lt "$HEALTH_OK" ]; do
  alive "$NEW" || fail "the new master $NEW died during the health check; master $OLD keeps serving"
  if curl -fs -o /dev/null --max-time 2 "$HEALTH_URL"; then ok=$((ok + 1)); else ok=0; fi
  if [ $SECONDS -ge $deadline ]; then
    kill -QUIT "$NEW" 2>/dev/null || true
    fail "$HEALTH_URL did not answer 200 $HEALTH_OK times in a row within ${TIMEOUT}s; sent QUIT to the new master $NEW, master $OLD keeps serving"
  fi
  sleep 0.1
done

kill -QUIT "$OLD"
deadline=$((SECONDS + TIMEOUT))
while alive "$OLD"; do
  [ $SECONDS -lt $deadline ] || fail "the old master $OLD did not exit within ${TIMEOUT}s of QUIT; the new master $NEW serves"
  sleep 0.1
done
say "old master $OLD has quit; master $NEW serves"
