/**
 * fence_belay_lab: the fence agent of `belay lab`'s power switch, as
 * fence_virsh is one for libvirt's virtual machines. It speaks the
 * fence-agents protocol (options on the command line or key=value lines on
 * stdin; `metadata`; exit 0 success, 1 failure, 2 for `status` of a plug
 * that is off) and asks the lab's power switch (src/lab/power-switch.ts)
 * over the socket the lab gives every cluster node. With no parameters it
 * finds the switch and its own key where the lab put them.
 *
 * Launched by agents/fence/fence_belay_lab.
 */
import { readFileSync, existsSync } from 'node:fs';
import { hostname } from 'node:os';
import {
  FenceUsageError, isTrue, parseFenceInput, renderFenceMetadata, renderFenceUsage, type FenceAgentDescription,
} from '../fencing/agent-protocol.js';
import { callPowerSwitch, HOST_KEY_IN_HOST, SWITCH_SOCKET_IN_HOST, type SwitchAction, type SwitchReply } from '../lab/power-switch.js';

export const AGENT_NAME = 'fence_belay_lab';
const VERSION = '1.0';

export const DESCRIPTION: FenceAgentDescription = {
  name: AGENT_NAME,
  shortdesc: 'Fence agent for the power switch of a belay lab',
  longdesc:
    'fence_belay_lab powers the machines of a belay lab (belay lab up) off, on, or cycles them, through the lab\'s power switch, ' +
    'as fence_virsh does to virtual machines. Powering a lab host off kills every process on it at once and unplugs its link; ' +
    'on boots it, and its belayd starts again. Run inside a lab cluster node it needs no parameters: the switch\'s socket and the ' +
    'node\'s own key are where the lab put them, and list names the lab\'s cluster nodes.',
  vendorUrl: 'https://github.com/belay',
  options: [
    { name: 'action', short: 'o', long: 'action', arg: 'action', type: 'string', default: 'reboot', shortdesc: 'Fencing action' },
    { name: 'plug', short: 'n', long: 'plug', arg: 'id', type: 'string', shortdesc: 'The lab host to power (a cluster node name)', aliases: ['port'] },
    { name: 'nodename', long: 'nodename', arg: 'name', type: 'string', shortdesc: 'The node to fence, as the cluster names it (used when no plug is given)' },
    { name: 'socket', long: 'socket', arg: 'path', type: 'string', default: SWITCH_SOCKET_IN_HOST, shortdesc: "The lab power switch's unix socket" },
    { name: 'key_file', long: 'key-file', arg: 'path', type: 'string', default: HOST_KEY_IN_HOST, shortdesc: "This host's key for the power switch" },
    { name: 'delay', long: 'delay', arg: 'seconds', type: 'second', default: '0', shortdesc: 'Wait X seconds before fencing is started' },
    { name: 'power_wait', long: 'power-wait', arg: 'seconds', type: 'second', default: '0', shortdesc: 'Wait X seconds after issuing ON/OFF (reboot: time the host stays off)' },
    { name: 'power_timeout', long: 'power-timeout', arg: 'seconds', type: 'second', default: '20', shortdesc: 'Wait at most X seconds for the switch to answer' },
    { name: 'verbose', short: 'v', long: 'verbose', type: 'boolean', shortdesc: 'Verbose mode' },
    { name: 'quiet', short: 'q', long: 'quiet', type: 'boolean', shortdesc: 'Disable logging to stderr' },
    { name: 'version', short: 'V', long: 'version', type: 'boolean', shortdesc: 'Display version information and exit' },
    { name: 'help', short: 'h', long: 'help', type: 'boolean', shortdesc: 'Display help and exit' },
  ],
  actions: ['on', 'off', 'reboot', 'status', 'list', 'list-status', 'monitor', 'metadata', 'validate-all'],
};

export interface AgentIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  readStdin: () => string;
  hostname: () => string;
}

const realIo: AgentIo = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  readStdin: () => {
    try {
      return readFileSync(0, 'utf8');
    } catch {
      return '';
    }
  },
  hostname,
};

