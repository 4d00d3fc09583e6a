import { MigrateError } from '../errors.ts';

/** Why a run stops when its lock session went away (the engines' assertHeld). */
export function lostLock(name: string): MigrateError {
  return new MigrateError(
    'lock',
    `The migrate lock ${name} is no longer held by this run (its database session was lost), so it stopped before the next migration.`,
    'Check "migrate status" and run the command again once no other run is active.',
  );
}
