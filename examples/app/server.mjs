// The demo's application: one small HTTP server (Node's http module, no framework) in three
// releases, chosen by APP_RELEASE:
//   blue    release 1, the old code: order totals fit the old INT column.
//   green   release 2: takes orders above 2^31 cents, so it needs total_cents as BIGINT (migration
//           0005); its health check fails while the column is still INT.
//   broken  a bad build of release 3, which records each order's currency (the column migration
//           0007 adds): it serves requests, but its health check fails, so the hand-off's verify
//           step must catch it and roll the code back.
// Routes: GET /ready (the process is up: what the balancer swap checks before it moves traffic),
// GET /health (the release works against the database: what `--verify-url` checks),
// POST /orders (one INSERT), GET /orders/latest (one SELECT).
// Database: MYSQL_HOST, MYSQL_PORT, MYSQL_USER, MYSQL_PASSWORD_FILE, MYSQL_DATABASE (the writer
// endpoint); MYSQL_READ_HOST and MYSQL_READ_PORT (optional: the replicas' read endpoint, which
// GET /orders/latest then reads from). A query that meets a switchover (a connection cut by the proxy, or the old primary
// already read-only) is retried on a fresh connection for up to 5 s, as a well-behaved application
// does; the request then only takes longer, and the load generator measures by how much.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import mysql from 'mysql2/promise';

const release = process.env['APP_RELEASE'] ?? '';
if (!['blue', 'green', 'broken'].includes(release) || !process.env['PORT']) {
  console.error(
    'usage: APP_RELEASE=blue|green|broken PORT=<port> MYSQL_HOST=.. MYSQL_PORT=.. MYSQL_USER=.. MYSQL_PASSWORD_FILE=.. MYSQL_DATABASE=.. node server.mjs',
  );
  process.exit(2);
}
const account = {
  user: process.env['MYSQL_USER'],
  password: readFileSync(process.env['MYSQL_PASSWORD_FILE'] ?? '', 'utf8').trim(),
  database: process.env['MYSQL_DATABASE'],
};
const pool = mysql.createPool({ ...account, host: process.env['MYSQL_HOST'], port: Number(process.env['MYSQL_PORT']), connectionLimit: 8 });
// Reads from the replicas take one connection each, closed right after: a pooled connection would
// stay on one replica for good, and a replica taken out of the read pool for its ALTER would keep
// serving those sessions (stale reads) until the drain gives up waiting for them.
const readTarget = process.env['MYSQL_READ_PORT']
  ? { ...account, host: process.env['MYSQL_READ_HOST'], port: Number(process.env['MYSQL_READ_PORT']) }
  : undefined;
const reads = readTarget
  ? {
      async query(sql, args) {
        const c = await mysql.createConnection(readTarget);
        try {
          return await c.query(sql, args);
        } finally {
          await c.end().catch(() => c.destroy());
        }
      },
    }
  : pool;
const usesCurrency = release === 'broken';
const largeOrders = release !== 'blue';

// Errors a switchover causes and a retry on a new connection cures: the proxy cut the session, or
// the statement reached the old primary after it became read-only (1290) or while it held the
// switchover's read lock past the lock wait (1205).
const RETRYABLE = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ER_OPTION_PREVENTS_STATEMENT', 'ER_LOCK_WAIT_TIMEOUT']);
async function query(sql, args = [], on = pool) {
  const until = Date.now() + 5_000;
  for (;;) {
    try {
      const [rows] = await on.query(sql, args);
      return rows;
    } catch (e) {
      if (!RETRYABLE.has(e.code) && e.fatal !== true) throw e;
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

async function health() {
  if (release === 'broken') return { status: 503, body: { release, ok: false, error: 'this build is broken on purpose: its health check fails' } };
  const [col] = await query(
    "SELECT DATA_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'orders' AND COLUMN_NAME = 'total_cents'",
  );
  if (largeOrders && col?.type !== 'bigint')
    return { status: 503, body: { release, ok: false, error: `orders.total_cents is ${col?.type}: this release needs BIGINT (migration 0005)` } };
  return { status: 200, body: { release, ok: true } };
}

async function createOrder() {
  // Release 2 on takes orders above INT's 2^31 - 1 cents: on the old column they would fail.
  const cents = (largeOrders ? 3_000_000_000 : 100) + Math.floor(Math.random() * 10_000);
  const r = usesCurrency
    ? await query("INSERT INTO orders (user_id, total_cents, status, currency) VALUES (1, ?, 'new', 'EUR')", [cents])
    : await query("INSERT INTO orders (user_id, total_cents, status) VALUES (1, ?, 'new')", [cents]);
  return { status: 201, body: { release, id: r.insertId } };
}

async function latestOrder() {
  const columns = usesCurrency ? 'id, total_cents, currency' : 'id, total_cents';
  const rows = await query(`SELECT ${columns} FROM orders ORDER BY id DESC LIMIT 1`, [], reads);
  return { status: 200, body: { release, order: rows[0] ?? null } };
}

const routes = {
  'GET /ready': async () => ({ status: 200, body: { release, ok: true } }),
  'GET /health': health,
  'POST /orders': createOrder,
  'GET /orders/latest': latestOrder,
};

const server = createServer((req, res) => {
  const route = routes[`${req.method} ${req.url}`];
  req.resume();
  const answer = route ? route() : Promise.resolve({ status: 404, body: { error: 'no such route' } });
  answer
    .catch((e) => ({ status: 500, body: { release, error: e.code ?? e.message } }))
    .then(({ status, body }) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-release': release });
      res.end(JSON.stringify(body));
    });
});
server.listen(Number(process.env['PORT']), '127.0.0.1', () => console.log(`${release} release listening on 127.0.0.1:${process.env['PORT']}`));
const stop = () => {
  server.close(() => pool.end().then(() => process.exit(0)));
  server.closeIdleConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
