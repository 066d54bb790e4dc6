/**
 * `crm_attribute`, as Pacemaker's, against the local belayd: what resource
 * agents call to set their promotion score (`crm_attribute --promotion -v
 * 10`, Pacemaker's own ocf:pacemaker:Stateful does) and what scripts call to
 * read or set a node attribute. belayd runs agents with HA_SBIN_DIR pointing
 * at belay's bin/, so an agent finds this one rather than Pacemaker's.
 */
import { adminCall } from '../admin/socket.js';
import type { Cib } from '../cib/model.js';

const USAGE = `usage: crm_attribute [-N NODE] -n NAME (-v VALUE | -D | -G) [-l reboot|forever] [-q]
       crm_attribute -p [RSC] (-v SCORE | -D | -G) [-N NODE] [-q]
  -p, --promotion [RSC]  the promotion score of RSC (default: OCF_RESOURCE_INSTANCE),
                         a transient attribute master-RSC of this node
  -l, --lifetime         reboot (status section, gone when the node restarts) or forever
  -t, --type             status (= -l reboot) or nodes (= -l forever)
`;

interface Parsed {
  node?: string;
  name?: string;
  value?: string;
  op?: 'set' | 'delete' | 'query';
  lifetime?: 'reboot' | 'forever';
  promotion?: string | true;
  quiet: boolean;
}

function parse(argv: string[]): Parsed {
  const out: Parsed = { quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`crm_attribute: ${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-N':
      case '--node':
        out.node = value();
        break;
      case '-n':
      case '--name':
        out.name = value();
        break;
      case '-v':
      case '--update':
        out.value = value();
        out.op = 'set';
        break;
      case '-D':
      case '--delete':
        out.op = 'delete';
        break;
      case '-G':
      case '--query':
        out.op = 'query';
        break;
      case '-q':
      case '--quiet':
        out.quiet = true;
        break;
      case '-l':
      case '--lifetime': {
        const v = value();
        if (v !== 'reboot' && v !== 'forever') throw new Error(`crm_attribute: --lifetime is reboot or forever, not '${v}'`);
        out.lifetime = v;
        break;
      }
      case '-t':
      case '--type': {
        const v = value();
        if (v === 'status') out.lifetime = 'reboot';
        else if (v === 'nodes') out.lifetime = 'forever';
        else throw new Error(`crm_attribute: --type is status or nodes here, not '${v}'`);
        break;
      }
      case '-p':
      case '--promotion': {
        const next = inline ?? argv[i + 1];
        if (next !== undefined && !next.startsWith('-')) {
          out.promotion = next;
          if (inline === undefined) i++;
        } else out.promotion = true;
        break;
      }
      case '-h':
      case '--help':
        process.stdout.write(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`crm_attribute: unknown option '${a}'\n${USAGE}`);
    }
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let p: Parsed;
  try {
    p = parse(argv);
    if (p.promotion !== undefined) {
      // Pacemaker's name for a promotion score: master-<resource>, the clone
      // instance number stripped, in the status section.
      const rsc = p.promotion === true ? process.env['OCF_RESOURCE_INSTANCE'] : p.promotion;
      if (!rsc) throw new Error('crm_attribute: --promotion needs a resource (or OCF_RESOURCE_INSTANCE)');
      p.name = `master-${rsc.replace(/:\d+$/, '')}`;
      p.lifetime ??= 'reboot';
    }
    if (!p.name) throw new Error(`crm_attribute: give -n NAME (or -p)\n${USAGE}`);
    if (!p.op) throw new Error(`crm_attribute: give -v VALUE, -D or -G\n${USAGE}`);
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const socket = process.env['BELAY_ADMIN_SOCKET'] || '/run/belay/admin.sock';
  try {
    const status = (await adminCall(socket, 'status')) as { node: { name: string }; cib: Cib };
    // Pacemaker's agents pass their node as OCF_RESKEY_CRM_meta_on_node; else this host.
    const node = p.node ?? process.env['OCF_RESKEY_CRM_meta_on_node'] ?? status.node.name;
    const lifetime = p.lifetime ?? 'forever';
    if (p.op === 'query') {
      const value = queryAttribute(status.cib, node, p.name, lifetime);
      if (value === undefined) {
        process.stderr.write(`crm_attribute: no attribute ${p.name} on node ${node} (${lifetime === 'reboot' ? 'status' : 'nodes'})\n`);
        return 105; // CRM_EX_NOSUCH
      }
      process.stdout.write(p.quiet ? `${value}\n` : `scope=${lifetime === 'reboot' ? 'status' : 'nodes'}  name=${p.name} value=${value}\n`);
      return 0;
    }
    await adminCall(socket, 'attr', { node, name: p.name, value: p.op === 'set' ? p.value : null, lifetime });
    return 0;
  } catch (err) {
    process.stderr.write(`crm_attribute: ${(err as Error).message}\n`);
    return 1;
  }
}

function queryAttribute(cib: Cib, node: string, name: string, lifetime: 'reboot' | 'forever'): string | undefined {
  if (lifetime === 'reboot') {
    const ns = cib.status?.find((s) => s.uname === node);
    for (const set of ns?.transientAttributes ?? []) for (const nv of set.nvpairs) if (nv.name === name) return nv.value;
    return undefined;
  }
  const n = cib.configuration.nodes.find((x) => x.uname === node);
  for (const set of n?.instanceAttributes ?? []) for (const nv of set.nvpairs) if (nv.name === name) return nv.value;
  return undefined;
}
