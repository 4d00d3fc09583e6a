// Module hook (registered by record-errors.mjs in bin/migrate processes): injects the recorder call into the module that
// defines MigrateError, whichever way the process loads it (dist/errors.js, or src/errors.ts through tsx,
// whose own hook runs first and asks this one for the source).
import { injectRecorder, isErrorsModule } from './record-errors.mjs';

export async function load(url, context, nextLoad) {
  const loaded = await nextLoad(url, context);
  if (!isErrorsModule(url) || loaded.source == null) return loaded;
  return { ...loaded, source: injectRecorder(String(loaded.source), url) };
}
