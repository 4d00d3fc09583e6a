// TEMPORARY (issue 14): re-export for files other helpers are moving; removed at merge
export { mariadbErrantGtids, mariadbLaterOf } from '../engines/index.ts';
