import type { NodeConfig } from '../../config/index.ts';
import { MigrateError, messageOf } from '../../errors.ts';
import type { WriterEndpoint } from './contract.ts';

/** How long the endpoint's look and its move back may take, each (the old primary is still locked). */
export const ENDPOINT_BACK_MS = 5_000;

/** Where the endpoint is after a failed move was taken back, as far as it can be known. */
export type EndpointBack =
  /** Read from the driver: it sends writes to the old primary only (`moved`: after our move back). */
  | { on: 'primary'; moved: boolean }
  /** Read from the driver: it sends writes elsewhere too, even after the move back. */
  | { on: 'servers'; servers: string[]; why?: string }
  /** Not readable (a command writer) and the move back failed too, or the driver did not answer. */
  | { on: 'unknown'; why: string }
  /** No endpoint to move (writer type none). */
  | { on: 'none' };

function within<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ENDPOINT_BACK_MS} ms`)), ENDPOINT_BACK_MS);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * After the endpoint's move onto the candidate failed and the promotion is being taken back: a
 * move that failed may still have changed part of the endpoint (HAProxy runs the rest of a
 * ';'-chained command after one fails; a writer command killed on its timeout may leave a child
 * that finishes the move). Where the driver can say (HAProxy), the endpoint is read; unless it
 * sends writes to the old primary only, it is moved back (candidate -> old primary, bounded, best
 * effort) and read again. A command writer cannot be read: it is moved back, and its state is
 * known only when that succeeds.
 */
export async function restoreEndpoint(writer: WriterEndpoint, primary: NodeConfig, candidate: NodeConfig): Promise<EndpointBack> {
  if (writer.kind === 'none') return { on: 'none' };
  const read = writer.writableServers?.bind(writer);
  const onPrimaryOnly = (s: string[]) => s.length === 1 && s[0] === primary.name;
  if (read) {
    const before = await within(read(), 'reading the endpoint').catch((e: unknown) => e);
    if (Array.isArray(before) && onPrimaryOnly(before)) return { on: 'primary', moved: false };
  }
  const back = await within(writer.move(candidate, primary), 'moving the endpoint back').then(
    () => undefined,
    (e: unknown) => (e instanceof MigrateError ? e.problem : messageOf(e)),
  );
  if (!read) return back === undefined ? { on: 'primary', moved: true } : { on: 'unknown', why: `moving it back to ${primary.name} failed too: ${back}` };
  const after = await within(read(), 'reading the endpoint').catch((e: unknown) => new Error(messageOf(e)));
  if (after instanceof Error) return { on: 'unknown', why: `it could not be read: ${after.message}` };
  if (onPrimaryOnly(after)) return { on: 'primary', moved: true };
  return { on: 'servers', servers: after, ...(back !== undefined ? { why: `moving it back to ${primary.name} failed: ${back}` } : {}) };
}

/** The endpoint's part of the undone switchover's message. */
export function describeEndpointBack(b: EndpointBack, primary: string): { state: string; check: boolean } {
  switch (b.on) {
    case 'none':
      return { state: '', check: false };
    case 'primary':
      return {
        state: b.moved ? `the writer endpoint was moved back to ${primary}` : `the writer endpoint, which did not move, points at it only (read back from it)`,
        check: false,
      };
    case 'servers':
      return {
        state: `the writer endpoint sends writes to ${b.servers.length ? b.servers.join(', ') : 'no server'}, not to ${primary} only${b.why ? ` (${b.why})` : ''}`,
        check: true,
      };
    case 'unknown':
      return { state: `the writer endpoint's state is unknown (${b.why})`, check: true };
  }
}
