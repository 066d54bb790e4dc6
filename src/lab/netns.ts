/**
 * Hosts in network namespaces on one machine: the test bed for everything
 * that crosses a network (VRRP, agents that add addresses, the cluster).
 *
 * Layout: one namespace holds a bridge (the "switch"); each host is its own
 * namespace with an `eth0` whose peer is plugged into that bridge. Nothing is
 * ever added to the root namespace, so no test address leaks onto the host.
 * A host "crash" kills every process in its namespace (`ip netns pids`) and
 * unplugs its cable; only namespaces made here are touched.
 */
import { execFileSync, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { execa, type Options as ExecaOptions, type Result } from 'execa';

/** Default lab subnet: the benchmarking range, never routed anywhere. */
export const LAB_SUBNET = '198.18.0';
export const LAB_PREFIX_LEN = 24;

export interface LabHost {
  name: string;
  netns: string;
  /** Interface inside the host namespace. */
  ifname: string;
  /** Host address without prefix length, e.g. 198.18.0.11. */
  address: string;
  /** Bridge-side veth name (in the bridge namespace). */
  bridgePort: string;
}

export interface LabOptions {
  /** First three octets of the lab's /24 (default 198.18.0). */
  subnet?: string;
  /** Short tag that goes into namespace names (default: process id). */
  tag?: string;
  /**
   * A fixed lab id (namespace prefix) for a lab that outlives this process,
   * such as `belay lab up`; re-attach to it with Lab.attach(). Default: a
   * unique id, and the lab is destroyed when this process exits.
   */
  id?: string;
}

/** What Lab.attach needs to find a lab made by another process. */
export interface LabDescription {
  id: string;
  subnet: string;
  hosts: LabHost[];
}

let labCounter = 0;
const liveLabs = new Set<Lab>();
let exitHookInstalled = false;

/** Throws a clear error unless running as root with `ip` available. */
export function requireNetnsSupport(what = 'this test'): void {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`${what} needs root to create network namespaces (run as root, as CI does)`);
  }
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${what} needs the 'ip' command (Debian package iproute2)`);
  }
}

/** Throws a clear error unless the given commands are installed. */
export function requireCommands(what: string, commands: Record<string, string>): void {
  for (const [cmd, pkg] of Object.entries(commands)) {
    try {
      execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' });
    } catch {
      throw new Error(`${what} needs '${cmd}' (Debian package ${pkg}); install it or run npm test as root`);
    }
  }
}

export class Lab {
  readonly id: string;
  readonly subnet: string;
  readonly bridgeNetns: string;
  readonly hosts = new Map<string, LabHost>();
  private readonly children = new Set<ChildProcess>();
  private nextOctet = 11;
  private destroyed = false;

  private constructor(id: string, subnet: string) {
    this.id = id;
    this.subnet = subnet;
    this.bridgeNetns = `${id}-sw`;
  }

  /** Make the switch namespace with its bridge. */
  static async create(options: LabOptions = {}): Promise<Lab> {
    requireNetnsSupport('the lab');
    const tag = options.tag ?? String(process.pid);
    if (options.id !== undefined && !/^[a-z0-9][a-z0-9-]{0,15}$/i.test(options.id)) throw new Error(`bad lab id: ${options.id}`);
    // BELAY_LAB_PREFIX: namespace names of their own when several test runs share a machine.
    const lab = new Lab(options.id ?? `${process.env.BELAY_LAB_PREFIX ?? 'bl'}${tag}x${labCounter++}`, options.subnet ?? LAB_SUBNET);
    if (options.id === undefined) {
      liveLabs.add(lab);
      installExitHook();
    }
    try {
      await ip(['netns', 'add', lab.bridgeNetns]);
      await ip(['-n', lab.bridgeNetns, 'link', 'set', 'lo', 'up']);
      await ip(['-n', lab.bridgeNetns, 'link', 'add', 'br0', 'type', 'bridge']);
      // No STP forwarding delay: ports forward as soon as they are up.
      await ip(['-n', lab.bridgeNetns, 'link', 'set', 'br0', 'type', 'bridge', 'forward_delay', '0', 'stp_state', '0']);
      await ip(['-n', lab.bridgeNetns, 'link', 'set', 'br0', 'up']);
    } catch (err) {
      await lab.destroy();
      throw err;
    }
    return lab;
  }

  /** Add a host plugged into the bridge; returns its description. */
  async addHost(name: string, options: { address?: string } = {}): Promise<LabHost> {
    if (this.hosts.has(name)) throw new Error(`lab host ${name} exists already`);
    if (!/^[a-z0-9][a-z0-9-]{0,15}$/i.test(name)) throw new Error(`bad lab host name: ${name}`);
    const index = this.hosts.size;
    const address = options.address ?? `${this.subnet}.${this.nextOctet++}`;
    const host: LabHost = {
      name,
      netns: `${this.id}-${name}`,
      ifname: 'eth0',
      address,
      bridgePort: `p${index}`,
    };
    await ip(['netns', 'add', host.netns]);
    this.hosts.set(name, host);
    await ip(['-n', host.netns, 'link', 'set', 'lo', 'up']);
    await ip(['-n', this.bridgeNetns, 'link', 'add', host.bridgePort, 'type', 'veth', 'peer', 'name', host.ifname, 'netns', host.netns]);
    await ip(['-n', this.bridgeNetns, 'link', 'set', host.bridgePort, 'master', 'br0', 'up']);
    await ip(['-n', host.netns, 'addr', 'add', `${address}/${LAB_PREFIX_LEN}`, 'dev', host.ifname]);
    await ip(['-n', host.netns, 'link', 'set', host.ifname, 'up']);
    return host;
  }

  /** Re-attach to a lab made by another process (see LabOptions.id). */
  static attach(description: LabDescription): Lab {
    const lab = new Lab(description.id, description.subnet);
    for (const h of description.hosts) lab.hosts.set(h.name, h);
    lab.nextOctet = 11 + description.hosts.length;
    return lab;
  }

  describe(): LabDescription {
    return { id: this.id, subnet: this.subnet, hosts: [...this.hosts.values()] };
  }

  host(name: string): LabHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no lab host named ${name}`);
    return h;
  }

  /** Run a command inside a host's namespace and wait for it. */
  async exec(hostName: string, argv: string[], options: ExecaOptions = {}): Promise<Result> {
    const host = this.host(hostName);
    return execa('ip', ['netns', 'exec', host.netns, ...argv], options) as Promise<Result>;
  }

  /**
   * Start a long-running process inside a host's namespace. `ip netns exec`
   * execs the command in place, so the returned child's pid is the process's.
   */
  spawn(hostName: string, argv: string[], options: SpawnOptions = {}): ChildProcess {
    const host = this.host(hostName);
    const child = spawn('ip', ['netns', 'exec', host.netns, ...argv], { stdio: 'ignore', ...options });
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    return child;
  }

  /** Pids of every process living in a host's namespace. */
  pids(hostName: string): number[] {
    return netnsPids(this.host(hostName).netns);
  }

  /** Kill every process of a host at once, as a power failure would. */
  killAll(hostName: string, signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const pid of this.pids(hostName)) {
      try {
        process.kill(pid, signal);
      } catch {
        /* already gone */
      }
    }
  }

  /** Unplug (down) or plug (up) a host's cable at the switch. */
  async setLink(hostName: string, up: boolean): Promise<void> {
    const host = this.host(hostName);
    await ip(['-n', this.bridgeNetns, 'link', 'set', host.bridgePort, up ? 'up' : 'down']);
  }

  /** A crash: every process killed and the link down, as a dead machine. */
  async crash(hostName: string): Promise<void> {
    await this.setLink(hostName, false);
    this.killAll(hostName);
  }

  /** Kill everything started in the lab and delete its namespaces. Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    destroyLabSync(this);
    liveLabs.delete(this);
  }

  /** For the exit hook: namespaces this lab made. */
  namespaces(): string[] {
    return [...[...this.hosts.values()].map((h) => h.netns), this.bridgeNetns];
  }

  trackedChildren(): ChildProcess[] {
    return [...this.children];
  }
}

async function ip(args: string[]): Promise<void> {
  try {
    await execa('ip', args);
  } catch (err) {
    const e = err as { stderr?: string; shortMessage?: string };
    throw new Error(`ip ${args.join(' ')}: ${(e.stderr || e.shortMessage || String(err)).trim()}`);
  }
}

function netnsPids(netns: string): number[] {
  try {
    const out = execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' });
    return out
      .split(/\s+/)
      .filter(Boolean)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Synchronous teardown, safe to call from an exit handler. */
function destroyLabSync(lab: Lab): void {
  for (const child of lab.trackedChildren()) {
    if (child.pid !== undefined && child.exitCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of lab.namespaces()) {
    for (const pid of netnsPids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of lab.namespaces()) {
    try {
      execFileSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    } catch {
      /* never made, or gone */
    }
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const lab of liveLabs) destroyLabSync(lab);
  });
}
