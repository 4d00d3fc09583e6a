/**
 * Execution-time refusals on a real master-master cluster behind HAProxy (one sandbox, many
 * cases, in order: each leaves the cluster as the next expects): a writer endpoint or read pool
 * that cannot be used (backend missing, a crashed HAProxy's stale socket, a hung one, an empty
 * command), `rollback`/`finalize` without a hold, a hold whose migration has no down, a held node
 * gone from the config, rollbacks whose switchover is refused or undone within its budget, a
 * drifted migration, a candidate that cannot become the primary (binlog_format, errant GTID), and
 * a replica that cannot replicate after its ALTER (then abort: unreachable node, converge failing,
 * converge succeeding). Each: the CLI's exit code, the problem and fix lines, no stack trace, and
 * nothing changed on the servers or in HAProxy (or, after a failed run, abort restoring it all).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runtimeCommand } from '../../src/sandbox/haproxy.ts';
import { REPL_USER } from '../../src/sandbox/mariadb.ts';
import { cli, Pause, show, startCli, type CliResult } from '../faults/harness.ts';
import { configCopyWith, startSandbox, type RunningSandbox } from '../helpers/sandbox.ts';

type Json = Record<string, unknown>;

async function rows(c: mysql.Connection, sql: string): Promise<Json[]> {
  const [r] = await c.query(sql);
  return r as Json[];
}

/** A socket path whose HAProxy died without cleaning up: the file is there, nobody listens (ECONNREFUSED). */
async function staleSocket(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('node:net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  await new Promise<void>((res, rej) => {
    child.stdout.once('data', () => res());
    child.once('exit', (code) => rej(new Error(`socket holder exited ${code}`)));
  });
  const gone = new Promise((res) => child.once('exit', res));
  child.kill('SIGKILL');
  await gone;
  expect(existsSync(path)).toBe(true);
}

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((res) => s.listen(0, '127.0.0.1', res));
  const { port } = s.address() as { port: number };
  await new Promise((res) => s.close(res));
  return port;
}

/** A runtime socket that accepts and never answers: an HAProxy that hangs. */
async function hungSocket(path: string): Promise<{ server: Server; close: () => Promise<void> }> {
  const peers = new Set<Socket>();
  const server = createServer((s) => {
    peers.add(s);
    s.on('close', () => peers.delete(s));
  });
  await new Promise<void>((res) => server.listen(path, res));
  return {
    server,
    close: () =>
      new Promise<void>((res) => {
        for (const p of peers) p.destroy();
        server.close(() => res());
      }),
  };
}

