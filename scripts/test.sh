#!/usr/bin/env bash
# The README's test command (npm test): typecheck; the static checks: the dependency rules
# (.dependency-cruiser.cjs, docs/architecture.md), no dialect branch outside src/engines, no
# function over 80 lines, Biome's formatting and lint (biome.jsonc); the whole suite (arguments go
# to vitest); then the CLI coverage check (every command and flag of --help run through the CLI by
# some test, or listed in test/cli-not-yet-run.txt) and the typed-error check (every place src/
# creates a MigrateError with a fix reached by some test, or listed in test/errors-not-yet-raised.txt).
# A run narrowed to some files skips those last checks, which only mean something after the whole suite.
# The suite runs whatever the static checks say, so one run reports both; a failed check still
# fails the command, at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
# The CLI tests run bin/migrate, which runs the compiled build when it matches src/: the code users run.
node bin/source-state.mjs --check || npm run -s build
failed=()
check() { "$@" || failed+=("$*"); }
check npm run -s lint:deps
check npm run -s lint:engines
check npm run -s measure:long-functions -- --fail
check npm run -s lint -- ${NO_COLOR:+--colors=off}
finish() {
  if [ "${#failed[@]}" -gt 0 ]; then
    printf 'failed check: %s\n' "${failed[@]}"
    echo 'Biome: `npm run format` fixes formatting, `npx biome check --write` the safe lint fixes.'
    exit 1
  fi
  exit "$1"
}
set +e
npx vitest run "$@"
rc=$?
set -e
[ "$rc" -eq 0 ] || finish "$rc"
for a in "$@"; do
  case "$a" in
    -*) ;;
    *) echo "cli coverage and error sites: not checked (the run was narrowed to: $a)"; finish 0 ;;
  esac
done
node --import tsx test/cli-coverage-check.ts || failed+=("cli coverage")
node --import tsx test/error-sites-check.ts || failed+=("error sites")
finish 0
