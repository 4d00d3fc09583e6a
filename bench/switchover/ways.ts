/**
 * The same column-type change, four ways: (a) a direct ALTER on the primary, (b)
 * pt-online-schema-change --execute against the primary, (c) this tool's replica-first ALTER and
 * switchover through `migrate apply --strategy replica-first`, (d) the same replica-first ALTERs
 * with MHA 0.58's online switch in place of migrate's switchover (mha.ts). Each returns when its
 * command ends.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, createWriteStream, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { readJournal } from '../../src/execution/journal.ts';
import { admin, ALTER, CHANGE, TABLE, type BenchCluster } from './cluster.ts';
import { mhaWay } from './mha.ts';

export type Way = 'alter' | 'ptosc' | 'tool' | 'mha';
export const WAYS: Way[] = ['alter', 'ptosc', 'tool', 'mha'];
export const WAY_LABEL: Record<Way, string> = {
  alter: '(a) direct ALTER',
  ptosc: '(b) pt-online-schema-change',
  tool: '(c) migrate replica-first',
  mha: '(d) replica-first + MHA 0.58 online switch',
};

export interface WayOutcome {
  ok: boolean;
  error?: string;
  /**
   * Switchover ways: the write block (migrate: read lock to endpoint moved, its own measure; MHA:
   * its online-change script's stop to start), and the ALTER time per node.
   */
  writeBlockMs?: number;
  alterMs?: Record<string, number>;
  /** Switchover ways: the write block's wall-clock span (migrate: journal block-writes begin to move-endpoint end; MHA: the script's log). */
  blockWindow?: { begin: number; end: number };
  /** Tool only: its own per-step timings of the switchover (ms). */
  steps?: Record<string, number>;
  /** pt-osc only: lines of its output that report retried or failed work. */
  notes?: string[];
}

const REPO = resolve(import.meta.dirname, '..', '..');

