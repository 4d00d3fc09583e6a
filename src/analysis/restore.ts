import { engineFor } from '../engines/index.ts';
import type { ShadowDatabase } from './shadow.ts';

/**
 * Schema dumps that rebuild a shadow database in one batch, so a cached prefix of 200 migrations
 * costs one round of CREATE statements instead of 200 migrations. Best effort: when a dump cannot
 * be taken (no pg_dump), the caller replays the migrations instead. Each engine dumps its own way
 * (engines/<engine>/dump.ts).
 */
export async function dumpSchema(shadow: ShadowDatabase): Promise<string[] | undefined> {
  return engineFor(shadow.dialect).dumpSchema(shadow);
}

export async function restoreSchema(shadow: ShadowDatabase, statements: string[]): Promise<void> {
  await engineFor(shadow.dialect).restoreSchema(shadow, statements);
}