describe('execution refusals on a master-master cluster behind HAProxy', () => {
  let sb: RunningSandbox;
  let migDir: string;
  let sockDir: string;
  let hung: Awaited<ReturnType<typeof hungSocket>>;
  let holdFile: string;

  beforeAll(async () => {
    migDir = mkdtempSync(join(tmpdir(), 'mig-errexec-'));
    sockDir = mkdtempSync(join(tmpdir(), 'mig-errexec-sock-'));
    writeFileSync(join(migDir, '0001_create_t.up.sql'), 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL);\n');
    writeFileSync(join(migDir, '0001_create_t.down.sql'), 'DROP TABLE t;\n');
    // No down file: the hold below is taken on a migration that cannot be undone yet.
    writeFileSync(join(migDir, '0002_widen_n.up.sql'), 'ALTER TABLE t MODIFY n BIGINT NOT NULL;\n');
    sb = await startSandbox({ topology: 'master-master', proxy: true, migrationsDir: migDir });
    await staleSocket(join(sockDir, 'stale.sock'));
    hung = await hungSocket(join(sockDir, 'hung.sock'));
    holdFile = join(sb.dir, '.migrate', 'hold-sandbox.json');
  }, 240_000);
  afterAll(async () => {
    await hung?.close();
    await sb?.stop();
    rmSync(migDir, { recursive: true, force: true });
    rmSync(sockDir, { recursive: true, force: true });
  });

  const haproxy = (): { socket: string; backend: string } => {
    if (sb.writer.type !== 'haproxy') throw new Error('expected the sandbox HAProxy');
    return { socket: sb.writer.socket, backend: sb.writer.backend };
  };

  const configWith = (name: string, edit: (cluster: Json) => void): string => configCopyWith(sb, name, edit);

  /** What a change would show: each node's read_only, replication and schema, the ledger, HAProxy's servers, the hold. */
  async function state(): Promise<string> {
    const out: string[] = [];
    for (const n of sb.nodes) {
      const c = await sb.mysql(n.name);
      const [r] = await rows(
        c,
        "SELECT @@read_only AS ro, (SELECT DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='app' AND TABLE_NAME='t' AND COLUMN_NAME='n') AS n, (SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA='app' AND TABLE_NAME='migrate_ledger') AS ledger",
      );
      const [st] = await rows(c, 'SHOW SLAVE STATUS');
      const ledger = Number(r?.['ledger']) ? (await rows(c, 'SELECT id FROM app.migrate_ledger ORDER BY id')).map((x) => x['id']) : [];
      await c.end();
      out.push(`${n.name}: ro=${r?.['ro']} n=${r?.['n']} io=${st?.['Slave_IO_Running']} sql=${st?.['Slave_SQL_Running']} ledger=${ledger.join(',')}`);
    }
    const { socket } = haproxy();
    for (const b of ['writer', 'readers'])
      out.push(
        `${b}: ${(await runtimeCommand(socket, `show servers state ${b}`))
          .split('\n')
          .slice(2)
          .map((l) => l.split(' ').slice(3, 7).join(' '))
          .join(' | ')}`,
      );
    out.push(`hold: ${existsSync(holdFile) ? readFileSync(holdFile, 'utf8') : 'none'}`);
    return out.join('\n');
  }

  async function writable(): Promise<string[]> {
    const out: string[] = [];
    for (const n of sb.nodes) {
      const c = await sb.mysql(n.name);
      const [r] = await rows(c, 'SELECT @@read_only AS ro');
      await c.end();
      if (Number(r?.['ro']) === 0) out.push(n.name);
    }
    return out;
  }

  /** The refusal a user sees: the exit code, the problem and fix lines, no stack trace. */
  function expectRefusal(r: CliResult, code: number, problem: RegExp, fix: RegExp): void {
    expect(r.code, show(r)).toBe(code);
    expect(r.error, show(r)).toMatch(problem);
    expect(r.fix, show(r)).toMatch(fix);
    expect(r.stderr).not.toMatch(/unexpected failure|\n\s+at /);
  }

  const applyWith = (config: string): Promise<CliResult> => cli(['--config', config, 'apply', '--strategy', 'replica-first']);

  it('rollback and finalize without a held change: a usage error, nothing changed', async () => {
    const before = await state();
    const rb = await cli(['--config', sb.configPath, 'rollback']);
    expectRefusal(rb, 2, /^Cluster sandbox has no held master-master change to roll back\.$/, /migrate apply --hold/);
    const fin = await cli(['--config', sb.configPath, 'finalize']);
    expectRefusal(fin, 2, /^Cluster sandbox has no held master-master change to finalize\.$/, /migrate apply --hold/);
    expect(await state()).toBe(before);
  });

  it.each([
    {
      what: 'the writer backend HAProxy does not have',
      edit: (c: Json) => ((c['writer'] as Json)['backend'] = 'nosuch'),
      problem: /^HAProxy has no backend named nosuch\.$/,
      fix: /writer\.backend/,
    },
    {
      what: "a crashed HAProxy's stale writer socket",
      edit: (c: Json) => ((c['writer'] as Json)['socket'] = join(sockDir, 'stale.sock')),
      problem: /^Cannot talk to HAProxy's runtime API at .*stale\.sock: .*ECONNREFUSED/,
      fix: /stats socket <path> level admin/,
    },
    {
      what: 'a hung HAProxy behind the writer socket',
      edit: (c: Json) => ((c['writer'] as Json)['socket'] = join(sockDir, 'hung.sock')),
      problem: /^HAProxy's runtime API at .*hung\.sock did not answer "show servers state writer" within 2000 ms\.$/,
      fix: /level admin/,
    },
    {
      what: 'a blank writer command',
      edit: (c: Json) => (c['writer'] = { type: 'command', command: '   ' }),
      problem: /^writer\.command is empty\.$/,
      fix: /Set writer\.command/,
    },
    {
      what: 'a read-pool socket that does not exist',
      edit: (c: Json) => ((c['readPool'] as Json)['socket'] = join(sockDir, 'missing.sock')),
      problem: /^HAProxy's runtime socket .*missing\.sock \(the read pool\) does not exist\.$/,
      fix: /readPool\.socket/,
    },
    {
      what: 'the read-pool backend HAProxy does not have',
      edit: (c: Json) => ((c['readPool'] as Json)['backend'] = 'nosuch'),
      problem: /^HAProxy has no backend named nosuch\.$/,
      fix: /readPool\.backend/,
    },
    {
      what: 'a hung HAProxy behind the read-pool socket',
      edit: (c: Json) => ((c['readPool'] as Json)['socket'] = join(sockDir, 'hung.sock')),
      problem: /^HAProxy's runtime API at .*hung\.sock did not answer within 3000 ms \("show servers state readers"\)\.$/,
      fix: /readPool\.socket/,
    },
    {
      what: 'a blank read-pool command',
      edit: (c: Json) => (c['readPool'] = { type: 'command', command: ' ' }),
      problem: /^readPool\.command is empty\.$/,
      fix: /Set readPool\.command/,
    },
  ])('apply with $what: refused in the preflight, nothing changed', async ({ what, edit, problem, fix }) => {
    const before = await state();
    const r = await applyWith(configWith(what.replace(/\W+/g, '-'), edit));
    expectRefusal(r, 1, problem, fix);
    expect(r.fix).toMatch(/Nothing was changed\.$/);
    expect(await state()).toBe(before);
  });

  it('holds a change whose migration has no down: rollback refuses, and a config without the held node too; nothing changed', async () => {
    const active = (await writable())[0]!;
    const passive = sb.nodes.map((n) => n.name).find((n) => n !== active)!;
    const held = await cli(['--config', sb.configPath, 'apply', '--strategy', 'replica-first', '--hold']);
    expect(held.code, show(held)).toBe(0);
    expect(await writable()).toEqual([passive]);
    expect(JSON.parse(readFileSync(holdFile, 'utf8'))).toMatchObject({
      migrationId: '0002_widen_n',
      heldNode: active,
      alteredNode: passive,
      downStatements: [],
    });
    const before = await state();

    const noDown = await cli(['--config', sb.configPath, 'rollback']);
    expectRefusal(
      noDown,
      1,
      new RegExp(`^0002_widen_n has no down statements to undo the change on ${passive}\\.$`),
      /Add the down migration.*Nothing was changed\.$/,
    );
    expect(await state()).toBe(before);

    const renamed = configWith('held-node-renamed', (c) => {
      for (const n of c['nodes'] as Json[]) if (n['name'] === active) n['name'] = `${active}-renamed`;
    });
    const gone = await cli(['--config', renamed, 'rollback']);
    expectRefusal(gone, 1, new RegExp(`^Node ${active} recorded by the held run is not in the config any more\\.$`), /Restore the node in the config/);
    expect(await state()).toBe(before);
  });

  it('a rollback whose switchover is refused (a long statement on the active node) says to roll back again, not resume or abort; nothing changed', async () => {
    // The fix of the refusal above: the down migration, added after the hold.
    writeFileSync(join(migDir, '0002_widen_n.down.sql'), 'ALTER TABLE t MODIFY n INT NOT NULL;\n');
    const active = (await writable())[0]!;
    const before = await state();
    const busy = await sb.mysql(active);
    const sleeping = busy.query('SELECT SLEEP(60)').catch(() => undefined);
    try {
      await new Promise((r) => setTimeout(r, 1_500));
      const r = await cli(['--config', sb.configPath, 'rollback']);
      expectRefusal(
        r,
        1,
        /^Long-running statements on the primary \(connection \d+ of \S+ running \d+ s: SELECT SLEEP\(60\)\)/,
        /then run `migrate rollback` again; nothing was blocked\.$/,
      );
      expect(r.fix).not.toMatch(/migrate resume|migrate abort/);
    } finally {
      const killer = await sb.mysql(active);
      await killer.query(`KILL ${busy.threadId}`).catch(() => undefined);
      await killer.end();
      await sleeping;
      busy.destroy();
    }
    expect(await state()).toBe(before);
  });

  it('a rollback whose switchover cannot move the writer (backend missing) names the writer backend; nothing changed', async () => {
    const before = await state();
    const r = await cli(['--config', configWith('rollback-no-writer-backend', (c) => ((c['writer'] as Json)['backend'] = 'nosuch')), 'rollback']);
    expectRefusal(r, 1, /^HAProxy has no backend named nosuch\.$/, /writer\.backend/);
    expect(await state()).toBe(before);
  });

  it('a rollback whose write block cannot take the global read lock (a LOCK TABLES ... WRITE session) is undone within the budget; nothing changed', async () => {
    const active = (await writable())[0]!;
    const before = await state();
    const locker = await sb.mysql(active);
    // Idle (not a running statement, so the long-query preflight passes it), but FLUSH TABLES WITH READ LOCK waits for it.
    await locker.query('LOCK TABLES app.t WRITE');
    try {
      const r = await cli(['--config', sb.configPath, 'rollback', '--max-write-block', '800']);
      expectRefusal(
        r,
        1,
        /^taking the global read lock did not finish within the write-block budget \(\d+ ms left\)\.$/,
        /raise --max-write-block\), then run `migrate rollback` again\.$/,
      );
      expect(r.fix).not.toMatch(/migrate resume|migrate abort/);
    } finally {
      await locker.query('UNLOCK TABLES');
      await locker.end();
    }
    expect(await state()).toBe(before);
  });

  it('with the down migration added after the hold, rollback switches back and undoes the change', async () => {
    const { heldNode, alteredNode } = JSON.parse(readFileSync(holdFile, 'utf8')) as { heldNode: string; alteredNode: string };
    const r = await cli(['--config', sb.configPath, 'rollback']);
    expect(r.code, show(r)).toBe(0);
    expect(await writable()).toEqual([heldNode]);
    expect(existsSync(holdFile)).toBe(false);
    const after = await state();
    expect(after).toContain(`${heldNode}: ro=0 n=int`);
    expect(after).toContain(`${alteredNode}: ro=1 n=int`);
    expect(after).not.toMatch(/0002_widen_n/);
  });

  it('apply refuses a migration changed after it was applied; nothing changed', async () => {
    const file = join(migDir, '0001_create_t.up.sql');
    const original = readFileSync(file, 'utf8');
    const before = await state();
    writeFileSync(file, 'CREATE TABLE t (id INT PRIMARY KEY, n INT NOT NULL, note TEXT);\n');
    try {
      const r = await applyWith(sb.configPath);
      expectRefusal(r, 1, /^Migrations changed after they were applied: 0001_create_t\.$/, /migrate ack-drift <id>.*Nothing was changed\.$/);
    } finally {
      writeFileSync(file, original);
    }
    expect(await state()).toBe(before);
  });

  it('apply refuses a candidate that logs statements, not rows (binlog_format changed on it); nothing changed', async () => {
    const active = (await writable())[0]!;
    const passive = sb.nodes.map((n) => n.name).find((n) => n !== active)!;
    const c = await sb.mysql(passive);
    await c.query("SET GLOBAL binlog_format = 'STATEMENT'");
    try {
      const before = await state();
      const r = await applyWith(sb.configPath);
      expectRefusal(
        r,
        1,
        new RegExp(`^The candidate ${passive} cannot become the primary: binlog_format is STATEMENT, not ROW\\.$`),
        /binlog_format=ROW on .*Nothing was changed\.$/,
      );
      expect(await state()).toBe(before);
    } finally {
      await c.query("SET GLOBAL binlog_format = 'ROW'");
      await c.end();
    }
  });

  it('apply refuses a candidate with a transaction the active node does not have (errant GTID); nothing changed', async () => {
    const active = (await writable())[0]!;
    const passive = sb.nodes.map((n) => n.name).find((n) => n !== active)!;
    const a = await sb.mysql(active);
    const p = await sb.mysql(passive);
    // The active applies the passive's changes only after a delay (replication still running, so the
    // cluster is healthy), and someone writes on the passive with its binary log on meanwhile.
    await a.query('STOP SLAVE');
    await a.query('CHANGE MASTER TO MASTER_DELAY = 600');
    await a.query('START SLAVE');
    await p.query('CREATE TABLE app.written_on_passive (id INT PRIMARY KEY)');
    try {
      const before = await state();
      const r = await applyWith(sb.configPath);
      expectRefusal(
        r,
        1,
        new RegExp(`^The candidate ${passive} has transactions the primary ${active} does not \\(errant GTIDs [0-9-]+\\)`),
        new RegExp(`Find what wrote on ${passive}.*Nothing was changed\\.$`),
      );
      expect(await state()).toBe(before);
    } finally {
      await a.query('STOP SLAVE');
      await a.query('CHANGE MASTER TO MASTER_DELAY = 0');
      await a.query('START SLAVE');
      await p.query('DROP TABLE app.written_on_passive');
      await a.end();
      await p.end();
    }
  });

  it('a drained replica that stops replicating after its ALTER stays out of the read pool (bounded wait, typed error); abort refuses while a node is unreachable, fails while replication cannot resume, then restores everything', async () => {
    const active = (await writable())[0]!;
    const passive = sb.nodes.map((n) => n.name).find((n) => n !== active)!;
    const before = await state();
    const pause = new Pause();
    const a = await sb.mysql(active);
    const p = await sb.mysql(passive);
    // Not the binary log's business (nothing to replicate to the passive): the lock is this node's only.
    await a.query('SET SESSION sql_log_bin = 0');
    try {
      const run = startCli(
        ['--config', sb.configPath, 'apply', '--strategy', 'replica-first', '--drain-last-reader', '--catch-up-timeout', '2'],
        pause.env(`alter:${passive}:end`),
      );
      await pause.reached(run);
      // The replication account locked on the active: the passive's replication restart after its
      // ALTER (for the type conversion) cannot log in again, so it does not replicate.
      await a.query(`ALTER USER '${REPL_USER}'@'127.0.0.1' ACCOUNT LOCK`);
      pause.release();
      const r = await run.done;
      expectRefusal(
        r,
        1,
        new RegExp(
          `^${passive} is not replicating \\(threads stopped\\) after 2 s of waiting to return it to the read pool \\(bound: \\d+ s of lag\\); it stays out of the pool\\.$`,
        ),
        /then run `migrate resume`/,
      );
      // abort with a node it cannot reach: refused before it touches anything.
      const failedRun = await state();
      const port = await closedPort();
      const unreachable = configWith('abort-passive-unreachable', (c) => {
        for (const n of c['nodes'] as Json[]) if (n['name'] === passive) n['port'] = port;
      });
      const blind = await cli(['--config', unreachable, 'abort']);
      expectRefusal(blind, 1, new RegExp(`^Cannot reach ${passive} \\(.*\\)\\.$`), /Start the nodes named.*migrate abort` again\.$/);
      expect(await state()).toBe(failedRun);
      // abort while the passive still cannot log in to replicate: it converges, then says what is still wrong.
      const stuck = await cli(['--config', sb.configPath, 'abort']);
      expectRefusal(stuck, 1, new RegExp(`^After converging: .*${passive}`), /Repair the nodes named by hand/);
    } finally {
      await a.query(`ALTER USER '${REPL_USER}'@'127.0.0.1' ACCOUNT UNLOCK`);
      await p.query('STOP SLAVE');
      await p.query('START SLAVE');
      await a.end();
      await p.end();
      pause.cleanup();
    }
    const abort = await cli(['--config', sb.configPath, 'abort']);
    expect(abort.code, show(abort)).toBe(0);
    expect(await state()).toBe(before);
  });
});
