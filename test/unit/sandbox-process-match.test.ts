import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isOurProcess, namesPath, serverProcessesReferencing } from '../../src/sandbox/process.ts';

describe('which server processes a sandbox directory claims (sandbox down stops them)', () => {
  it('a whole argument naming the directory or a path under it, not a substring', () => {
    expect(namesPath(['mariadbd', '--datadir=/tmp/sb/n1/data'], '/tmp/sb')).toBe(true);
    expect(namesPath(['postgres', '-D', '/tmp/sb/n1/data'], '/tmp/sb/')).toBe(true);
    expect(namesPath(['haproxy', '-D', '-f', '/tmp/sb/haproxy.cfg'], '/tmp/sb')).toBe(true);
    expect(namesPath(['mariadbd', '--datadir=/var/tmp/sb/n1/data'], '/tmp/sb')).toBe(false);
    expect(namesPath(['mariadbd', '--datadir=/tmp/sb2/n1/data'], '/tmp/sb')).toBe(false);
    expect(namesPath(['postgres', '-D', '/tmp/outer/tmp/sb/data'], '/tmp/sb')).toBe(false);
  });

  // Live processes named mariadbd (node under that name), one in the sandbox and one in a directory
  // whose path merely contains the sandbox's: only the first is the sandbox's.
  const root = mkdtempSync(join(tmpdir(), 'msbx-match-'));
  const bin = join(root, 'mariadbd');
  symlinkSync(process.execPath, bin);
  const sandbox = join(root, 'sb');
  const start = (datadir: string) => spawn(bin, ['-e', 'setTimeout(() => {}, 60000)', '--', `--datadir=${datadir}`], { stdio: 'ignore' });
  const inside = start(join(sandbox, 'n1', 'data'));
  const lookalike = start(join(root, 'outer', sandbox, 'n1', 'data'));
  afterAll(() => {
    inside.kill('SIGKILL');
    lookalike.kill('SIGKILL');
    rmSync(root, { recursive: true, force: true });
  });

  it('serverProcessesReferencing and isOurProcess find the sandbox server only', async () => {
    await new Promise((r) => setTimeout(r, 300));
    const pids = serverProcessesReferencing(sandbox).map((p) => p.pid);
    expect(pids).toContain(inside.pid);
    expect(pids).not.toContain(lookalike.pid);
    expect(isOurProcess(inside.pid ?? -1, join(sandbox, 'n1', 'data'))).toBe(true);
    expect(isOurProcess(lookalike.pid ?? -1, join(sandbox, 'n1', 'data'))).toBe(false);
  });
});
