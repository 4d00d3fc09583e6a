import type { Command } from 'commander';
// Placeholder: the migration commands (make/up/down/status) are registered here.
export function registerMigrationCommands(_program: Command): void {}
