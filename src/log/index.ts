/** Public API of src/log: other stages import from this file only (docs/architecture.md). */
export { consoleLogger, jsonLinesLogger, type Logger } from './logger.ts';
export { holdsSecret, redact, redactValue, registerSecret } from './redact.ts';
