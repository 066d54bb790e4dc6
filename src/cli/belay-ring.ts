import type { Command } from 'commander';

/** Registers the `belay` subcommands of this piece (filled in by its issue). */
export function registerRingCommands(_program: Command): void {}
