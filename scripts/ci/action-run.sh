#!/usr/bin/env bash
# The "run" step of the GitHub Action (action.yml): runs `migrate check` or `migrate plan` once per
# CI format and hands the files to the later steps through GITHUB_OUTPUT. It always exits 0 and
# records migrate's exit code instead (0 pass, 1 gate failed, 2 could not run), so the comment and
# the SARIF upload still happen when the gate fails; the action's last step fails the job.
#
# Inputs arrive as environment variables (never spliced into the script, so a directory name or
# an acknowledgement reason cannot inject shell): INPUT_COMMAND, INPUT_MIGRATIONS, INPUT_DIALECT,
# INPUT_SHADOW_URL, INPUT_CONFIG, INPUT_QUERIES, INPUT_NEW_QUERIES, INPUT_ACK (one per line),
# INPUT_COMMENT_MARKER.
set -uo pipefail

tool="$(cd "$(dirname "$0")/../.." && pwd)"
out="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/migrate-report"
mkdir -p "$out"
output="${GITHUB_OUTPUT:-/dev/null}"

args=()
case "${INPUT_COMMAND:-check}" in
  check)
    args=(check "${INPUT_MIGRATIONS:-migrations}")
    [ -n "${INPUT_DIALECT:-}" ] && args+=(--dialect "$INPUT_DIALECT")
    ;;
  plan)
    [ -n "${INPUT_CONFIG:-}" ] && args=(--config "$INPUT_CONFIG")
    args+=(plan)
    ;;
  *)
    echo "::error title=migrate::the command input must be check or plan, not '${INPUT_COMMAND}'"
    echo "exit-code=2" >> "$output"
    echo "passed=false" >> "$output"
    exit 0
    ;;
esac
[ -n "${INPUT_SHADOW_URL:-}" ] && args+=(--shadow "$INPUT_SHADOW_URL")
[ -n "${INPUT_QUERIES:-}" ] && args+=(--queries "$INPUT_QUERIES")
[ -n "${INPUT_NEW_QUERIES:-}" ] && args+=(--new-queries "$INPUT_NEW_QUERIES")
while IFS= read -r ack; do
  [ -n "$ack" ] && args+=(--ack "$ack")
done <<< "${INPUT_ACK:-}"

migrate() { NO_COLOR=1 node "$tool/bin/migrate" "$@"; }

# The github format first: printed to the log, its workflow commands become the annotations on
# the migration files. The runs after it reuse its cached analysis.
migrate "${args[@]}" --format github > "$out/annotations.txt" 2> "$out/stderr.txt"
code=$?
cat "$out/annotations.txt"
cat "$out/stderr.txt" >&2

md="$out/report.md"
if [ "$code" -le 1 ]; then
  # Exit 1 is the gate failing, which these reports are for; only 2 means a file is not a report.
  migrate "${args[@]}" --format markdown > "$md" 2>> "$out/stderr.txt"
  migrate "${args[@]}" --format sarif > "$out/migrate.sarif" 2>> "$out/stderr.txt"
  [ $? -le 1 ] && echo "sarif-file=$out/migrate.sarif" >> "$output"
  migrate "${args[@]}" --format junit > "$out/migrate-junit.xml" 2>> "$out/stderr.txt"
  [ $? -le 1 ] && echo "junit-file=$out/migrate-junit.xml" >> "$output"
else
  # Bad input or no shadow server: the comment says so, with the error and its fix.
  {
    echo "### ⚠️ migrate ${INPUT_COMMAND:-check} could not run (exit $code)"
    echo
    echo '```'
    cat "$out/stderr.txt"
    echo '```'
    echo
    echo "${INPUT_COMMENT_MARKER:-<!-- migrate-report -->}"
  } > "$md"
  echo "::error title=migrate ${INPUT_COMMAND:-check} could not run::$(head -c 2000 "$out/stderr.txt" | sed -e 's/%/%25/g' | sed -e ':a;N;$!ba;s/\n/%0A/g')"
fi

[ -n "${GITHUB_STEP_SUMMARY:-}" ] && cat "$md" >> "$GITHUB_STEP_SUMMARY"
{
  echo "exit-code=$code"
  echo "passed=$([ "$code" -eq 0 ] && echo true || echo false)"
  echo "markdown-file=$md"
} >> "$output"
exit 0
