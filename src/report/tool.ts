import { readFileSync } from 'node:fs';

/**
 * Who produced a report, for formats that name their producer (SARIF's tool.driver). Read from the
 * package.json this module ships with, so a release bump needs no second edit. informationUri must
 * be an absolute URI: package.json `homepage`, else its `repository` URL, else the README that
 * ships with the installed tool (a file: URI; set `homepage` to give viewers a clickable page).
 */
export interface ToolInfo {
  name: string;
  version: string;
  informationUri: string;
}

interface PackageJson {
  version?: unknown;
  homepage?: unknown;
  repository?: unknown;
}

const root = new URL('../../', import.meta.url);

function readPackage(): PackageJson {
  try {
    return JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as PackageJson;
  } catch {
    return {};
  }
}

function absoluteHttp(v: unknown): string | undefined {
  if (typeof v !== 'string') return undefined;
  // npm shorthands: "git+https://host/o/r.git" -> "https://host/o/r".
  const s = v.replace(/^git\+/, '').replace(/\.git$/, '');
  return /^https?:\/\/[^\s]+$/.test(s) ? s : undefined;
}

function toolInfo(): ToolInfo {
  const pkg = readPackage();
  const repo = typeof pkg.repository === 'object' && pkg.repository !== null ? (pkg.repository as { url?: unknown }).url : pkg.repository;
  return {
    name: 'migrate',
    version: typeof pkg.version === 'string' ? pkg.version : '0.0.0',
    informationUri: absoluteHttp(pkg.homepage) ?? absoluteHttp(repo) ?? new URL('README.md', root).href,
  };
}

export const TOOL: ToolInfo = toolInfo();
