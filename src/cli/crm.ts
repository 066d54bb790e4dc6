/**
 * `crm`: crmsh-compatible front end. The first word picks the level
 * (configure, resource, ra); each level lives in its own file and is loaded
 * only when used, so that `crm configure show` starts fast.
 */
import { CibError } from '../cib/errors.js';

const USAGE = `usage: crm LEVEL COMMAND ...
levels:
  configure   show, edit and load the configuration (primitive, clone, group, ms,
              location, colocation, order, property, rsc_defaults, op_defaults,
              node, delete, show [xml], load replace|update FILE, verify)
  resource    status|start|stop|restart|move|ban|clear|cleanup|failcount|meta ...
  node        standby|online|maintenance|ready [NODE], attribute NODE set|delete|show NAME, list, show
  status      the cluster status (crm_mon -1)
  ra          resource agent information
With CIB_file=PATH set, crm works on that CIB file instead of a live cluster.
`;

/** crmsh's global options; belay accepts them and needs none of them. */
const GLOBAL_FLAGS = new Set(['-F', '--force', '-w', '--wait', '-d', '--debug', '-R', '--regression-tests', '-q', '--quiet', '-n', '--no', '-y', '--yes']);

export async function main(argv: string[]): Promise<number> {
  let i = 0;
  let script: string | undefined;
  let regression = false;
  while (i < argv.length) {
    const a = argv[i]!;
    if (a === '-f' || a === '--file') {
      script = argv[i + 1] ?? '-';
      i += 2;
    } else if (GLOBAL_FLAGS.has(a)) {
      if (a === '-R' || a === '--regression-tests') regression = true;
      i++;
    } else break;
  }
  if (script !== undefined || (i === argv.length && !process.stdin.isTTY && argv.length > 0)) {
    const { runScript } = await import('./crm-script.js');
    return runScript(script ?? '-', { regression });
  }
  const [level, ...rest] = argv.slice(i);
  return runLevel(level, rest);
}

/** One crm command: LEVEL and its arguments. */
export async function runLevel(level: string | undefined, rest: string[]): Promise<number> {
  try {
    switch (level) {
      case 'ra': {
        const { runRa } = await import('./crm-ra.js');
        return await runRa(rest);
      }
      case 'configure':
      case 'cib':
        return await (await import('./crm-configure.js')).runConfigure(rest);
      case 'resource':
        return await (await import('./crm-resource.js')).runResource(rest);
      case 'node':
        return await (await import('./crm-node.js')).runNode(rest);
      case 'status':
        // `crm status` is crm_mon's one-shot view.
        return await (await import('./crm_mon.js')).main(['-1', ...rest]);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        return level === undefined ? 1 : 0;
      default:
        process.stderr.write(`ERROR: crm: unknown level "${level}" (known: configure, resource, node, status, ra)\n`);
        return 1;
    }
  } catch (e) {
    if (e instanceof CibError) {
      process.stderr.write(`ERROR: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}
