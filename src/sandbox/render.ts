import type { DownReport, NodeStatus, SandboxState, SandboxStatus } from './contract.ts';
import { readSecret } from './secrets.ts';

const seconds = (ms: number): string => (ms / 1000).toFixed(1);

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

function endpoint(state: SandboxState): { host: string; port: number } {
  return { host: state.writer.host, port: state.writer.port };
}

/** Human summary of a started (or reused) sandbox. Passwords are referred to by file, never shown. */
export function renderUpText(state: SandboxState, reused: boolean, elapsedMs: number): string {
  const head = reused
    ? `sandbox ${state.topology} already running in ${state.dir} and healthy: nothing to do (checked in ${seconds(elapsedMs)} s)`
    : `sandbox ${state.topology} ready in ${seconds(elapsedMs)} s (${state.serverVersion ?? state.flavor}, ${state.provider})`;
  const rows = [['NODE', 'ROLE', 'ADDRESS', 'PID', 'LOGIN']];
  for (const n of state.nodes)
    rows.push([n.name, n.role, `${n.host}:${n.port}`, String(n.pid ?? n.containerId?.slice(0, 12) ?? '-'), `${n.user} (password: ${n.passwordFile})`]);
  const ep = endpoint(state);
  const lines = [head, table(rows)];
  if (state.writer.type === 'haproxy') {
    lines.push(
      `writer endpoint: HAProxy ${ep.host}:${ep.port} -> ${state.writer.node} (runtime API: ${state.writer.socket}, backend "${state.writer.backend}")`,
    );
    const rd = state.writer.readers;
    if (rd) lines.push(`read pool: HAProxy ${rd.host}:${rd.port} -> the replicas (backend "${rd.backend}", named as readPool in the config)`);
  }
  lines.push(`application login: ${state.app.user}@${ep.host}:${ep.port}/${state.app.database} (password: ${state.app.passwordFile})`);
  // The commands are meant to be copied into a shell: a path with a space is quoted there.
  const arg = (v: string): string => (/[\s'"$`\\]/.test(v) ? `'${v.replace(/'/g, `'\\''`)}'` : v);
  lines.push(`config: ${state.configPath}  (use with: migrate --config ${arg(state.configPath)} ...)`);
  lines.push(`stop with: migrate sandbox down --dir ${arg(state.dir)}`);
  return lines.join('\n');
}

/**
 * The `up --format json` document. This is the one output that carries passwords, because the
 * user asked for machine-readable credentials; the caller prints it without redaction.
 */
export function upJson(state: SandboxState, reused: boolean, elapsedMs: number): Record<string, unknown> {
  const ep = endpoint(state);
  return {
    status: reused ? 'already-running' : 'ready',
    topology: state.topology,
    flavor: state.flavor,
    provider: state.provider,
    serverVersion: state.serverVersion,
    dir: state.dir,
    configPath: state.configPath,
    readyInSeconds: Number(seconds(reused ? (state.readyInMs ?? elapsedMs) : elapsedMs)),
    elapsedSeconds: Number(seconds(elapsedMs)),
    writer: state.writer,
    app: {
      host: ep.host,
      port: ep.port,
      user: state.app.user,
      database: state.app.database,
      password: readSecret(state.app.passwordFile),
      passwordFile: state.app.passwordFile,
    },
    nodes: state.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      flavor: n.flavor,
      host: n.host,
      port: n.port,
      socket: n.socket,
      datadir: n.datadir,
      pid: n.pid,
      containerId: n.containerId,
      user: n.user,
      password: readSecret(n.passwordFile),
      passwordFile: n.passwordFile,
    })),
  };
}

function replication(n: NodeStatus): string {
  if (n.ioRunning === undefined) return '-';
  const yn = (b: boolean | undefined): string => (b ? 'Yes' : 'No');
  return `${yn(n.ioRunning)}/${yn(n.sqlRunning)}`;
}

function lag(n: NodeStatus): string {
  if (n.lag === undefined) return '-';
  if (n.lag === null) return 'NULL';
  return n.lagUnit === 'bytes' ? `${n.lag} B` : `${n.lag} s`;
}

export function renderStatusText(s: SandboxStatus): string {
  const rows = [['NODE', 'ROLE', 'STATE', 'ADDRESS', 'READ_ONLY', 'IO/SQL', 'LAG', 'POSITION']];
  for (const n of s.nodes) {
    rows.push([
      n.name,
      n.role,
      n.up ? 'up' : 'down',
      `${n.host}:${n.port}`,
      n.readOnly === undefined ? '-' : n.readOnly ? 'ON' : 'OFF',
      replication(n),
      lag(n),
      n.position || '-',
    ]);
  }
  const phase =
    s.phase === 'ready'
      ? ''
      : s.phase === 'failed'
        ? ' (the last `up` failed; see the node logs, then run `migrate sandbox down`)'
        : ' (an `up` is in progress or was interrupted)';
  const lines = [`sandbox ${s.topology} in ${s.dir} (${s.provider}): ${s.healthy ? 'healthy' : 'NOT healthy'}${phase}`, table(rows)];
  for (const n of s.nodes) {
    if (n.error) lines.push(`  ${n.name}: ${n.error}`);
    if (n.replicationError) lines.push(`  ${n.name} replication: ${n.replicationError}`);
  }
  const w = s.writer;
  if (w.type === 'haproxy') {
    const servers = (w.servers ?? []).map((x) => `${x.name}=${x.state}`).join(', ');
    lines.push(`writer endpoint: HAProxy ${w.host}:${w.port} ${w.up ? 'up' : 'down'}${servers ? ` (${servers})` : ''}${w.error ? `: ${w.error}` : ''}`);
  } else {
    lines.push(`writer endpoint: direct ${w.host}:${w.port}`);
  }
  lines.push(`config: ${s.configPath}`);
  return lines.join('\n');
}

export function renderDownText(d: DownReport & { dir: string; existed: boolean }): string {
  if (!d.existed) return `no sandbox in ${d.dir}: nothing to stop`;
  const parts = d.stopped.map(
    (s) =>
      `${s.what}${s.pid ? ` (pid ${s.pid})` : ''}: ${s.how === 'signal' ? 'stopped' : s.how === 'container' ? 'removed' : s.how === 'not-ours' ? 'pid now belongs to another process, left alone' : 'was not running'}`,
  );
  return [...parts, `removed ${d.dir}`].join('\n');
}
