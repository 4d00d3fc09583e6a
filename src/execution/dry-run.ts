import type { ClusterConfig, NodeConfig } from '../config/index.ts';
import type { Flavor } from '../engines/index.ts';
import { mysqlString } from '../engines/index.ts';
import type { ApplyStep } from './plan-steps.ts';
import type { ReadPoolPlan } from './read-pool/index.ts';
import { replicaFirstRoles } from './replica-first.ts';

/** Every statement a replica-first step sends, per node, in order; passwords shown masked. */
export function describeReplicaFirst(
  cluster: ClusterConfig,
  flavor: Flavor,
  step: ApplyStep,
  o: { maxWriteBlockMs: number; hold: boolean; readPool?: ReadPoolPlan | undefined },
): string[] {
  const mm = cluster.topology === 'master-master';
  // The roles as the run reads them: a cluster it would refuse is refused here too, with its error.
  const { primary, others } = replicaFirstRoles(cluster);
  const cand = others[0] as NodeConfig;
  const out: string[] = [];
  const v = flavor.typeConversionVariable();
  const rp = o.readPool;
  for (const n of others) {
    if (rp) out.push(...rp.beforeAlter(n));
    if (step.typeConversions) out.push(`${n.name}: SET GLOBAL ${v}=${mysqlString(step.typeConversions.forward)}`);
    out.push(`${n.name}: ${flavor.disableBinlogForSession()}`);
    for (const sql of step.statements) out.push(`${n.name}: ${sql}`);
    if (step.typeConversions) out.push(`${n.name}: ${flavor.stopReplica()}; ${flavor.startReplica()}`);
    if (rp) out.push(...rp.afterAlter(n));
  }
  if (step.typeConversions) out.push(`${primary.name}: SET GLOBAL ${v}=${mysqlString(step.typeConversions.reverse)}`);
  const src = { host: cand.host, port: cand.port, user: cand.user, password: '***' };
  out.push(
    `-- switchover ${primary.name} -> ${cand.name}, write block bounded by ${o.maxWriteBlockMs} ms`,
    `${cand.name}: wait until ${flavor.showReplicaStatus()} shows lag <= 1 s`,
    `${primary.name}: FLUSH TABLES WITH READ LOCK`,
    ...flavor.setReadOnly(true).map((s) => `${primary.name}: ${s}`),
    `${primary.name}: ${flavor.gtidPositionQuery()}  -> @pos`,
    `${cand.name}: ${flavor.waitForGtid('@pos', o.maxWriteBlockMs / 1000)}`,
    `${cand.name}: ${flavor.stopReplica()}`,
    ...(mm ? [] : [`${cand.name}: ${flavor.resetReplicaAll()}`]),
    ...flavor.setReadOnly(false).map((s) => `${cand.name}: ${s}`),
    ...(mm ? [`${cand.name}: ${flavor.startReplica()}`] : []),
    cluster.writer?.type === 'haproxy'
      ? `haproxy ${cluster.writer.socket}: set server ${cluster.writer.backend}/${cand.name} state ready; set server ${cluster.writer.backend}/${primary.name} state maint; shutdown sessions server ${cluster.writer.backend}/${primary.name}`
      : cluster.writer?.type === 'command'
        ? `run: ${cluster.writer.command}  (MIGRATE_NEW_PRIMARY_HOST=${cand.host} MIGRATE_NEW_PRIMARY_PORT=${cand.port})`
        : '-- no writer endpoint configured: clients must follow the new primary themselves',
    `${primary.name}: KILL CONNECTION <each application session>`,
    `${primary.name}: ${flavor.gtidPositionQuery()}  (must still equal @pos)`,
    ...flavor.changeSource(src, 'current_pos').map((s) => `${primary.name}: ${s}`),
    `${primary.name}: ${flavor.startReplica()}`,
    `${primary.name}: UNLOCK TABLES   (read_only stays ON)`,
  );
  if (rp) out.push(...rp.promoted(cand));
  if (!mm) {
    for (const r of others.slice(1)) {
      out.push(
        `${r.name}: ${flavor.waitForGtid('@pos', 30)}`,
        `${r.name}: ${flavor.stopReplica()}`,
        ...flavor.changeSource(src, 'slave_pos').map((s) => `${r.name}: ${s}`),
        `${r.name}: ${flavor.startReplica()}`,
      );
    }
  }
  if (mm && o.hold) {
    out.push(`-- ${primary.name} keeps the old schema (hot rollback target) until \`migrate finalize\``);
  } else {
    if (rp) out.push(...rp.beforeAlter(primary));
    out.push(`${primary.name}: ${flavor.disableBinlogForSession()}`, ...step.statements.map((s) => `${primary.name}: ${s}`));
    if (rp) out.push(...rp.afterAlter(primary));
    if (step.typeConversions) out.push(`every altered node: SET GLOBAL ${v}=<value before the run>`);
  }
  if (rp) out.push(...rp.demoted(primary));
  return out;
}
