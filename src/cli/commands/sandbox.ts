import type { Command } from 'commander';
// Placeholder: the sandbox commands (up/status/down) are registered here.
export function registerSandboxCommands(_program: Command): void {}
