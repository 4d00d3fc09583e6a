/**
 * Way (d): the same replica-first ALTERs as migrate runs them (type conversions, each replica
 * altered with binary logging off, catch-up), then MHA 0.58's online switch
 * (`masterha_master_switch --master_state=alive`) in place of migrate's switchover, then the old
 * primary altered. Only the switchover differs from way (c).
 *
 * MHA (Debian mha4mysql-manager / -node) dies on MariaDB 10.11's version string ("Redundant
 * argument in sprintf"): a patched copy of its Perl modules is made once under the work directory
 * and used through PERL5LIB. Its master_ip_online_change_script is ours (written per run): at
 * `stop` it takes the old primary out of HAProxy (no new session reaches it), sets read_only and
 * ends every client session there (root's too: MHA's own sample script kills every thread but
 * its own and replication's); at `start` it puts the new primary in. MHA itself then takes FLUSH
 * TABLES WITH READ LOCK, waits for the new master, sets read_only=0 on it, re-points the other
 * replica and the old primary by binary log file and position, and unlocks.
 */
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { alterNodeLocally } from '../../src/execution/replica-first.ts';
import { flavorFor } from '../../src/engines/index.ts';
import { readSecret } from '../../src/sandbox/secrets.ts';
import { admin, ALTER, q, type BenchCluster, type BenchNode } from './cluster.ts';

const MHA_USER = 'mha';
/** What the gate asks for this change (CHAR -> VARCHAR): the replicas while the primary has the old type, the old primary afterwards. */
const FORWARD = 'ALL_NON_LOSSY';
const REVERSE = 'ALL_NON_LOSSY,ALL_LOSSY';

export interface MhaOutcome {
  ok: boolean;
  error?: string;
  /** From the online-change script's stop (the old primary out of HAProxy) to its start (the new one in). */
  writeBlockMs?: number;
  blockWindow?: { begin: number; end: number };
  alterMs: Record<string, number>;
  /** MHA's own phases, seconds into its run (from manager output), for the notes column. */
  notes?: string[];
}

/** The patched copy of MHA's modules (once per work directory); returns the PERL5LIB to use. */
export function patchedMha(workDir: string): string {
  const lib = join(workDir, 'mha-lib');
  const done = join(lib, '.patched');
  if (existsSync(done)) return lib;
  mkdirSync(lib, { recursive: true });
  cpSync('/usr/share/perl5/MHA', join(lib, 'MHA'), { recursive: true });
  // sprintf with a format for 3 (or 2) numbers but every number of "10.11.19-MariaDB-0+deb12u1": take the first ones only.
  const patch = (file: string, from: string, to: string): void => {
    const p = join(lib, 'MHA', file);
    const text = readFileSync(p, 'utf8');
    if (!text.includes(from)) throw new Error(`MHA ${file}: "${from}" not found; is this MHA 0.58?`);
    writeFileSync(p, text.split(from).join(to));
  };
  patch('NodeUtil.pm', "sprintf( '%03d%03d%03d', $str =~ m/(\\d+)/g )", "sprintf( '%03d%03d%03d', ( $str =~ m/(\\d+)/g )[0..2] )");
  patch('NodeUtil.pm', "sprintf( '%03d%03d', $str =~ m/(\\d+)/g )", "sprintf( '%03d%03d', ( $str =~ m/(\\d+)/g )[0..1] )");
  patch('BinlogManager.pm', "sprintf( '%03d%03d', $str =~ m/(\\d+)/g )", "sprintf( '%03d%03d', ( $str =~ m/(\\d+)/g )[0..1] )");
  writeFileSync(done, new Date().toISOString());
  return lib;
}

