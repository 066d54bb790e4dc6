/**
 * `belay init` (write a cluster file) and, with the cluster daemon, `belay
 * daemon`. Kept apart from the other pieces' subcommands.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { hostname, setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { Belayd } from '../daemon/belayd.js';
import { DEFAULT_CLUSTER_FILE, localNode, parseClusterConfig, readClusterKey, renderClusterConfig } from '../daemon/config.js';
import { SchedulerThread } from '../daemon/scheduler-thread.js';
import { TotemTransport } from '../daemon/totem-transport.js';
import { Executor } from '../executor/executor.js';
import { atomicWriteFileSync } from '../lib/atomic-write.js';

/** belay's bin/ (crm, crm_attribute, ...), from dist/cli/. */
const BELAY_BIN = fileURLToPath(new URL('../../bin', import.meta.url));

export function registerDaemonCommands(program: Command): void {
  program
    .command('daemon')
    .description('run belayd, the cluster daemon, in the foreground (logs to stderr)')
    .option('-c, --config <file>', 'the cluster file', DEFAULT_CLUSTER_FILE)
    .option('--node <name>', "this node's name in the cluster file (default: the host name)")
    .option('--nice <n>', "belayd's own scheduling priority, -20..0 (agents and the scheduler thread keep the normal 0)", '-10')
    .action(async (opts: { config: string; node?: string; nice: string }) => {
      const config = parseClusterConfig(readFileSync(opts.config, 'utf8'), opts.config);
      const self = localNode(config, opts.node, hostname());
      const key = readClusterKey(config.key_file);
      // One write per turn of the event loop: a transition of thousands of
      // actions logs thousands of lines in one step, and a write each was a
      // large part of that step. Flushed at exit too.
      let pending: string[] = [];
      const flush = () => {
        if (pending.length === 0) return;
        const text = pending.join('');
        pending = [];
        process.stderr.write(text);
      };
      process.on('exit', flush);
      const log = (line: string) => {
        if (pending.length === 0) setImmediate(flush);
        pending.push(`${new Date().toISOString()} ${line}\n`);
      };
      const nice = Number(opts.nice);
      if (!Number.isInteger(nice) || nice < -20 || nice > 0) throw usage(`--nice takes an integer from -20 to 0, not '${opts.nice}'`);
      // As corosync runs at a real-time priority: a host busy with other work
      // must not starve the process that passes totem's token (a late token
      // is a lost node). Agents are put back at the normal priority.
      let agentPrefix: string[] | undefined;
      if (nice < 0) {
        try {
          setPriority(nice);
          agentPrefix = ['nice', '-n', String(-nice)];
        } catch (err) {
          log(`cannot raise belayd's priority to nice ${nice} (${(err as Error).message}); running at the normal priority`);
        }
      }
      const daemon = new Belayd(config, self, {
        transport: new TotemTransport(config, self.id, key, log),
        // Agents that call crm_attribute (Pacemaker's Stateful sets its
        // promotion score so) find belay's, which talks to this belayd.
        executor: new Executor({ ...(agentPrefix ? { prefix: agentPrefix } : {}), baseEnv: { HA_SBIN_DIR: BELAY_BIN } }),
        // Off the event loop that carries totem.
        schedule: new SchedulerThread(log),
        log,
      });
      await daemon.start();
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve);
        process.once('SIGINT', resolve);
      });
      // A second signal while resources are being moved away: stop now.
      const now = () => void daemon.stop().then(() => process.exit(0));
      process.once('SIGTERM', now);
      process.once('SIGINT', now);
      await daemon.shutdown();
    });

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
