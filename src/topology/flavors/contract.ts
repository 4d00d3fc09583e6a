// TEMPORARY (issue 14): re-export for files other helpers are moving; removed at merge
export type { Flavor, FlavorName, GtidStart, ReplicationSource, ReplicationStatus } from '../../engines/index.ts';
