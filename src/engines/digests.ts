/** What the server recorded of the statements run against one database (engine.readStatementDigests). */
export interface StatementDigests {
  /** One row per normalised statement; `digest` texts have their literals replaced (`?`, `$1`, `(...)`). */
  rows: { text: string; count: number; digest: boolean }[];
  /** Since when the server has been collecting: statements older than this are not in `rows`. Null when it does not say. */
  since: Date | null;
  /** Where the rows come from, for the report: "performance_schema statement digests". */
  source: string;
  /** The column the minimum count applies to: "COUNT_STAR", "calls". */
  countColumn: string;
}

export interface DigestQuery {
  /** The database (MySQL schema) whose statements are read. */
  schema: string;
  /** Only statements run at least this many times. */
  minCount: number;
}
