/**
 * The text of `migrate shadow up|status|down`. Apart from the server code (shadow-server.ts) so the
 * sandbox's index can export it without loading the server's providers and drivers.
 */
import { resolve } from 'node:path';
import type { Dialect } from '../config/index.ts';
import { engineFor } from '../engines/index.ts';
import type { DownOutcome } from './service.ts';
import type { ShadowStatus, ShadowUpOutcome } from './shadow-server.ts';
import { SHADOW_DIR_ENV, shadowServerDir } from './shadow-dir.ts';

const seconds = (ms: number): string => (ms / 1000).toFixed(1);
const dialectName = (d: Dialect): string => engineFor(d).shadowProduct.product;

/** The lines of `shadow up`: where, the URL without password, how long, and who will use it. */
export function renderShadowUpText(o: ShadowUpOutcome, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string {
  const { state } = o;
  const lines = o.reused
    ? [`shadow server (${o.dialect}) already running in ${o.dir} and healthy: nothing to do (checked in ${seconds(o.elapsedMs)} s)`]
    : [`shadow server (${o.dialect}) ready in ${seconds(o.elapsedMs)} s: ${state.serverVersion ?? dialectName(o.dialect)} in ${o.dir}`];
  lines.push(`url: ${o.url} (password in ${o.passwordFile})`);
  lines.push('throwaway: durability off, on tmpfs where available; never put real data on it');
  const expected = shadowServerDir(o.dialect, { env, cwd });
  const found = expected === o.dir;
  if (found) {
    lines.push(`\`migrate check\` / \`migrate plan\` (${o.dialect}) now use it automatically`);
  } else {
    const base = resolve(o.dir, '..');
    lines.push(
      `\`migrate check\` / \`migrate plan\` use it when run with ${SHADOW_DIR_ENV}=${base} (it is not in the default place${env[SHADOW_DIR_ENV] ? ` nor under the current ${SHADOW_DIR_ENV}` : ''})`,
    );
  }
  if (env['MIGRATE_SHADOW_URL']) lines.push('note: MIGRATE_SHADOW_URL is set and comes first: check/plan use that server, not this one, until it is unset');
  lines.push(`stop with: migrate shadow down --dialect ${o.dialect}${found ? '' : ` --dir ${resolve(o.dir, '..')}`}`);
  return lines.join('\n');
}

export function renderShadowStatusText(s: ShadowStatus): string {
  if (!s.present) return `no shadow server (${s.dialect}) in ${s.dir}`;
  const node = s.status?.nodes[0];
  const phase = s.phase && s.phase !== 'ready' ? ` (state: ${s.phase}; its logs are in ${s.dir}; run \`migrate shadow down\` and \`up\` again)` : '';
  const lines = [`shadow server (${s.dialect}) in ${s.dir}: ${s.healthy ? 'healthy' : 'NOT healthy'}${phase}`];
  if (s.url) lines.push(`url: ${s.url} (password in ${s.passwordFile})`);
  const facts = [s.serverVersion, s.pid ? `pid ${s.pid}` : undefined, s.createdAt ? `started ${s.createdAt}` : undefined].filter(Boolean);
  if (facts.length) lines.push(facts.join(', '));
  if (node?.error) lines.push(`error: ${node.error}`);
  else if (node?.readOnly) lines.push('error: the server is read-only');
  if (s.objects) {
    const left = s.objects.filter((o) => o.leftover);
    const inUse = s.objects.length - left.length;
    const parts = [
      inUse ? `${inUse} in use by running analyses` : '',
      left.length ? `${left.length} left by killed runs, removed by the next check, plan or apply:` : '',
    ].filter(Boolean);
    lines.push(`shadow databases and accounts: ${parts.length ? parts.join('; ') : 'none'}`);
    for (const o of left) lines.push(`  ${o.kind} ${o.name}: ${o.leftover}`);
  }
  return lines.join('\n');
}

export function renderShadowDownText(d: DownOutcome & { dialect: Dialect }): string {
  if (!d.existed) return `no shadow server (${d.dialect}) in ${d.dir}: nothing to stop`;
  const parts = d.stopped.map(
    (s) =>
      `${s.what}${s.pid ? ` (pid ${s.pid})` : ''}: ${s.how === 'signal' ? 'stopped' : s.how === 'container' ? 'removed' : s.how === 'not-ours' ? 'pid now belongs to another process, left alone' : 'was not running'}`,
  );
  return [`shadow server (${d.dialect}) in ${d.dir}:`, ...parts.map((p) => `  ${p}`), `  removed ${d.dir}`].join('\n');
}
