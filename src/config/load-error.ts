/**
 * The first meaningful line of a load error: for a transform error that is the compiler's
 * "file:line:col: ERROR: ..." line, not the "Transform failed with 1 error:" preamble.
 */
export function firstCompilerLine(e: unknown): string {
  const raw = e instanceof Error ? e.message : String(e);
  // eslint-disable-next-line no-control-regex
  const lines = raw
    .replace(/\u001b\[[0-9;]*m/g, '')
    .replace(/\?v=[0-9a-f]+/g, '')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /ERROR:/.test(l)) ?? lines.find((l) => !/^Transform failed/.test(l)) ?? lines[0] ?? 'unknown error';
}
