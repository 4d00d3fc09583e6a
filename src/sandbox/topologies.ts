import type { SandboxFlavor, SandboxRole, TopologyName } from './contract.ts';

/** One node of a topology before anything runs: its identity and whom it replicates from. */
export interface NodePlan {
  name: string;
  role: SandboxRole;
  serverId: number;
  gtidDomainId: number;
  /** Name of the node this one replicates from. */
  source?: string;
  /**
   * MariaDB MASTER_USE_GTID mode. A node that is itself a master must use current_pos: with
   * slave_pos it would ask its source for history it already wrote itself (DESIGN "Lessons").
   */
  useGtid?: 'slave_pos' | 'current_pos';
  /**
   * `shadow`: a throwaway server for the shadow databases of `check` / `plan`: no binary log, no
   * replication settings, durability off everywhere it can be (it lives on tmpfs anyway).
   */
  profile?: 'shadow';
}

export interface TopologyPlan {
  flavor: SandboxFlavor;
  /** The `topology` of the cluster in migrate.config.json. */
  clusterTopology: 'primary-replica' | 'master-master' | 'single';
  nodes: NodePlan[];
  /** The node that takes writes: primary or active. */
  writer: string;
}

export function planTopology(topology: TopologyName, replicas: number): TopologyPlan {
  switch (topology) {
    case 'primary-replica':
      return {
        flavor: 'mariadb',
        clusterTopology: 'primary-replica',
        writer: 'primary',
        nodes: [
          { name: 'primary', role: 'primary', serverId: 1, gtidDomainId: 0 },
          ...Array.from(
            { length: replicas },
            (_, i): NodePlan => ({
              name: `replica${i + 1}`,
              role: 'replica',
              serverId: i + 2,
              gtidDomainId: 0,
              source: 'primary',
              useGtid: 'slave_pos',
            }),
          ),
        ],
      };
    case 'master-master':
      // Each side writes in its own GTID domain, so a write on the passive side (a test, an
      // operator's mistake) can never collide with the active side's sequence under
      // gtid_strict_mode; the pair then stays replicating in both directions.
      return {
        flavor: 'mariadb',
        clusterTopology: 'master-master',
        writer: 'a',
        nodes: [
          { name: 'a', role: 'active', serverId: 1, gtidDomainId: 1, source: 'b', useGtid: 'current_pos' },
          { name: 'b', role: 'passive', serverId: 2, gtidDomainId: 2, source: 'a', useGtid: 'current_pos' },
        ],
      };
    case 'single':
      return { flavor: 'mariadb', clusterTopology: 'single', writer: 'primary', nodes: [{ name: 'primary', role: 'primary', serverId: 1, gtidDomainId: 0 }] };
    case 'mariadb-shadow':
      return {
        flavor: 'mariadb',
        clusterTopology: 'single',
        writer: 'shadow',
        nodes: [{ name: 'shadow', role: 'primary', serverId: 1, gtidDomainId: 0, profile: 'shadow' }],
      };
    case 'postgres-shadow':
      return {
        flavor: 'postgres',
        clusterTopology: 'single',
        writer: 'shadow',
        nodes: [{ name: 'shadow', role: 'primary', serverId: 1, gtidDomainId: 0, profile: 'shadow' }],
      };
    case 'postgres':
      return {
        flavor: 'postgres',
        clusterTopology: replicas > 0 ? 'primary-replica' : 'single',
        writer: 'primary',
        nodes: [
          { name: 'primary', role: 'primary', serverId: 1, gtidDomainId: 0 },
          ...Array.from(
            { length: replicas },
            (_, i): NodePlan => ({ name: `replica${i + 1}`, role: 'replica', serverId: i + 2, gtidDomainId: 0, source: 'primary' }),
          ),
        ],
      };
  }
}
