import { factsOf, type MigrationVerdict } from '../analysis/index.ts';
import { workError, type MigrateError } from '../errors.ts';

/**
 * The gate's refusal where nothing can run a blocking change without the lock (no replica-first):
 * each refused migration with the statements that block, why, and the expand/contract recipe
 * that reaches the same schema safely, so the operator can rewrite it from this message alone.
 */
export function blockingRefusal(refused: { id: string; reason: string }[], verdicts: MigrationVerdict[]): MigrateError {
  const lines: string[] = [];
  for (const x of refused) {
    lines.push(`${x.id}: ${x.reason}`);
    const v = verdicts.find((y) => y.id === x.id);
    for (const f of v?.findings.filter((g) => factsOf(g.rule)?.blocking === true) ?? []) {
      lines.push(`  ${f.rule} ${f.message}`);
      if (f.statement) lines.push(`    statement: ${f.statement}`);
      if (f.safeAlternative) lines.push(`    safe alternative (expand/contract): ${f.safeAlternative}`);
    }
  }
  return workError(
    `The gate refused ${refused.map((x) => x.id).join(', ')}: on PostgreSQL every migration runs in place on the primary, and these block reads or writes for as long as they run.\n${lines.join('\n')}`,
    'Rewrite each refused migration as the safe alternative says (split into expand and contract migrations); `migrate plan` shows the same findings. Nothing was changed.',
  );
}
