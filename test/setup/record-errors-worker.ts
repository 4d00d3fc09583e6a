/**
 * Installs the typed-error recorder in each vitest worker (test/setup/record-errors.mjs), even
 * where the NODE_OPTIONS preload did not reach it; the Vite plugin in vitest.config.ts makes
 * MigrateError call it.
 */
import { installErrorRecorder } from './record-errors.mjs';

installErrorRecorder();
