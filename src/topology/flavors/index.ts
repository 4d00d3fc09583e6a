// TEMPORARY (issue 14): re-export for files other helpers are moving; removed at merge
export { flavorFor, flavorNameFromVersion, type Flavor, type FlavorName } from '../../engines/index.ts';
