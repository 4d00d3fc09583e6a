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

type QueryFn = (this: InternalClient, connection: unknown, obj: QueryObject) => Promise<QueryObject>;

/**
 * The handlers of the interceptors installed, by the knex config object they were installed for.
 * knex runs a transaction's queries on a client it makes with Object.create(the client class's
 * prototype), sharing only the config object: an override on our client instance would never see
 * them (a TS migration's DDL inside knex.transaction() went uncaptured). So the wrapper sits on the
 * prototype, once per client class, and dispatches by config; any other knex instance in the
 * process reaches the driver call unchanged.
 */
const handlers = new WeakMap<object, (client: InternalClient, connection: unknown, obj: QueryObject) => Promise<QueryObject>>();
const wrappedProtos = new WeakMap<object, QueryFn>();

function wrapPrototype(client: InternalClient & { config: object }): QueryFn {
  const proto = Object.getPrototypeOf(client) as { _query: QueryFn };
  const known = wrappedProtos.get(proto);
  if (known) return known;
  const original = proto._query;
  proto._query = function (this: InternalClient & { config?: object }, connection: unknown, obj: QueryObject): Promise<QueryObject> {
    const h = this.config ? handlers.get(this.config) : undefined;
    return h ? h(this, connection, obj) : original.call(this, connection, obj);
  };
  wrappedProtos.set(proto, original);
  return original;
}

export function installInterceptor(db: Knex, handler: Handler): Interceptor {
  const client = db.client as unknown as InternalClient & { config: object };
  const original = wrapPrototype(client);
  const run = (self: InternalClient, connection: unknown, obj: QueryObject): Promise<QueryObject> =>
    handler(obj, (sql) => (sql === undefined || sql === obj.sql ? original.call(self, connection, obj) : original.call(self, connection, { ...obj, sql })), {
      inTransaction: (connection as { __knexTxId?: unknown } | null)?.__knexTxId !== undefined,
    });
  handlers.set(client.config, run);
  return {
    async runStatements(sqls) {
      const connection = await client.acquireConnection();
      try {
        for (const sql of sqls) await run(client, connection, { sql, bindings: [], method: 'raw' });
      } finally {
        await client.releaseConnection(connection);
      }
    },
    async runVerbatim(sql) {
      const connection = await client.acquireConnection();
      try {
        return await original.call(client, connection, { sql, bindings: [], method: 'raw' });
      } finally {
        await client.releaseConnection(connection);
      }
    },
    uninstall() {
      handlers.delete(client.config);
    },
  };
}
