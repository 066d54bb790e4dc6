/**
 * `belay init` (write a cluster file) and, with the cluster daemon, `belay
 * daemon`. Kept apart from the other pieces' subcommands.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_CLUSTER_FILE, parseClusterConfig, renderClusterConfig } from '../daemon/config.js';
import { atomicWriteFileSync } from '../lib/atomic-write.js';

export function registerDaemonCommands(program: Command): void {
  program
    .command('init')
    .description('write a cluster file (cluster.yaml) for the given nodes')
    .requiredOption('--name <cluster>', 'cluster name')
    .option('--node <name=address...>', 'a node and its address, in ring order (repeat for each node)')
    .option('-o, --output <file>', 'where to write it', DEFAULT_CLUSTER_FILE)
    .option('--key-file <file>', 'the cluster key path written into the file')
    .option('--state-dir <dir>', 'the state directory written into the file')
    .option('--force', 'replace an existing file')
    .action((opts: { name: string; node?: string[]; output: string; keyFile?: string; stateDir?: string; force?: boolean }) => {
      const nodes = (opts.node ?? []).map((spec) => {
        const m = /^([^=]+)=(.+)$/.exec(spec);
        if (!m) throw usage(`--node takes NAME=ADDRESS, not '${spec}'`);
        return { name: m[1]!, address: m[2]! };
      });
      if (nodes.length === 0) throw usage('give at least one --node NAME=ADDRESS');
      const text = renderClusterConfig({ clusterName: opts.name, nodes, keyFile: opts.keyFile, stateDir: opts.stateDir });
      // Check what we write with the same reader the daemon uses.
      parseClusterConfig(text, opts.output);
      if (existsSync(opts.output) && !opts.force) throw usage(`${opts.output} exists; pass --force to replace it`);
      mkdirSync(dirname(opts.output), { recursive: true });
      atomicWriteFileSync(opts.output, text, { mode: 0o644 });
      process.stdout.write(`wrote ${opts.output} (${nodes.length} nodes); copy it to every node, with the key from 'belay keygen'\n`);
    });
}

function usage(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 2 });
}
