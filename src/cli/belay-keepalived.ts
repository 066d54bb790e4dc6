import type { Command } from 'commander';

/** Registers the `belay` subcommands of this piece (filled in by its issue). */
export function registerKeepalivedCommands(_program: Command): void {}
