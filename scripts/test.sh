#!/usr/bin/env bash
# The README's test command (npm test): typecheck, the dependency rules (.dependency-cruiser.cjs,
# docs/architecture.md), the whole suite (arguments go to vitest), then
# the CLI coverage check (every command and flag of --help run through the CLI by some test, or
# listed in test/cli-not-yet-run.txt). A run narrowed to some files skips that last check, which
# only means something after the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p .
npm run -s lint:deps
npx vitest run "$@"
for a in "$@"; do
  case "$a" in
    -*) ;;
    *) echo "cli coverage: not checked (the run was narrowed to: $a)"; exit 0 ;;
  esac
done
node --import tsx test/cli-coverage-check.ts
