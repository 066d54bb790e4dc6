/**
 * `crm`: crmsh-compatible front end. The first word picks the level
 * (configure, resource, node, ra, status); each level lives in its own file.
 */
import { runRa } from './crm-ra.js';

export async function main(argv: string[]): Promise<number> {
  const [level, ...rest] = argv;
  switch (level) {
    case 'ra':
      return runRa(rest);
    default:
      process.stderr.write(`crm: unknown level: ${level ?? '(none)'}\n`);
      return 2;
  }
}
