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
  for (const part of pos.split(',').map((p) => p.trim()).filter(Boolean)) {
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
