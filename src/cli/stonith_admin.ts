/**
 * stonith_admin, as Pacemaker's: ask the cluster's fencer (the local belayd)
 * to fence a node, confirm one down by hand, list fence devices, show the
 * fencing history. Everything goes through the admin socket; the cluster
 * decides which node runs which device.
 */
import { adminSocketPath } from './crm-cibfile.js';
import { fenceEventText } from '../status/fencing.js';
import type { FenceEvent } from '../fencing/history.js';

const USAGE = `Usage: stonith_admin <command> [<options>]

Commands:
  -B, --reboot=NODE         Fence NODE (reboot)
  -F, --fence=NODE          Fence NODE (power it off)
  -U, --unfence=NODE        Unfence NODE (power it on)
  -C, --confirm=NODE        Confirm that NODE is down (it was fenced by hand; be sure!)
  -L, --list-registered     List the fence devices of the cluster
  -l, --list=NODE           List the devices that can fence NODE
  -H, --history=NODE        Show the fencing history of NODE ('*' for all nodes)
  -I, --list-installed      List the fence agents installed here

Options:
  -t, --timeout=SECONDS     How long to wait for the outcome (default: stonith-timeout per device, at least 120)
  -h, --help                This text
`;

interface Args {
  cmd?: 'reboot' | 'off' | 'on' | 'confirm' | 'list-registered' | 'list' | 'history' | 'list-installed';
  target?: string;
  timeoutS?: number;
}

const LONG: Record<string, { cmd: NonNullable<Args['cmd']>; arg: boolean }> = {
  reboot: { cmd: 'reboot', arg: true },
  fence: { cmd: 'off', arg: true },
  unfence: { cmd: 'on', arg: true },
  confirm: { cmd: 'confirm', arg: true },
  'list-registered': { cmd: 'list-registered', arg: false },
  list: { cmd: 'list', arg: true },
  history: { cmd: 'history', arg: true },
  'list-installed': { cmd: 'list-installed', arg: false },
};
const SHORT: Record<string, string> = { B: 'reboot', F: 'fence', U: 'unfence', C: 'confirm', L: 'list-registered', l: 'list', H: 'history', I: 'list-installed' };

class UsageError extends Error {}

function parse(argv: string[]): Args | 'help' {
  const a: Args = {};
  const set = (name: string, value: () => string | undefined) => {
    const spec = LONG[name];
    if (!spec) throw new UsageError(`stonith_admin: unknown option '${name}'`);
    if (a.cmd) throw new UsageError('stonith_admin: one command at a time');
    a.cmd = spec.cmd;
    if (spec.arg) {
      const v = value();
      if (v === undefined || v === '') throw new UsageError(`stonith_admin: --${name} needs a node name`);
      a.target = v;
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help' || arg === '-?') return 'help';
    if (arg === '-V' || arg === '--verbose' || arg === '-q' || arg === '--quiet') continue;
    let m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (m) {
      const [, name, inline] = m;
      if (name === 'timeout') {
        a.timeoutS = Number(inline ?? argv[++i]);
        continue;
      }
      set(name!, () => inline ?? argv[++i]);
      continue;
    }
    m = /^-([A-Za-z])(.*)$/.exec(arg);
    if (!m) throw new UsageError(`stonith_admin: unexpected argument '${arg}'`);
    const [, c, rest] = m;
    if (c === 't') {
      a.timeoutS = Number(rest || argv[++i]);
      continue;
    }
    const name = SHORT[c!];
    if (!name) throw new UsageError(`stonith_admin: unknown option '-${c}'`);
    set(name, () => rest || argv[++i]);
  }
  if (a.timeoutS !== undefined && !(a.timeoutS > 0)) throw new UsageError('stonith_admin: --timeout needs a number of seconds');
  return a;
}

export async function main(argv: string[]): Promise<number> {
  let a: Args | 'help';
  try {
    a = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`${err.message}\n`);
    return 64;
  }
  if (a === 'help' || !a.cmd) {
    process.stdout.write(USAGE);
    return a === 'help' ? 0 : 64;
  }
  if (a.cmd === 'list-installed') {
    const { listFenceAgents } = await import('../fencing/agent.js');
    const agents = listFenceAgents();
    for (const name of agents) process.stdout.write(` ${name}\n`);
    process.stdout.write(`${agents.length} fence device${agents.length === 1 ? '' : 's'} found\n`);
    return 0;
  }
  const { adminCall } = await import('../admin/socket.js');
  const call = (cmd: string, args: Record<string, unknown>, timeoutMs = 30_000) => adminCall(adminSocketPath(), cmd, args, { timeoutMs });
  try {
    switch (a.cmd) {
      case 'reboot':
      case 'off':
      case 'on': {
        const timeoutMs = a.timeoutS !== undefined ? a.timeoutS * 1000 : 0;
        // The daemon waits for the outcome; give it room beyond its own limit.
        await call('fence', { target: a.target, action: a.cmd, client: `stonith_admin.${process.pid}`, timeoutMs }, timeoutMs > 0 ? timeoutMs + 5_000 : 15 * 60_000);
        return 0;
      }
      case 'confirm':
        await call('fence-confirm', { target: a.target, client: `stonith_admin.${process.pid}` });
        return 0;
      case 'list-registered':
      case 'list': {
        const r = (await call('fence-devices', a.cmd === 'list' ? { target: a.target } : {}, 120_000)) as { devices: string[] };
        for (const d of r.devices) process.stdout.write(` ${d}\n`);
        process.stdout.write(`${r.devices.length} fence device${r.devices.length === 1 ? '' : 's'} found\n`);
        return 0;
      }
      case 'history': {
        const r = (await call('fence-history', { target: a.target })) as { history: FenceEvent[] };
        if (r.history.length === 0) return 0;
        process.stdout.write('Fencing History:\n');
        const oldestFirst = [...r.history].reverse();
        for (const e of r.history) {
          const later = oldestFirst.slice(oldestFirst.indexOf(e) + 1).find((x) => x.target === e.target && x.state === 'done')?.executioner;
          process.stdout.write(`  * ${fenceEventText(e, true, later)}\n`);
        }
        return 0;
      }
    }
  } catch (err) {
    process.stderr.write(`stonith_admin: Command failed: ${(err as Error).message}\n`);
    return 1;
  }
  return 0;
}