/** Runs a command, its output into logFile; resolves with the exit code and the output. */
function runLogged(cmd: string, args: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res, rej) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    log.write(`$ ${cmd} ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
    const p = spawn(cmd, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      log.write(d);
    });
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      log.write(d);
    });
    p.on('error', rej);
    p.on('close', (code) => {
      log.end(`\n[exit ${code}]\n`);
      res({ code: code ?? -1, out, err });
    });
  });
}

export async function runWay(way: Way, cl: BenchCluster, runDir: string, workDir: string): Promise<WayOutcome> {
  if (way === 'alter') return directAlter(cl);
  if (way === 'ptosc') return ptOsc(cl, runDir);
  if (way === 'mha') return mhaWay(cl, runDir, workDir);
  return tool(cl, runDir);
}

async function directAlter(cl: BenchCluster): Promise<WayOutcome> {
  const primary = cl.nodes.find((n) => n.name === 'primary')!;
  const c = await admin(primary, 'app');
  try {
    await c.query(ALTER);
    return { ok: true };
  } catch (e) {
    return { ok: false, error: (e as Error).message };
  } finally {
    await c.end();
  }
}

/**
 * pt-osc finds replicas through a DSN table (the sandbox's replicas are on other ports than 3306,
 * so neither processlist nor hosts discovery finds them) and throttles its copy on their lag
 * (--max-lag, default 1 s), as it would in production.
 */
export async function preparePtOsc(cl: BenchCluster): Promise<void> {
  const primary = cl.nodes.find((n) => n.name === 'primary')!;
  const c = await admin(primary);
  try {
    await c.query('CREATE DATABASE IF NOT EXISTS percona');
    await c.query('CREATE TABLE IF NOT EXISTS percona.dsns (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT DEFAULT NULL, dsn VARCHAR(255) NOT NULL)');
    for (const r of cl.nodes.filter((n) => n.name !== 'primary')) {
      await c.query('INSERT INTO percona.dsns (dsn) VALUES (?)', [`h=${r.host},P=${r.port},u=${r.user},p=${r.password}`]);
    }
  } finally {
    await c.end();
  }
}

async function ptOsc(cl: BenchCluster, runDir: string): Promise<WayOutcome> {
  const primary = cl.nodes.find((n) => n.name === 'primary')!;
  // The password goes through an option file (F=), not the command line.
  const cnf = join(runDir, 'pt-osc.cnf');
  writeFileSync(cnf, `[client]\nuser=${primary.user}\npassword=${primary.password}\n`, { mode: 0o600 });
  const args = [
    '--alter',
    CHANGE,
    '--execute',
    '--no-version-check',
    `--recursion-method=dsn=F=${cnf},h=${primary.host},P=${primary.port},D=percona,t=dsns`,
    '--max-lag=1',
    '--progress=time,5',
    `F=${cnf},h=${primary.host},P=${primary.port},D=app,t=${TABLE}`,
  ];
  const r = await runLogged('pt-online-schema-change', args, join(runDir, 'pt-osc.log'));
  const text = r.out + r.err;
  const notes = text
    .split('\n')
    .filter((l) => /deadlock|retry|retrying|lock wait|Pausing|waiting|lag/i.test(l))
    .slice(0, 20);
  if (r.code !== 0 || !/Successfully altered/.test(text))
    return { ok: false, error: `pt-online-schema-change exited ${r.code}: ${text.trim().split('\n').slice(-3).join(' | ')}`, notes };
  return { ok: true, notes };
}

async function tool(cl: BenchCluster, runDir: string): Promise<WayOutcome> {
  const r = await runLogged(
    process.execPath,
    [join(REPO, 'bin', 'migrate'), '--config', cl.configPath, 'apply', '--strategy', 'replica-first', '--format', 'json'],
    join(runDir, 'migrate-apply.log'),
  );
  const out: WayOutcome = { ok: r.code === 0 };
  try {
    // --format json: one JSON object per line (progress events, the switchover event with its step timings, then the result).
    const events = r.out.split('\n').flatMap((l) => {
      try {
        return [JSON.parse(l) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
    type Report = { steps: { id: string; strategy: string; ran: boolean; writeBlockMs?: number }[] };
    const report = events.find((o): o is Report & Record<string, unknown> => Array.isArray(o['steps']));
    if (!report) throw new Error('no result');
    const step = report.steps.find((s) => s.strategy === 'replica-first');
    if (step?.writeBlockMs !== undefined) out.writeBlockMs = step.writeBlockMs;
    if (!step?.ran) {
      out.ok = false;
      out.error = `migrate apply did not run the change replica-first: ${JSON.stringify(report.steps)}`;
    }
    const sw = events.find((e) => e['event'] === 'switchover');
    if (sw && typeof sw['stepsMs'] === 'object') out.steps = sw['stepsMs'] as Record<string, number>;
  } catch {
    out.ok = false;
  }
  if (!out.ok && !out.error) out.error = `migrate apply exited ${r.code}: ${(r.err || r.out).trim().split('\n').slice(-3).join(' | ')}`;
  // Per-node ALTER times from the run's journal.
  const runs = join(cl.dir, '.migrate', 'runs');
  if (existsSync(runs)) {
    const alterMs: Record<string, number> = {};
    for (const f of readdirSync(runs).filter((x) => x.endsWith('.jsonl'))) {
      copyFileSync(join(runs, f), join(runDir, `journal-${f}`));
      const begun = new Map<string, number>();
      for (const e of readJournal(join(runs, f))) {
        if (e.step === 'block-writes' && e.phase === 'begin') out.blockWindow = { begin: Date.parse(e.ts), end: out.blockWindow?.end ?? 0 };
        if (e.step === 'move-endpoint' && e.phase === 'end' && out.blockWindow) out.blockWindow.end = Date.parse(e.ts);
        if (!e.step.startsWith('alter:')) continue;
        if (e.phase === 'begin') begun.set(e.step, Date.parse(e.ts));
        else if (e.phase === 'end' && begun.has(e.step)) alterMs[e.step.slice(6)] = Date.parse(e.ts) - begun.get(e.step)!;
      }
    }
    out.alterMs = alterMs;
  }
  return out;
}
