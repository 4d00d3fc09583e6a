import { pathToFileURL } from 'node:url';
import { register as registerCjs } from 'tsx/cjs/api';
import { register, type NamespacedUnregister } from 'tsx/esm/api';

let loader: NamespacedUnregister | undefined;
let cjsHooks = false;

/**
 * Imports a user's migration module (TypeScript or JavaScript, ESM or CommonJS) through one tsx
 * namespace, so it loads the same way under the CLI and under the test runner. The version
 * (the file's checksum) is part of the URL: an edited file is imported afresh instead of coming
 * from the module cache, and an unchanged one is not evaluated twice.
 */
export async function importModule(absPath: string, version: string): Promise<Record<string, unknown>> {
  loader ??= register({ namespace: `migrate-${process.pid}` });
  if (!cjsHooks) {
    // A migration in a CommonJS project is compiled to CommonJS, and its require() of a
    // TypeScript module (the backfill helper, the project's own code) needs tsx's require hook.
    registerCjs();
    cjsHooks = true;
  }
  const url = `${pathToFileURL(absPath).href}?v=${version}`;
  const mod: unknown = await loader.import(url, import.meta.url);
  if (typeof mod !== 'object' || mod === null) return {};
  return mod as Record<string, unknown>;
}
