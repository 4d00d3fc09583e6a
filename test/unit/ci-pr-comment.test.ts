import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_MARKER, GITHUB_MAX_BODY, main, upsertGithubComment, upsertGitlabNote, withMarker } from '../../scripts/ci/pr-comment.mjs';
import { REPORT_MARKER } from '../../src/report/index.ts';

/**
 * scripts/ci/pr-comment.mjs against a local stand-in for the GitHub and GitLab REST APIs (a real
 * HTTP server on 127.0.0.1 that keeps comments in memory and refuses what the real ones refuse):
 * find the comment carrying the marker -> update it, else create one.
 */
interface Comment {
  id: number;
  body: string;
  user: { login: string; type: 'Bot' | 'User' };
  system?: boolean;
}

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: { body?: string } | undefined;
}

const BOT = { login: 'github-actions[bot]', type: 'Bot' } as const;
const ALICE = { login: 'alice', type: 'User' } as const;

let server: Server;
let api: string;
let seen: Seen[] = [];
let github: Comment[] = [];
let gitlab: Comment[] = [];
let nextId = 1000;
/** GitHub answers 403 to writes, as it does for the read-only token of a pull request from a fork. */
let readOnly = false;
let tmp: string;

function reply(res: import('node:http').ServerResponse, status: number, data: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(data));
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'migrate-pr-comment-'));
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://stub');
      const body = raw ? (JSON.parse(raw) as { body?: string }) : undefined;
      seen.push({ method: req.method ?? '', path: url.pathname + url.search, headers: req.headers, body });
      const page = Number(url.searchParams.get('page') ?? '1');
      const per = Number(url.searchParams.get('per_page') ?? '30');
      let m: RegExpExecArray | null;
      // --- GitHub ---------------------------------------------------------------------------
      if ((m = /^\/repos\/acme\/shop\/issues\/(\d+)\/comments$/.exec(url.pathname))) {
        if (req.headers.authorization !== 'Bearer ghs_test') return reply(res, 401, { message: 'Bad credentials' });
        if (req.method === 'GET')
          return reply(
            res,
            200,
            github.slice((page - 1) * per, page * per).map((c) => ({ ...c, html_url: `https://github.test/acme/shop/pull/${m![1]}#issuecomment-${c.id}` })),
          );
        if (req.method === 'POST') {
          if (readOnly) return reply(res, 403, { message: 'Resource not accessible by integration' });
          const c: Comment = { id: nextId++, body: body?.body ?? '', user: BOT };
          github.push(c);
          return reply(res, 201, { ...c, html_url: `https://github.test/acme/shop/pull/${m[1]}#issuecomment-${c.id}` });
        }
      }
      if ((m = /^\/repos\/acme\/shop\/issues\/comments\/(\d+)$/.exec(url.pathname)) && req.method === 'PATCH') {
        const c = github.find((x) => x.id === Number(m![1]));
        if (!c) return reply(res, 404, { message: 'Not Found' });
        // A token may only edit comments its own identity wrote.
        if (c.user.login !== BOT.login || readOnly) return reply(res, 403, { message: 'Resource not accessible by integration' });
        c.body = body?.body ?? '';
        return reply(res, 200, { ...c, html_url: `https://github.test/acme/shop/pull/7#issuecomment-${c.id}` });
      }
      // --- GitLab ---------------------------------------------------------------------------
      if ((m = /^\/api\/v4\/projects\/group%2Fshop\/merge_requests\/(\d+)\/notes(?:\/(\d+))?$/.exec(url.pathname))) {
        if (req.headers['job-token']) return reply(res, 403, { message: '403 Forbidden' });
        if (req.headers['private-token'] !== 'glpat-test') return reply(res, 401, { message: '401 Unauthorized' });
        if (req.method === 'GET' && !m[2]) return reply(res, 200, gitlab.slice((page - 1) * per, page * per));
        if (req.method === 'POST' && !m[2]) {
          const n: Comment = { id: nextId++, body: body?.body ?? '', user: BOT };
          gitlab.push(n);
          return reply(res, 201, n);
        }
        if (req.method === 'PUT' && m[2]) {
          const n = gitlab.find((x) => x.id === Number(m![2]));
          if (!n) return reply(res, 404, { message: '404 Not found' });
          n.body = body?.body ?? '';
          return reply(res, 200, n);
        }
      }
      reply(res, 404, { message: `no route ${req.method} ${url.pathname}` });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(tmp, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
  github = [];
  gitlab = [];
  readOnly = false;
});

const report =
  '### ❌ migrate check: FAILED (1 of 2 migrations fails the gate)\n\n- `0002_drop` **BC102**: Drops column users.legacy_note\n\n<!-- migrate-report -->\n';
const others = (n: number, user: Comment['user'] = ALICE): Comment[] => Array.from({ length: n }, (_, i) => ({ id: i + 1, body: `comment ${i + 1}`, user }));
const writes = (): Seen[] => seen.filter((s) => s.method !== 'GET');

function io(): { out: string[]; err: string[]; io: { out: (s: string) => void; err: (s: string) => void } } {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s) => out.push(s), err: (s) => err.push(s) } };
}

