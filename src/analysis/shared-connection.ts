import type { Knex } from 'knex';

interface PoolClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/**
 * Makes every query of `db` use one connection, even a query started while another holds it.
 * The shadow database has a one-connection pool on purpose (a migration's session state, `USE`,
 * `SET @v`, PREPARE, must stay on one session), but knex itself sometimes asks for a second
 * connection while the first is still held: on MySQL, setNullable/dropNullable run `SELECT 1`
 * and then, from its result handler, read columnInfo and run the ALTER. With one connection in the
 * pool that second acquire waits forever (until the acquire timeout, reported as "Defined query
 * timeout of undefinedms exceeded"), where `migrate up`'s larger pool runs it. Both drivers queue
 * the commands of one connection, so handing the held connection out again is safe, and it is
 * given back to the pool when its last user releases it.
 */
export function shareOneConnection(db: Knex): void {
  const client = db.client as unknown as PoolClient;
  const acquire = client.acquireConnection.bind(client);
  const release = client.releaseConnection.bind(client);
  let shared: { connection: unknown; users: number } | undefined;
  let acquiring: Promise<unknown> | undefined;
  client.acquireConnection = async (): Promise<unknown> => {
    for (;;) {
      if (shared) {
        shared.users++;
        return shared.connection;
      }
      acquiring ??= acquire()
        .then((connection) => {
          shared = { connection, users: 0 };
        })
        .finally(() => {
          acquiring = undefined;
        });
      await acquiring;
    }
  };
  client.releaseConnection = async (connection: unknown): Promise<unknown> => {
    if (shared && connection === shared.connection) {
      if (--shared.users > 0) return undefined;
      shared = undefined;
    }
    return release(connection);
  };
}
