#!/usr/bin/env node
/**
 * Posts the `migrate check --format markdown` report on the pull request (GitHub) or merge request
 * (GitLab), or updates the comment it posted before, so a pull request carries ONE report that
 * follows its pushes instead of a new comment per push. The earlier comment is found by a hidden
 * marker line (default `<!-- migrate-report -->`, which the markdown format ends with).
 *
 *   node scripts/ci/pr-comment.mjs github --body-file report.md [--marker M] [--pr N] [--repo OWNER/REPO] [--api-url URL] [--strict]
 *   node scripts/ci/pr-comment.mjs gitlab --body-file report.md [--marker M] [--project ID] [--mr IID] [--api-url URL] [--strict]
 *
 * GitHub: GITHUB_TOKEN (needs `pull-requests: write`), GITHUB_REPOSITORY, GITHUB_API_URL and the
 * pull request number from GITHUB_EVENT_PATH. GitLab: a project access token (scope `api`, role
 * Reporter or higher) in MIGRATE_GITLAB_TOKEN or GITLAB_TOKEN, sent as PRIVATE-TOKEN; CI_JOB_TOKEN
 * is tried last (most GitLab versions do not let job tokens write notes). CI_API_V4_URL,
 * CI_PROJECT_ID and CI_MERGE_REQUEST_IID come from the pipeline.
 *
 * Exit codes: 0 posted, updated, or nothing to do (not a pull request; no permission to write,
 * e.g. a pull request from a fork, reported as a warning unless --strict); 1 the API failed;
 * 2 usage. Plain Node (>= 18, global fetch), no dependencies, so it runs before `npm ci` too.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export const DEFAULT_MARKER = '<!-- migrate-report -->';
/** GitHub refuses comment bodies over 65,536 characters; GitLab notes allow 1,000,000. */
export const GITHUB_MAX_BODY = 65_536;
export const GITLAB_MAX_BODY = 1_000_000;
const PER_PAGE = 100;
/** Bounds the search through a very long discussion (100 pages = 10,000 comments). */
const MAX_PAGES = 100;

export class HttpError extends Error {
  constructor(method, url, status, detail) {
    super(`${method} ${url} answered ${status}${detail ? `: ${detail}` : ''}`);
    this.name = 'HttpError';
    this.method = method;
    this.url = url;
    this.status = status;
  }
}

class UsageError extends Error {}

/**
 * The body as it is sent: with the marker on a line of its own (added when the report lacks it)
 * and cut to the host's limit with a note, so an oversized report still updates the same comment.
 * With a custom marker (one comment per job, e.g. one per dialect) the report's default marker
 * line is dropped, or a job using the default would take that comment for its own.
 */
export function withMarker(body, marker = DEFAULT_MARKER, max = GITHUB_MAX_BODY) {
  let text = body;
  if (marker !== DEFAULT_MARKER)
    text = text
      .split('\n')
      .filter((l) => l.trim() !== DEFAULT_MARKER)
      .join('\n');
  text = text.replace(/\s+$/, '');
  if (!hasMarkerLine(text, marker)) text = `${text}\n\n${marker}`;
  if (text.length <= max) return `${text}\n`;
  const note = `\n\n_… the report was cut here: it has ${text.length} characters, more than the ${max} a comment may hold. The full report is in the job log and artifacts._\n\n${marker}\n`;
  return text.slice(0, max - note.length) + note;
}

/** A line that is exactly the marker: a comment quoting it ("> <!-- ... -->") does not count. */
export function hasMarkerLine(body, marker) {
  return typeof body === 'string' && body.split(/\r?\n/).some((l) => l.trim() === marker);
}

async function request(method, url, headers, payload) {
  const res = await fetch(url, {
    method,
    headers: { ...headers, ...(payload ? { 'Content-Type': 'application/json' } : {}) },
    body: payload ? JSON.stringify(payload) : undefined,
  });
  const text = await res.text();
  if (!res.ok) {
    let detail = text.slice(0, 300);
    try {
      const j = JSON.parse(text);
      detail = j.message ?? j.error ?? detail;
      if (typeof detail !== 'string') detail = JSON.stringify(detail);
    } catch {
      // not JSON: keep the raw start of the answer
    }
    throw new HttpError(method, url, res.status, detail);
  }
  return text ? JSON.parse(text) : null;
}

