/** Public API of src/load (write load for benches and tests): other stages import from this file only (docs/architecture.md). */
export { errCode, WriteLoad, type LoadReport, type Target } from './txn-load.ts';
export { longestGapWithin, UpdateLoad, WriteProbe, type ProbeReport, type ProbeTarget } from './write-probe.ts';