/** MHA's login on every node (created on the primary before the load starts; it replicates). */
export async function prepareMha(cl: BenchCluster, runDir: string): Promise<void> {
  const primary = cl.nodes.find((n) => n.name === 'primary')!;
  const password = randomBytes(12).toString('base64url');
  const c = await admin(primary);
  try {
    await c.query(`CREATE USER '${MHA_USER}'@'127.0.0.1' IDENTIFIED BY ?`, [password]);
    await c.query(`GRANT ALL PRIVILEGES ON *.* TO '${MHA_USER}'@'127.0.0.1' WITH GRANT OPTION`);
  } finally {
    await c.end();
  }
  const byPort = cl.nodes.map((n) => `${n.port}) echo ${n.name};;`).join(' ');
  const cnf = join(runDir, 'mha-client.cnf');
  writeFileSync(cnf, `[client]\nuser=${MHA_USER}\npassword=${password}\nhost=127.0.0.1\n`, { mode: 0o600 });
  const script = join(runDir, 'online_change.sh');
  writeFileSync(
    script,
    `#!/bin/bash
# MHA master_ip_online_change_script for the bench sandbox (see bench/switchover/mha.ts).
for a in "$@"; do case $a in --command=*) CMD=\${a#*=};; --orig_master_port=*) OP=\${a#*=};; --new_master_port=*) NP=\${a#*=};; esac; done
SOCK='${cl.haproxySocket}'; BE=writer; LOG='${join(runDir, 'online_change.log')}'
srv() { case $1 in ${byPort} esac; }
sql() { mariadb --defaults-extra-file='${cnf}' -P"$1" -N -e "$2"; }
echo "$(date +%s.%N) $CMD begin orig=$OP new=$NP" >>"$LOG"
case $CMD in
stop|stopssh)
  printf 'set server %s/%s state maint; shutdown sessions server %s/%s\\n' $BE "$(srv $OP)" $BE "$(srv $OP)" | socat stdio "UNIX-CONNECT:$SOCK" >>"$LOG"
  sql "$OP" "SET GLOBAL read_only=1" || exit 1
  for id in $(sql "$OP" "SELECT ID FROM information_schema.PROCESSLIST WHERE USER NOT IN ('system user','event_scheduler','${MHA_USER}') AND COMMAND NOT IN ('Binlog Dump','Binlog Dump GTID','Daemon') AND ID <> CONNECTION_ID()"); do
    sql "$OP" "KILL $id" 2>/dev/null
  done ;;
start)
  printf 'set server %s/%s state ready\\n' $BE "$(srv $NP)" | socat stdio "UNIX-CONNECT:$SOCK" >>"$LOG" ;;
esac
echo "$(date +%s.%N) $CMD end" >>"$LOG"
exit 0
`,
  );
  chmodSync(script, 0o700);
  const repl = readSecret(join(cl.dir, 'secrets', 'repl.password'));
  const [p, r1, r2] = ['primary', 'replica1', 'replica2'].map((n) => cl.nodes.find((x) => x.name === n)!);
  writeFileSync(
    join(runDir, 'mha.cnf'),
    `[server default]
user=${MHA_USER}
password=${password}
repl_user=repl
repl_password=${repl}
ssh_user=root
manager_workdir=${join(runDir, 'mha-work')}
manager_log=${join(runDir, 'mha-work', 'manager.log')}
remote_workdir=${join(runDir, 'mha-remote')}
master_ip_online_change_script=${script}

[server1]
hostname=127.0.0.1
port=${p!.port}
candidate_master=1

[server2]
hostname=127.0.0.1
port=${r1!.port}
candidate_master=1

[server3]
hostname=127.0.0.1
port=${r2!.port}
no_master=1
`,
    { mode: 0o600 },
  );
  mkdirSync(join(runDir, 'mha-work'), { recursive: true });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<{ code: number; out: string }> {
  return new Promise((res, rej) => {
    const log = createWriteStream(logFile, { flags: 'a' });
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (d: Buffer): void => {
      out += d.toString();
      log.write(d);
    };
    p.stdout.on('data', take);
    p.stderr.on('data', take);
    p.on('error', rej);
    p.on('close', (code) => {
      log.end(`\n[exit ${code}]\n`);
      res({ code: code ?? -1, out });
    });
  });
}

async function setConversions(n: BenchNode, value: string, restartSql: boolean): Promise<void> {
  const c = await admin(n);
  try {
    await c.query('SET GLOBAL slave_type_conversions = ?', [value]);
    if (restartSql) {
      await c.query('STOP SLAVE');
      await c.query('START SLAVE');
    }
  } finally {
    await c.end();
  }
}

/** Until every replica is within 1 s of the primary (as migrate's catch-up before its block). */
async function caughtUp(replicas: BenchNode[], timeoutMs = 600_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    let behind = 0;
    for (const n of replicas) {
      const c = await admin(n);
      try {
        const [st] = await q<Record<string, unknown>>(c, 'SHOW SLAVE STATUS');
        const sbm = st?.['Seconds_Behind_Master'];
        if (st?.['Slave_SQL_Running'] !== 'Yes' || sbm === null || sbm === undefined || Number(sbm) > 1) behind++;
      } finally {
        await c.end();
      }
    }
    if (behind === 0) return;
    if (Date.now() > until) throw new Error('replicas did not catch up before the MHA switch');
    await new Promise((r) => setTimeout(r, 200));
  }
}

