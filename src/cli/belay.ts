/**
 * `belay`: everything that is not crm / crm_mon / crm_simulate. Each piece
 * registers its own subcommands from its own file, so the pieces stay apart.
 */
import { Command } from 'commander';
import { registerAgentCommands } from './belay-agent.js';
import { registerDaemonCommands } from './belay-daemon.js';
import { registerKeepalivedCommands } from './belay-keepalived.js';
import { registerLabCommands } from './belay-lab.js';
import { registerLvsCommands } from './belay-lvs.js';
import { registerRingCommands } from './belay-ring.js';
import { registerWebCommands } from './belay-web.js';
import { registerSimCommands } from './belay-sim.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('belay')
    .description('belay: cluster resource manager with a built-in VRRP engine')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerRingCommands(program);
  registerDaemonCommands(program);
  registerAgentCommands(program);
  registerKeepalivedCommands(program);
  registerLvsCommands(program);
  registerWebCommands(program);
  registerLabCommands(program);
  registerSimCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    const e = err as { exitCode?: number; code?: string; message?: string };
    // commander has printed its own usage errors already.
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 2;
    process.stderr.write(`belay: ${e.message ?? String(err)}\n`);
    return typeof e.exitCode === 'number' ? e.exitCode : 1;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
