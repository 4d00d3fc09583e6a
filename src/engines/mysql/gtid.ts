/**
 * MariaDB GTID positions ("domain-server-seq" per domain, comma separated). A candidate has
 * errant transactions when it holds a domain the primary lacks, or a higher sequence number
 * in a domain: writes made on the candidate itself that a switchover would make the truth.
 */
export interface GtidEntry {
  domain: number;
  server: number;
  seq: number;
}

export function parseMariadbGtidList(pos: string): Map<number, GtidEntry> {
  const out = new Map<number, GtidEntry>();
  for (const part of pos
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (!m) throw new Error(`not a MariaDB GTID: "${part}"`);
    out.set(Number(m[1]), { domain: Number(m[1]), server: Number(m[2]), seq: Number(m[3]) });
  }
  return out;
}

export function mariadbErrantGtids(candidatePos: string, primaryPos: string): string[] {
  const cand = parseMariadbGtidList(candidatePos);
  const prim = parseMariadbGtidList(primaryPos);
  const errant: string[] = [];
  for (const [d, c] of cand) {
    const p = prim.get(d);
    if (!p || c.seq > p.seq) errant.push(`${c.domain}-${c.server}-${c.seq}`);
  }
  return errant;
}

/**
 * MariaDB `@@gtid_binlog_state`: the last GTID of every (domain, server) pair the binary log holds.
 * Unlike `@@gtid_binlog_pos` (the last GTID per domain, whoever wrote it) it tells which server
 * wrote what, so a node's own writes can be told apart from what it replicated.
 */
export function parseMariadbGtidState(state: string): GtidEntry[] {
  const out: GtidEntry[] = [];
  for (const part of state
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)-(\d+)-(\d+)$/.exec(part);
    if (!m) throw new Error(`not a MariaDB GTID: "${part}"`);
    out.push({ domain: Number(m[1]), server: Number(m[2]), seq: Number(m[3]) });
  }
  return out;
}

/**
 * Transactions server `serverId` wrote that `state` holds and `reference` does not: one entry per
 * domain, its newest GTID (sequence numbers are shared by every server of a domain, so the
 * individual GTIDs in between come from the binary log, not from the state).
 */
export function mariadbOwnBeyond(reference: string, state: string, serverId: string): string[] {
  const sid = Number(serverId);
  const ref = parseMariadbGtidState(reference);
  return parseMariadbGtidState(state)
    .filter((e) => e.server === sid)
    .filter((e) => {
      const r = ref.find((x) => x.domain === e.domain && x.server === sid);
      return !r || e.seq > r.seq;
    })
    .map((e) => `${e.domain}-${e.server}-${e.seq}`);
}

/** A MySQL GTID set ("uuid:1-5:7,uuid2:1-3") as inclusive intervals per server UUID. */
export function parseMysqlGtidSet(set: string): Map<string, [number, number][]> {
  const out = new Map<string, [number, number][]>();
  for (const part of set.replace(/\s+/g, '').split(',').filter(Boolean)) {
    const [uuid, ...ranges] = part.split(':');
    if (!uuid || !/^[0-9a-f-]{36}$/i.test(uuid) || ranges.length === 0) throw new Error(`not a MySQL GTID set: "${part}"`);
    const list = out.get(uuid.toLowerCase()) ?? [];
    for (const r of ranges) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(r);
      if (!m) throw new Error(`not a MySQL GTID set: "${part}"`);
      list.push([Number(m[1]), Number(m[2] ?? m[1])]);
    }
    out.set(uuid.toLowerCase(), list);
  }
  return out;
}

/** Transactions server `uuid` wrote that the GTID set `state` holds and `reference` does not, as "uuid:a-b:c". */
export function mysqlOwnBeyond(reference: string, state: string, uuid: string): string[] {
  const key = uuid.toLowerCase();
  const have = parseMysqlGtidSet(state).get(key) ?? [];
  const ref = parseMysqlGtidSet(reference).get(key) ?? [];
  let left: [number, number][] = have.map(([a, b]) => [a, b]);
  for (const [ra, rb] of ref) {
    left = left.flatMap(([a, b]): [number, number][] => {
      if (rb < a || ra > b) return [[a, b]];
      const keep: [number, number][] = [];
      if (ra > a) keep.push([a, ra - 1]);
      if (rb < b) keep.push([rb + 1, b]);
      return keep;
    });
  }
  if (left.length === 0) return [];
  return [`${key}:${left.map(([a, b]) => (a === b ? String(a) : `${a}-${b}`)).join(':')}`];
}

/**
 * Per domain, the later of two MariaDB positions (higher sequence number): where a node that has
 * both stands. Used to tell a forked old primary where to resume from without its own errant
 * transactions: what it had before the fork, or what it applied from the new primary after it.
 */
export function mariadbLaterOf(a: string, b: string): string {
  const out = parseMariadbGtidList(a);
  for (const [d, e] of parseMariadbGtidList(b)) {
    const x = out.get(d);
    if (!x || e.seq > x.seq) out.set(d, e);
  }
  return [...out.values()]
    .sort((x, y) => x.domain - y.domain)
    .map((e) => `${e.domain}-${e.server}-${e.seq}`)
    .join(',');
}