export async function mhaWay(cl: BenchCluster, runDir: string, workDir: string): Promise<MhaOutcome> {
  const flavor = flavorFor('mariadb');
  const node = (name: string): BenchNode => cl.nodes.find((n) => n.name === name)!;
  const asNode = (n: BenchNode) => ({ name: n.name, role: 'replica' as const, host: n.host, port: n.port, user: n.user, password: n.password });
  const replicas = [node('replica1'), node('replica2')];
  const alterMs: Record<string, number> = {};
  const quiet = (): void => undefined;
  try {
    for (const r of replicas) {
      await setConversions(r, FORWARD, false);
      alterMs[r.name] = await alterNodeLocally(asNode(r), flavor, 'app', [ALTER], quiet);
      await setConversions(r, FORWARD, true);
    }
    await setConversions(node('primary'), REVERSE, false);
    await caughtUp(replicas);
    const lib = patchedMha(workDir);
    const r = await run(
      'masterha_master_switch',
      [
        `--conf=${join(runDir, 'mha.cnf')}`,
        '--master_state=alive',
        '--new_master_host=127.0.0.1',
        `--new_master_port=${node('replica1').port}`,
        '--orig_master_is_new_slave',
        '--interactive=0',
        '--running_updates_limit=10',
      ],
      { ...process.env, PERL5LIB: lib },
      join(runDir, 'mha-switch.log'),
    );
    const window = readWindow(join(runDir, 'online_change.log'));
    if (r.code !== 0 || !/completed successfully/.test(r.out)) {
      return {
        ok: false,
        error: `masterha_master_switch exited ${r.code}: ${r.out.trim().split('\n').slice(-3).join(' | ')}`,
        alterMs,
        ...(window ? { blockWindow: window, writeBlockMs: window.end - window.begin } : {}),
      };
    }
    // The old primary, now a replica of replica1, gets the change last (binlog off), then every node's setting goes back.
    alterMs['primary'] = await alterNodeLocally(asNode(node('primary')), flavor, 'app', [ALTER], quiet);
    for (const n of cl.nodes) await setConversions(n, '', false);
    return { ok: true, alterMs, ...(window ? { blockWindow: window, writeBlockMs: Math.round((window.end - window.begin) * 10) / 10 } : {}) };
  } catch (e) {
    return { ok: false, error: (e as Error).message, alterMs };
  }
}

/** The online-change script's stop begin and start end (wall clock, ms). */
function readWindow(logFile: string): { begin: number; end: number } | undefined {
  if (!existsSync(logFile)) return undefined;
  const lines = readFileSync(logFile, 'utf8').split('\n');
  const at = (re: RegExp): number | undefined => {
    const l = lines.find((x) => re.test(x));
    return l ? Number(l.split(' ')[0]) * 1000 : undefined;
  };
  const begin = at(/^\S+ stop begin/);
  const end = at(/^\S+ start end/);
  return begin !== undefined && end !== undefined ? { begin, end } : undefined;
}