/** Pages through a list endpoint until a page comes back short, calling `pick` on each item. */
async function findInPages(pageUrl, headers, pick) {
  for (let page = 1; page <= MAX_PAGES; page++) {
    const items = await request('GET', pageUrl(page), headers);
    if (!Array.isArray(items)) throw new HttpError('GET', pageUrl(page), 200, 'expected a JSON array');
    const found = pick(items);
    if (found) return found;
    if (items.length < PER_PAGE) return undefined;
  }
  return undefined;
}

function githubHeaders(token) {
  return { Authorization: `Bearer ${token}`, Accept: 'application/vnd.github+json', 'X-GitHub-Api-Version': '2022-11-28', 'User-Agent': 'migrate-pr-comment' };
}

/**
 * Finds the pull request's comment carrying the marker and PATCHes it, else POSTs a new one.
 * Pull request comments are issue comments in the GitHub REST API.
 * @returns {Promise<{ action: 'created' | 'updated', id: number, url: string }>}
 */
export async function upsertGithubComment({ apiUrl = 'https://api.github.com', token, repo, issue, body, marker = DEFAULT_MARKER }) {
  const api = apiUrl.replace(/\/+$/, '');
  const headers = githubHeaders(token);
  const text = withMarker(body, marker, GITHUB_MAX_BODY);
  const mine = (items) => {
    const candidates = items.filter((c) => hasMarkerLine(c.body, marker));
    // Prefer what a bot wrote (the Actions token posts as github-actions[bot]) over a person's copy.
    return candidates.find((c) => c.user?.type === 'Bot') ?? candidates[0];
  };
  const existing = await findInPages((p) => `${api}/repos/${repo}/issues/${issue}/comments?per_page=${PER_PAGE}&page=${p}`, headers, mine);
  if (existing) {
    try {
      const c = await request('PATCH', `${api}/repos/${repo}/issues/comments/${existing.id}`, headers, { body: text });
      return { action: 'updated', id: c.id, url: c.html_url };
    } catch (e) {
      // Someone else's comment with the marker (a token may only edit its own): post ours instead.
      if (!(e instanceof HttpError) || e.status !== 403) throw e;
    }
  }
  const c = await request('POST', `${api}/repos/${repo}/issues/${issue}/comments`, headers, { body: text });
  return { action: 'created', id: c.id, url: c.html_url };
}

/**
 * The same for a GitLab merge request note (PUT to update, POST to create); system notes
 * ("added 1 commit") are never candidates.
 * @returns {Promise<{ action: 'created' | 'updated', id: number, url: string }>}
 */
export async function upsertGitlabNote({ apiUrl, token, tokenHeader = 'PRIVATE-TOKEN', project, mergeRequest, body, marker = DEFAULT_MARKER, webUrl }) {
  const base = `${apiUrl.replace(/\/+$/, '')}/projects/${encodeURIComponent(project)}/merge_requests/${mergeRequest}/notes`;
  const headers = { [tokenHeader]: token, Accept: 'application/json', 'User-Agent': 'migrate-pr-comment' };
  const text = withMarker(body, marker, GITLAB_MAX_BODY);
  const existing = await findInPages(
    (p) => `${base}?per_page=${PER_PAGE}&page=${p}&sort=asc&order_by=created_at`,
    headers,
    (items) => items.find((n) => !n.system && hasMarkerLine(n.body, marker)),
  );
  const note = existing ? await request('PUT', `${base}/${existing.id}`, headers, { body: text }) : await request('POST', base, headers, { body: text });
  const url = webUrl ? `${webUrl.replace(/\/+$/, '')}/-/merge_requests/${mergeRequest}#note_${note.id}` : `${base}/${note.id}`;
  return { action: existing ? 'updated' : 'created', id: note.id, url };
}

function parseArgs(argv) {
  const [host, ...rest] = argv;
  if (host !== 'github' && host !== 'gitlab') throw new UsageError('the first argument must be "github" or "gitlab"');
  const opts = { host, strict: false };
  const takes = new Set(['--body-file', '--marker', '--pr', '--repo', '--api-url', '--project', '--mr']);
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--strict') opts.strict = true;
    else if (takes.has(a)) {
      if (rest[i + 1] === undefined) throw new UsageError(`${a} needs a value`);
      opts[a.slice(2)] = rest[++i];
    } else throw new UsageError(`unknown argument ${a}`);
  }
  if (!opts['body-file']) throw new UsageError('--body-file FILE is required (the markdown report)');
  return opts;
}

