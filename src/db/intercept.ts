import type { Knex } from 'knex';

/**
 * The one place that reaches into knex internals. Probing an ALTER must happen just before the
 * statement runs, on the same connection, and a TS migration's SQL is only known while it runs:
 * knex's `query` event fires too late to change anything, so we wrap the client's driver call.
 * Everything else in the analysis uses knex's public API.
 */
export interface QueryObject {
  sql: string;
  bindings?: unknown[];
  method?: string;
  response?: unknown;
}

/** Runs `sql` (default: the intercepted statement) on the same connection, bypassing the handler. */
export type Next = (sql?: string) => Promise<QueryObject>;
/** What the handler knows about the session: knex marks a connection inside db.transaction(). */
export interface SessionInfo {
  inTransaction: boolean;
}
export type Handler = (obj: QueryObject, next: Next, session: SessionInfo) => Promise<QueryObject>;

interface InternalClient {
  _query(connection: unknown, obj: QueryObject): Promise<QueryObject>;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

export interface Interceptor {
  /** Runs statements verbatim (no knex binding rewriting: a literal "?" stays a "?") through the handler. */
  runStatements(sqls: string[]): Promise<void>;
  /** Runs one statement verbatim on the same connection, bypassing the handler (nothing captured). */
  runVerbatim(sql: string): Promise<QueryObject>;
  uninstall(): void;
}

export function installInterceptor(db: Knex, handler: Handler): Interceptor {
  const client = db.client as unknown as InternalClient;
  const original = client._query.bind(client);
  const wrapped = (connection: unknown, obj: QueryObject): Promise<QueryObject> =>
    handler(obj, (sql) => (sql === undefined || sql === obj.sql ? original(connection, obj) : original(connection, { ...obj, sql })), {
      inTransaction: (connection as { __knexTxId?: unknown } | null)?.__knexTxId !== undefined,
    });
  client._query = wrapped;
  return {
    async runStatements(sqls) {
      const connection = await client.acquireConnection();
      try {
        for (const sql of sqls) await wrapped(connection, { sql, bindings: [], method: 'raw' });
      } finally {
        await client.releaseConnection(connection);
      }
    },
    async runVerbatim(sql) {
      const connection = await client.acquireConnection();
      try {
        return await original(connection, { sql, bindings: [], method: 'raw' });
      } finally {
        await client.releaseConnection(connection);
      }
    },
    uninstall() {
      client._query = original;
    },
  };
}
