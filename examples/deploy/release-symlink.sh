#!/usr/bin/env bash
# Capistrano-style release switch: APP_ROOT/current is a symlink to one directory under
# APP_ROOT/releases (or anywhere). `deploy DIR` runs the new release's health check first, and only
# then moves the symlink, atomically: the new link is made under a temporary name and renamed
# over `current` (`ln -sfn` + `mv -T`, one rename(2)), so every request sees either the old or
# the new release, never a missing link. The link it replaced is kept as APP_ROOT/previous, and
# `rollback` swaps the two back. RELOAD_CMD (optional) runs after each move, e.g. to tell the app
# server to pick up the new code.
#
# As hand-off commands: --deploy-command 'examples/deploy/release-symlink.sh deploy /srv/app/releases/42'
#                       --rollback-command 'examples/deploy/release-symlink.sh rollback'
# Environment:
#   APP_ROOT    the directory holding the `current` and `previous` links, required
#   HEALTH_CMD  the health check of the new release, run with RELEASE_DIR set to it (default: the
#               release's own executable `healthcheck` file); a non-zero exit stops the deploy
#   RELOAD_CMD  run after the link moved (optional); it gets RELEASE_DIR too
#   MIGRATE_PHASE  set by `migrate apply`: shown in the output
set -euo pipefail

usage() { echo "usage: APP_ROOT=<dir> $0 deploy <release dir> | $0 rollback" >&2; exit 2; }
TAG="[release-symlink${MIGRATE_PHASE:+ $MIGRATE_PHASE}]"
say() { echo "$TAG $*"; }
fail() { echo "$TAG error: $*" >&2; exit 1; }
[ $# -ge 1 ] || usage
ROOT="${APP_ROOT:-}"
[ -n "$ROOT" ] || usage
[ -d "$ROOT" ] || fail "APP_ROOT $ROOT is not a directory"

# Points $ROOT/$1 at $2 in one rename: a reader never finds the link missing.
relink() {
  local tmp="$ROOT/.$1.tmp.$$"
  ln -sfn "$2" "$tmp"
  mv -T "$tmp" "$ROOT/$1"
}
reload() {
  [ -n "${RELOAD_CMD:-}" ] || return 0
  RELEASE_DIR="$1" sh -c "$RELOAD_CMD" || fail "RELOAD_CMD failed after the switch to $1 (the link already points there; run '$0 rollback' to go back)"
}

case "$1" in
  deploy)
    [ $# -eq 2 ] || usage
    [ -d "$2" ] || fail "release directory $2 does not exist"
    NEW="$(cd "$2" && pwd -P)"
    CUR="$(readlink "$ROOT/current" || true)"
    [ "$NEW" != "$CUR" ] || { say "current already points to $NEW; nothing to do"; exit 0; }
    if [ -n "${HEALTH_CMD:-}" ]; then CHECK="$HEALTH_CMD"; elif [ -x "$NEW/healthcheck" ]; then CHECK="\"$NEW/healthcheck\""; else
      fail "no health check for $NEW: set HEALTH_CMD or ship an executable $NEW/healthcheck; the link was not moved"
    fi
    say "health check of $NEW before the switch"
    RELEASE_DIR="$NEW" sh -c "$CHECK" || fail "the health check of $NEW failed; current still points to ${CUR:-nothing}"
    relink current "$NEW"
    [ -z "$CUR" ] || relink previous "$CUR"
    say "current -> $NEW${CUR:+ (previous -> $CUR)}"
    reload "$NEW"
    ;;
  rollback)
    [ $# -eq 1 ] || usage
    PREV="$(readlink "$ROOT/previous" || true)"
    CUR="$(readlink "$ROOT/current" || true)"
    [ -n "$PREV" ] || fail "no $ROOT/previous link: nothing to roll back to"
    [ -d "$PREV" ] || fail "the previous release $PREV is gone; current still points to ${CUR:-nothing}"
    relink current "$PREV"
    [ -z "$CUR" ] || relink previous "$CUR"
    say "rolled back: current -> $PREV${CUR:+ (previous -> $CUR)}"
    reload "$PREV"
    ;;
  *) usage ;;
esac