function prNumber(env) {
  if (!env.GITHUB_EVENT_PATH) return undefined;
  try {
    const event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
    return event.pull_request?.number ?? (event.issue?.pull_request ? event.issue.number : undefined);
  } catch {
    return undefined;
  }
}

/**
 * @param {string[]} argv arguments after the script name
 * @param {Record<string, string | undefined>} env
 * @param {{ out: (s: string) => void, err: (s: string) => void }} io
 * @returns {Promise<number>} the exit code
 */
export async function main(argv, env = process.env, io = { out: (s) => process.stdout.write(`${s}\n`), err: (s) => process.stderr.write(`${s}\n`) }) {
  let opts;
  let body;
  try {
    opts = parseArgs(argv);
    body = readFileSync(opts['body-file'], 'utf8');
  } catch (e) {
    io.err(`error: ${e instanceof UsageError ? e.message : `cannot read the report: ${e.message}`}`);
    io.err('usage: pr-comment.mjs github|gitlab --body-file report.md [--marker M] [--strict] (see the header of this script)');
    return 2;
  }
  const marker = opts.marker ?? DEFAULT_MARKER;
  const gha = Boolean(env.GITHUB_ACTIONS);
  const warn = (msg) => io.err(gha ? `::warning title=migrate report comment::${msg.replace(/%/g, '%25').replace(/\r?\n/g, '%0A')}` : `warning: ${msg}`);
  try {
    let result;
    if (opts.host === 'github') {
      const token = env.GITHUB_TOKEN;
      const repo = opts.repo ?? env.GITHUB_REPOSITORY;
      const issue = opts.pr ?? prNumber(env);
      if (issue === undefined) {
        io.out('not a pull request event (no pull request number): no comment posted.');
        return 0;
      }
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a GitHub Actions expression the user copies into the workflow
      if (!token) throw new UsageError('GITHUB_TOKEN is not set: pass the workflow token (env: GITHUB_TOKEN: ${{ github.token }}).');
      if (!repo) throw new UsageError('GITHUB_REPOSITORY is not set: pass --repo OWNER/REPO.');
      result = await upsertGithubComment({ apiUrl: opts['api-url'] ?? env.GITHUB_API_URL, token, repo, issue, body, marker });
    } else {
      const mr = opts.mr ?? env.CI_MERGE_REQUEST_IID;
      if (!mr) {
        io.out('not a merge request pipeline (CI_MERGE_REQUEST_IID is not set): no note posted.');
        return 0;
      }
      const privateToken = env.MIGRATE_GITLAB_TOKEN || env.GITLAB_TOKEN;
      const token = privateToken || env.CI_JOB_TOKEN;
      if (!token) throw new UsageError('no GitLab token: set MIGRATE_GITLAB_TOKEN to a project access token with the api scope (a masked CI/CD variable).');
      const apiUrl = opts['api-url'] ?? env.CI_API_V4_URL;
      const project = opts.project ?? env.CI_PROJECT_ID;
      if (!apiUrl || !project) throw new UsageError('CI_API_V4_URL and CI_PROJECT_ID are not set: pass --api-url and --project.');
      try {
        result = await upsertGitlabNote({
          apiUrl,
          token,
          tokenHeader: privateToken ? 'PRIVATE-TOKEN' : 'JOB-TOKEN',
          project,
          mergeRequest: mr,
          body,
          marker,
          webUrl: env.CI_MERGE_REQUEST_PROJECT_URL ?? env.CI_PROJECT_URL,
        });
      } catch (e) {
        if (!privateToken && e instanceof HttpError && (e.status === 401 || e.status === 403 || e.status === 404)) {
          e.message +=
            ' (CI_JOB_TOKEN cannot write merge request notes on most GitLab versions: set MIGRATE_GITLAB_TOKEN to a project access token with the api scope and the Reporter role)';
        }
        throw e;
      }
    }
    io.out(`${result.action} the report comment: ${result.url}`);
    if (env.GITHUB_OUTPUT) appendFileSync(env.GITHUB_OUTPUT, `comment-url=${result.url}\n`);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`error: ${e.message}`);
      return 2;
    }
    // No write permission (a pull request from a fork gets a read-only token): the gate result
    // still stands in the job; losing the comment must not fail it, unless asked to.
    if (e instanceof HttpError && (e.status === 401 || e.status === 403 || e.status === 404) && !opts.strict) {
      warn(`the report comment was not posted: ${e.message}`);
      return 0;
    }
    io.err(`error: the report comment was not posted: ${e.message}`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
