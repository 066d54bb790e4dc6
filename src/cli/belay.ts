/**
 * `belay`: everything that is not crm / crm_mon / crm_simulate. Each piece
 * registers its own subcommands from its own file, so the pieces stay apart.
 */
import { Command } from 'commander';
import { registerAgentCommands } from './belay-agent.js';
import { registerKeepalivedCommands } from './belay-keepalived.js';
import { registerRingCommands } from './belay-ring.js';

export async function main(argv: string[]): Promise<number> {
  const program = new Command('belay')
    .description('belay: cluster resource manager with a built-in VRRP engine')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
  registerRingCommands(program);
  registerAgentCommands(program);
  registerKeepalivedCommands(program);
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (err) {
    const code = (err as { exitCode?: number }).exitCode;
    if (typeof code === 'number') return code;
    throw err;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