/** Run the agent; returns its exit code. */
export async function runAgent(argv: string[], io: AgentIo = realIo): Promise<number> {
  let options: Record<string, string>;
  try {
    const parsed = parseFenceInput(DESCRIPTION, argv, argv.length ? undefined : io.readStdin());
    options = parsed.options;
    // fencing.py warns about what it ignores, unless quiet.
    if (!isTrue(options.quiet)) for (const w of parsed.warnings) io.stderr(`WARNING: ${w}\n`);
  } catch (e) {
    if (!(e instanceof FenceUsageError)) throw e;
    io.stderr(`ERROR: Failed: ${e.message}\nERROR: Please use '-h' for usage\n`);
    return 1;
  }
  const quiet = isTrue(options.quiet);
  const error = (msg: string) => {
    if (!quiet) io.stderr(`ERROR: ${msg}\n`);
    return 1;
  };
  if (isTrue(options.help)) {
    io.stdout(renderFenceUsage(DESCRIPTION));
    return 0;
  }
  if (isTrue(options.version)) {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const action = options.action!;
  if (action === 'metadata') {
    io.stdout(renderFenceMetadata(DESCRIPTION));
    return 0;
  }
  if (!DESCRIPTION.actions.includes(action)) return error(`Failed: Unrecognised action '${action}'`);
  const plug = options.plug ?? options.nodename;
  if (['on', 'off', 'reboot', 'status'].includes(action) && !plug) return error('Failed: You have to enter plug number or machine identification');

  let key: Buffer;
  try {
    key = Buffer.from(readFileSync(options.key_file!, 'utf8').trim(), 'hex');
    if (key.length < 16) throw new Error('too short');
  } catch (e) {
    return error(`Failed: cannot read this host's key for the lab power switch from ${options.key_file}: ${(e as Error).message} (is this a belay lab cluster node?)`);
  }
  if (action === 'validate-all') {
    if (!existsSync(options.socket!)) return error(`Failed: no lab power switch at ${options.socket}`);
    return 0;
  }

  const delay = Number(options.delay);
  if (delay > 0 && ['on', 'off', 'reboot'].includes(action)) await sleep(delay * 1000);
  const powerWaitMs = Math.round(Number(options.power_wait) * 1000);
  const timeoutMs = Math.round(Number(options.power_timeout) * 1000) + (action === 'reboot' ? powerWaitMs : 0);
  const switchAction: SwitchAction = action === 'list-status' ? 'list' : (action as SwitchAction);
  const req = { host: io.hostname(), action: switchAction, powerWaitMs: action === 'reboot' ? powerWaitMs : 0, ...(plug ? { plug } : {}) };
  if (isTrue(options.verbose)) io.stderr(`DEBUG: asking ${options.socket} as ${req.host}: ${switchAction}${plug ? ` ${plug}` : ''}\n`);
  const reply: SwitchReply = await callPowerSwitch(options.socket!, key, req, Math.max(timeoutMs, 1000));
  if (!reply.ok) {
    return error(action === 'monitor' || action === 'list' || action === 'list-status' ? `Failed: ${reply.error}` : `Failed: Unable to obtain correct plug status or plug is not available: ${reply.error}`);
  }
  switch (action) {
    case 'monitor':
      return 0;
    case 'list':
      for (const p of reply.plugs ?? []) io.stdout(`${p.plug},\n`);
      return 0;
    case 'list-status':
      for (const p of reply.plugs ?? []) io.stdout(`${p.plug},,${p.status.toUpperCase()}\n`);
      return 0;
    case 'status':
      io.stdout(`Status: ${(reply.status ?? 'unknown').toUpperCase()}\n`);
      return reply.status === 'off' ? 2 : 0;
    case 'on':
    case 'off':
      if (reply.status !== action) return error(`Failed: Timed out waiting to power ${action.toUpperCase()}`);
      if (powerWaitMs > 0 && !reply.message.startsWith('Already')) await sleep(powerWaitMs);
      io.stdout(`Success: ${reply.message}\n`);
      return 0;
    case 'reboot':
      // As fencing.py: the host is fenced once it went off; a failed power-on is logged, not a failure.
      if (reply.status !== 'on') io.stderr('ERROR: Timed out waiting to power ON\n');
      io.stdout('Success: Rebooted\n');
      return 0;
  }
  return error(`Failed: Unrecognised action '${action}'`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function main(argv: string[]): Promise<number> {
  return runAgent(argv);
}
