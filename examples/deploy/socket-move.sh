#!/usr/bin/env bash
# Atomic socket move: the new release listens on a fresh unix socket beside the live one, is
# smoke-tested there over HTTP, and only then is its socket renamed over the live path (one
# rename(2)): new connections reach the new release from that instant, connections already open
# finish on the old one, which is stopped after GRACE seconds. A release that does not come up
# or fails the smoke test is stopped and its socket removed; the live path is never touched.
#
# Start every release through this script, the first too: a server that removes its socket file
# on exit removes the path it bound, and that must never be the live path.
#
# As hand-off commands: --deploy-command 'examples/deploy/socket-move.sh /run/app.sock node /srv/app/v2/server.js'
#                       --rollback-command 'examples/deploy/socket-move.sh /run/app.sock node /srv/app/v1/server.js'
# The command must listen on the unix socket named by $SOCKET. Files beside the live socket:
# <socket>.pid (the serving release's pid) and <socket>.log (the releases' output).
# Environment:
#   SMOKE_PATH     the HTTP path that must answer 200 on the new socket (default: /health)
#   START_TIMEOUT  seconds for the new release to create its socket and pass (default: 10)
#   GRACE          seconds the old release keeps running for its open connections (default: 2)
#   MIGRATE_PHASE  set by `migrate apply`: shown in the output
set -euo pipefail

usage() { echo "usage: $0 <live socket path> <command to start the release...>" >&2; exit 2; }
TAG="[socket-move${MIGRATE_PHASE:+ $MIGRATE_PHASE}]"
say() { echo "$TAG $*"; }
fail() { echo "$TAG error: $*" >&2; exit 1; }
[ $# -ge 2 ] || usage
LIVE="$1"
shift
SMOKE_PATH="${SMOKE_PATH:-/health}"
START_TIMEOUT="${START_TIMEOUT:-10}"
GRACE="${GRACE:-2}"
command -v curl >/dev/null || fail "curl is needed for the smoke test (apt-get install curl)"
[ -d "$(dirname "$LIVE")" ] || fail "the directory of $LIVE does not exist"
NEW_SOCK="$LIVE.new-$$"
OLD_PID="$(cat "$LIVE.pid" 2>/dev/null || true)"

rm -f "$NEW_SOCK"
# Its own session, so the release outlives this script and the hand-off that ran it.
SOCKET="$NEW_SOCK" setsid "$@" >>"$LIVE.log" 2>&1 </dev/null &
NEW_PID=$!
abort() {
  kill "$NEW_PID" 2>/dev/null || true
  rm -f "$NEW_SOCK"
  fail "$1; the live socket $LIVE still reaches ${OLD_PID:+pid $OLD_PID}${OLD_PID:-nothing} (see $LIVE.log)"
}
say "started the new release (pid $NEW_PID) on $NEW_SOCK"
deadline=$((SECONDS + START_TIMEOUT))
until [ -S "$NEW_SOCK" ] && curl -fs -o /dev/null --max-time 2 --unix-socket "$NEW_SOCK" "http://localhost$SMOKE_PATH"; do
  kill -0 "$NEW_PID" 2>/dev/null || abort "the new release exited"
  [ $SECONDS -lt $deadline ] || abort "the new release did not answer 200 on $SMOKE_PATH within ${START_TIMEOUT}s"
  sleep 0.1
done
say "smoke test passed: $SMOKE_PATH answered 200"
mv -T "$NEW_SOCK" "$LIVE"
echo "$NEW_PID" >"$LIVE.pid"
say "$LIVE now reaches the new release (pid $NEW_PID)"
if [ -n "$OLD_PID" ] && [ "$OLD_PID" != "$NEW_PID" ] && kill -0 "$OLD_PID" 2>/dev/null; then
  sleep "$GRACE"
  kill -TERM "$OLD_PID" 2>/dev/null || true
  say "stopped the old release (pid $OLD_PID) after ${GRACE}s for its open connections"
fi
