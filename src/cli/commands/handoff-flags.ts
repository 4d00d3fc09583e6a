import type { Command } from 'commander';
import { checkVerifyUrl, countOption, durationOption, HTTP_VERIFY_DEFAULTS, type ProjectConfig, type VerifyConfig } from '../../config/index.ts';
import { usageError } from '../../errors.ts';

/** The hand-off flags of apply, continue and resume (docs/handoff.md); each overrides the config's "handoff" key. */
export interface HandoffFlags {
  deployCommand?: string;
  verifyCommand?: string;
  verifyUrl?: string;
  verifyStatus?: string;
  verifyRetries?: string;
  verifyWindow?: string;
  rollbackCommand?: string;
}

export function withHandoffFlags(cmd: Command): Command {
  return cmd
    .option(
      '--deploy-command <cmd>',
      'run after the pre-deploy migrations (env: MIGRATE_PHASE=deploy, MIGRATE_PLAN_ID, MIGRATE_NEW_PRIMARY_HOST/PORT, MIGRATE_SCHEMA_VERSION); without it (or handoff.deploy) apply stops for `migrate continue`',
    )
    .option(
      '--verify-command <cmd>',
      'after the deploy: the new release is healthy when this exits 0 (MIGRATE_PHASE=verify); else rollback, no contract phase, exit 1',
    )
    .option('--verify-url <url>', 'after the deploy: the new release is healthy when this URL answers --verify-status and keeps doing so for --verify-window')
    .option('--verify-status <n>', `with --verify-url: the healthy status (default ${HTTP_VERIFY_DEFAULTS.status})`)
    .option('--verify-retries <n>', `with --verify-url: tries until the first healthy answer (default ${HTTP_VERIFY_DEFAULTS.retries})`)
    .option('--verify-window <d>', 'with --verify-url: how long it must then stay healthy, polled every interval (default 5s)')
    .option('--rollback-command <cmd>', 'when the deploy or verify fails: roll the code back (MIGRATE_PHASE=rollback), then verify the old release');
}

/** The verify step the flags ask for, over the config's; undefined when they say nothing of it. */
function verifyFromFlags(f: HandoffFlags, config: ProjectConfig): VerifyConfig | undefined {
  if (f.verifyCommand !== undefined && f.verifyUrl !== undefined)
    throw usageError('--verify-command and --verify-url both given.', 'Choose one way to verify the release: a command that exits 0, or a URL.');
  const httpFlags = f.verifyStatus !== undefined || f.verifyRetries !== undefined || f.verifyWindow !== undefined;
  if (f.verifyCommand !== undefined) {
    if (httpFlags) throw usageError('--verify-status, --verify-retries and --verify-window go with --verify-url.', 'Drop them, or verify with --verify-url.');
    return { kind: 'command', command: f.verifyCommand };
  }
  const fromConfig = config.handoff?.verify?.kind === 'http' ? config.handoff.verify : undefined;
  if (f.verifyUrl === undefined && !httpFlags) return undefined;
  if (f.verifyUrl === undefined && !fromConfig)
    throw usageError(
      '--verify-status, --verify-retries and --verify-window need a URL to check.',
      'Add --verify-url http://host:port/health (or "handoff": {"verify": {"url": ...}} in the config).',
    );
  if (f.verifyUrl !== undefined) checkVerifyUrl(f.verifyUrl, '--verify-url', 'flag');
  const base = fromConfig ?? { kind: 'http' as const, url: '', ...HTTP_VERIFY_DEFAULTS };
  const status = f.verifyStatus === undefined ? base.status : countOption(f.verifyStatus, '--verify-status', 'flag');
  if (status < 100 || status > 599) throw usageError(`--verify-status ${status} is not an HTTP status.`, 'Write e.g. --verify-status 200.');
  return {
    ...base,
    url: f.verifyUrl ?? base.url,
    status,
    retries: f.verifyRetries === undefined ? base.retries : countOption(f.verifyRetries, '--verify-retries', 'flag'),
    windowMs: f.verifyWindow === undefined ? base.windowMs : durationOption(f.verifyWindow, '--verify-window', 'flag'),
  };
}

/** apply's hand-off options from the flags, and the flags as given (for the next command a failed hand-off prints). */
export function handoffOptions(
  f: HandoffFlags,
  config: ProjectConfig,
): { deployCommand?: string; verify?: VerifyConfig; rollbackCommand?: string; handoffArgs: string[] } {
  const verify = verifyFromFlags(f, config);
  const given: [string, string | undefined][] = [
    ['--deploy-command', f.deployCommand],
    ['--verify-command', f.verifyCommand],
    ['--verify-url', f.verifyUrl],
    ['--verify-status', f.verifyStatus],
    ['--verify-retries', f.verifyRetries],
    ['--verify-window', f.verifyWindow],
    ['--rollback-command', f.rollbackCommand],
  ];
  return {
    ...(f.deployCommand ? { deployCommand: f.deployCommand } : {}),
    ...(verify ? { verify } : {}),
    ...(f.rollbackCommand ? { rollbackCommand: f.rollbackCommand } : {}),
    handoffArgs: given.flatMap(([flag, v]) => (v === undefined ? [] : [flag, v])),
  };
}
