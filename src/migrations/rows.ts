// The row helpers live with the engines, which read the migrate tables' servers too.
export { num, rawRows, str, type Row } from '../engines/index.ts';
