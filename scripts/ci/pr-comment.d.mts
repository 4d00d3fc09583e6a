/** Types of pr-comment.mjs (plain JavaScript so CI runs it with bare Node), for the tests. */
export declare const DEFAULT_MARKER: string;
export declare const GITHUB_MAX_BODY: number;
export declare const GITLAB_MAX_BODY: number;

export declare class HttpError extends Error {
  constructor(method: string, url: string, status: number, detail?: string);
  method: string;
  url: string;
  status: number;
}

export interface UpsertResult {
  action: 'created' | 'updated';
  id: number;
  url: string;
}

export declare function withMarker(body: string, marker?: string, max?: number): string;
export declare function hasMarkerLine(body: unknown, marker: string): boolean;

export declare function upsertGithubComment(opts: {
  apiUrl?: string;
  token: string;
  repo: string;
  issue: number | string;
  body: string;
  marker?: string;
}): Promise<UpsertResult>;

export declare function upsertGitlabNote(opts: {
  apiUrl: string;
  token: string;
  tokenHeader?: 'PRIVATE-TOKEN' | 'JOB-TOKEN';
  project: string;
  mergeRequest: number | string;
  body: string;
  marker?: string;
  webUrl?: string;
}): Promise<UpsertResult>;

export declare function main(
  argv: string[],
  env?: Record<string, string | undefined>,
  io?: { out: (s: string) => void; err: (s: string) => void },
): Promise<number>;