function event(data: unknown): string {
  const file = join(tmp, `event-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(data));
  return file;
}

function bodyFile(text = report): string {
  const file = join(tmp, `report-${Math.random().toString(36).slice(2)}.md`);
  writeFileSync(file, text);
  return file;
}

describe('pr-comment: GitHub', () => {
  it('creates the comment when none carries the marker, after reading every page of comments', async () => {
    github = others(130);
    const r = await upsertGithubComment({ apiUrl: api, token: 'ghs_test', repo: 'acme/shop', issue: 7, body: report });
    expect(r.action).toBe('created');
    expect(seen.filter((s) => s.method === 'GET').map((s) => s.path)).toEqual([
      '/repos/acme/shop/issues/7/comments?per_page=100&page=1',
      '/repos/acme/shop/issues/7/comments?per_page=100&page=2',
    ]);
    expect(writes()).toHaveLength(1);
    expect(writes()[0]).toMatchObject({ method: 'POST', path: '/repos/acme/shop/issues/7/comments' });
    expect(writes()[0]!.body!.body).toBe(report);
    expect(writes()[0]!.headers).toMatchObject({
      authorization: 'Bearer ghs_test',
      accept: 'application/vnd.github+json',
      'x-github-api-version': '2022-11-28',
    });
    expect(github.at(-1)!.body).toContain(DEFAULT_MARKER);
  });

  it('updates the comment carrying the marker (found on page 2) and posts nothing new; a person quoting the marker is not it', async () => {
    github = [
      ...others(99),
      { id: 500, body: `> ${DEFAULT_MARKER}\nwhy does this fail?`, user: ALICE },
      { id: 501, body: `old report\n\n${DEFAULT_MARKER}`, user: BOT },
    ];
    const r = await upsertGithubComment({ apiUrl: api, token: 'ghs_test', repo: 'acme/shop', issue: 7, body: report });
    expect(r).toEqual({ action: 'updated', id: 501, url: 'https://github.test/acme/shop/pull/7#issuecomment-501' });
    expect(writes().map((s) => `${s.method} ${s.path}`)).toEqual(['PATCH /repos/acme/shop/issues/comments/501']);
    expect(github.find((c) => c.id === 501)!.body).toBe(report);
    expect(github).toHaveLength(101);
  });

  it('running twice leaves one comment with the latest report', async () => {
    await upsertGithubComment({ apiUrl: api, token: 'ghs_test', repo: 'acme/shop', issue: 7, body: report });
    await upsertGithubComment({ apiUrl: api, token: 'ghs_test', repo: 'acme/shop', issue: 7, body: report.replace('FAILED (1 of 2', 'FAILED (2 of 2') });
    expect(github).toHaveLength(1);
    expect(github[0]!.body).toMatch(/FAILED \(2 of 2/);
  });

  it("posts its own comment when the only one with the marker is a person's it may not edit", async () => {
    github = [{ id: 9, body: `copied report\n${DEFAULT_MARKER}`, user: ALICE }];
    const r = await upsertGithubComment({ apiUrl: api, token: 'ghs_test', repo: 'acme/shop', issue: 7, body: report });
    expect(r.action).toBe('created');
    expect(writes().map((s) => s.method)).toEqual(['PATCH', 'POST']);
  });

  it('as a CLI: takes the pull request from the event, writes the comment URL to GITHUB_OUTPUT', async () => {
    const output = join(tmp, 'github-output');
    writeFileSync(output, '');
    const t = io();
    const code = await main(
      ['github', '--body-file', bodyFile()],
      {
        GITHUB_TOKEN: 'ghs_test',
        GITHUB_REPOSITORY: 'acme/shop',
        GITHUB_API_URL: api,
        GITHUB_EVENT_PATH: event({ pull_request: { number: 12 } }),
        GITHUB_OUTPUT: output,
      },
      t.io,
    );
    expect(code, t.err.join('\n')).toBe(0);
    expect(writes()[0]).toMatchObject({ method: 'POST', path: '/repos/acme/shop/issues/12/comments' });
    expect(t.out).toEqual([expect.stringMatching(/^created the report comment: https:\/\/github\.test\/acme\/shop\/pull\/12#issuecomment-\d+$/)]);
    expect(readFileSync(output, 'utf8')).toMatch(/^comment-url=https:\/\/github\.test\/acme\/shop\/pull\/12#issuecomment-\d+\n$/);
  });

  it('as a CLI: a read-only token (pull request from a fork) is a warning, not a failure, unless --strict', async () => {
    readOnly = true;
    const env = {
      GITHUB_TOKEN: 'ghs_test',
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_API_URL: api,
      GITHUB_EVENT_PATH: event({ pull_request: { number: 7 } }),
      GITHUB_ACTIONS: 'true',
    };
    const lenient = io();
    expect(await main(['github', '--body-file', bodyFile()], env, lenient.io)).toBe(0);
    expect(lenient.err.join('\n')).toMatch(
      /^::warning title=migrate report comment::the report comment was not posted: POST .* answered 403: Resource not accessible by integration/,
    );
    const strict = io();
    expect(await main(['github', '--body-file', bodyFile(), '--strict'], env, strict.io)).toBe(1);
    expect(strict.err.join('\n')).toMatch(/^error: the report comment was not posted: .*403/);
  });

  it('as a CLI: outside a pull request it does nothing; bad usage exits 2', async () => {
    const t = io();
    expect(
      await main(
        ['github', '--body-file', bodyFile()],
        { GITHUB_TOKEN: 'ghs_test', GITHUB_REPOSITORY: 'acme/shop', GITHUB_API_URL: api, GITHUB_EVENT_PATH: event({ ref: 'refs/heads/main' }) },
        t.io,
      ),
    ).toBe(0);
    expect(t.out[0]).toMatch(/not a pull request event/);
    expect(seen).toEqual([]);
    const usage = io();
    expect(await main(['bitbucket', '--body-file', 'x'], {}, usage.io)).toBe(2);
    expect(await main(['github'], {}, usage.io)).toBe(2);
    expect(await main(['github', '--body-file', join(tmp, 'missing.md')], {}, usage.io)).toBe(2);
    expect(await main(['github', '--body-file', bodyFile(), '--pr', '3'], { GITHUB_REPOSITORY: 'acme/shop' }, usage.io)).toBe(2);
    expect(usage.err.join('\n')).toMatch(
      /first argument must be "github" or "gitlab"[\s\S]*--body-file FILE is required[\s\S]*cannot read the report[\s\S]*GITHUB_TOKEN is not set/,
    );
  });
});

describe('pr-comment: GitLab', () => {
  it('updates the merge request note carrying the marker with a project access token; system notes are skipped', async () => {
    gitlab = [
      { id: 1, body: `added 1 commit\n${DEFAULT_MARKER}`, user: ALICE, system: true },
      { id: 2, body: `old\n${DEFAULT_MARKER}`, user: BOT },
    ];
    const r = await upsertGitlabNote({
      apiUrl: `${api}/api/v4`,
      token: 'glpat-test',
      project: 'group/shop',
      mergeRequest: 4,
      body: report,
      webUrl: 'https://gitlab.test/group/shop',
    });
    expect(r).toEqual({ action: 'updated', id: 2, url: 'https://gitlab.test/group/shop/-/merge_requests/4#note_2' });
    expect(writes().map((s) => `${s.method} ${s.path}`)).toEqual(['PUT /api/v4/projects/group%2Fshop/merge_requests/4/notes/2']);
    expect(writes()[0]!.headers['private-token']).toBe('glpat-test');
    expect(gitlab[1]!.body).toBe(report);
  });

  it('as a CLI: creates the note from the pipeline variables', async () => {
    const t = io();
    const env = {
      MIGRATE_GITLAB_TOKEN: 'glpat-test',
      CI_API_V4_URL: `${api}/api/v4`,
      CI_PROJECT_ID: 'group/shop',
      CI_MERGE_REQUEST_IID: '4',
      CI_MERGE_REQUEST_PROJECT_URL: 'https://gitlab.test/group/shop',
    };
    expect(await main(['gitlab', '--body-file', bodyFile()], env, t.io)).toBe(0);
    expect(writes().map((s) => `${s.method} ${s.path}`)).toEqual(['POST /api/v4/projects/group%2Fshop/merge_requests/4/notes']);
    expect(t.out[0]).toMatch(/^created the report comment: https:\/\/gitlab\.test\/group\/shop\/-\/merge_requests\/4#note_\d+$/);
  });

  it('as a CLI: with only CI_JOB_TOKEN, a refusal says which token to set', async () => {
    const t = io();
    const env = { CI_JOB_TOKEN: 'job', CI_API_V4_URL: `${api}/api/v4`, CI_PROJECT_ID: 'group/shop', CI_MERGE_REQUEST_IID: '4' };
    expect(await main(['gitlab', '--body-file', bodyFile(), '--strict'], env, t.io)).toBe(1);
    expect(seen[0]!.headers['job-token']).toBe('job');
    expect(t.err.join('\n')).toMatch(/403.*set MIGRATE_GITLAB_TOKEN to a project access token with the api scope/);
  });
});

describe('pr-comment: body', () => {
  it('uses the marker the markdown report ends with', () => {
    expect(DEFAULT_MARKER).toBe(REPORT_MARKER);
  });

  it('adds the marker when the report lacks it and cuts an oversized report to the limit, keeping the marker', () => {
    expect(withMarker('hello')).toBe(`hello\n\n${DEFAULT_MARKER}\n`);
    expect(withMarker(`hello\n${DEFAULT_MARKER}\n\n`)).toBe(`hello\n${DEFAULT_MARKER}\n`);
    // A job with its own marker does not keep the default one a job without would match.
    expect(withMarker(report, '<!-- migrate-report postgres -->')).toBe(report.replace(DEFAULT_MARKER, '<!-- migrate-report postgres -->'));
    const big = withMarker('x'.repeat(200_000));
    expect(big.length).toBeLessThanOrEqual(GITHUB_MAX_BODY);
    expect(big).toMatch(/the report was cut here: it has 200025 characters, more than the 65536[\s\S]*\n<!-- migrate-report -->\n$/);
  });
});
