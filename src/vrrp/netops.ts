/**
 * What the engine does to the host: add and remove VIPs (`ip addr`), send
 * gratuitous ARPs (`arping -U`), read link state, look up interface
 * addresses, run scripts with a timeout. Behind an interface so the engine
 * can be driven in tests without touching the host.
 */
import { Announcer } from './announce.js';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import type { Family } from './addr.js';
import type { VipSpec } from './types.js';

/** Time between the gratuitous ARPs of one announcement. */
export const GARP_SPACING_MS = 250;

export interface NetOps {
  addVip(vip: VipSpec): Promise<void>;
  delVip(vip: VipSpec): Promise<void>;
  /** use_vmac: create the macvlan (and keepalived's sysctls); returns what to undo. */
  createVmac?(v: { name: string; mac: string; base: string; family: Family }): Promise<() => Promise<void>>;
  /** An interface was deleted and made again under its name: forget what was cached about it. */
  interfacesChanged?(): void;
  /** Gratuitous ARP / unsolicited NA: `repeat` packets, `spacingMs` apart, each only while `stillHeld()`. */
  garp(vip: VipSpec, repeat: number, spacingMs?: number, stillHeld?: () => boolean): void;
  /** true/false, or undefined when the interface does not exist. */
  linkUp(ifname: string): boolean | undefined;
  interfaceAddress(ifname: string, family: Family): string | undefined;
  /** Kill helpers still running (arping) on exit. */
  close(): void;
}

export interface RunResult {
  ok: boolean;
  code: number | null;
  detail: string;
}

/** Run argv with a timeout; never throws, never blocks the event loop. */
export function runCommand(argv: string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env, cred?: { uid: number; gid: number }): Promise<RunResult> {
  return new Promise((resolve) => {
    if (argv.length === 0) {
      resolve({ ok: false, code: null, detail: 'empty command' });
      return;
    }
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', env, detached: true, ...(cred ? { uid: cred.uid, gid: cred.gid } : {}) });
    } catch (err) {
      resolve({ ok: false, code: null, detail: (err as Error).message });
      return;
    }
    let done = false;
    const finish = (r: RunResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      // Kill the whole process group: a shell script's children too.
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
      finish({ ok: false, code: null, detail: `timed out after ${timeoutMs} ms` });
    }, timeoutMs);
    child.once('error', (err) => finish({ ok: false, code: null, detail: err.message }));
    child.once('exit', (code, signal) =>
      finish({ ok: code === 0, code, detail: code === 0 ? 'exited with status 0' : signal ? `killed by ${signal}` : `exited with status ${code}` }),
    );
  });
}

async function ip(args: string[]): Promise<{ ok: boolean; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', (err) => resolve({ ok: false, stderr: err.message }));
    child.once('exit', (code) => resolve({ ok: code === 0, stderr: stderr.trim() }));
  });
}

const SENTINEL_DEV = 'belay-sentinel-none';

/**
 * One long-lived `ip -force -batch -`: a VIP change costs a pipe write
 * instead of a process start (≈0.5 ms instead of 3–50 ms on a busy host),
 * which is most of a takeover's own latency. After each command a sentinel
 * (a `link show` of a device that does not exist) fails on stderr, so the
 * command's own error, if any, comes before it on the same stream.
 */
export class IpBatch {
  private child: ChildProcess | null = null;
  private line = 0;
  private errText = '';
  private readonly waiting = new Map<number, { cmdLine: number; error: string | null; resolve: (r: { ok: boolean; stderr: string }) => void }>();
  private readonly cmdErrors = new Map<number, string>();

  private ensure(): ChildProcess | null {
    if (this.child && this.child.exitCode === null && !this.child.killed) return this.child;
    try {
      const child = spawn('ip', ['-force', '-batch', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      this.line = 0;
      this.errText = '';
      child.stderr!.on('data', (d: Buffer) => this.onStderr(d.toString()));
      child.once('exit', () => this.failAll('ip -batch exited'));
      child.once('error', () => this.failAll('ip -batch failed to start'));
      child.stdin!.on('error', () => this.failAll('ip -batch stdin closed'));
      this.child = child;
      return child;
    } catch {
      return null;
    }
  }

  private onStderr(text: string): void {
    this.errText += text;
    let m: RegExpExecArray | null;
    const re = /Command failed -:(\d+)\n/;
    while ((m = re.exec(this.errText))) {
      const before = this.errText.slice(0, m.index).trim();
      this.errText = this.errText.slice(m.index + m[0].length);
      const n = Number(m[1]);
      const w = this.waiting.get(n);
      if (w) {
        this.waiting.delete(n);
        const err = this.cmdErrors.get(w.cmdLine) ?? null;
        this.cmdErrors.delete(w.cmdLine);
        w.resolve({ ok: err === null, stderr: err ?? '' });
      } else {
        this.cmdErrors.set(n, before);
      }
    }
  }

  private failAll(why: string): void {
    for (const w of this.waiting.values()) w.resolve({ ok: false, stderr: why });
    this.waiting.clear();
    this.child = null;
  }

  /** Run one `ip` command (argv without the leading "ip"); null when batch mode is unavailable. */
  run(args: string[]): Promise<{ ok: boolean; stderr: string }> | null {
    if (args.some((a) => /[\s"'\\#]/.test(a) || a === '')) return null; // not batch-safe: let the caller spawn
    const child = this.ensure();
    if (!child) return null;
    const cmdLine = ++this.line;
    const sentinel = ++this.line;
    return new Promise((resolve) => {
      this.waiting.set(sentinel, { cmdLine, error: null, resolve });
      child.stdin!.write(`${args.join(' ')}\nlink show dev ${SENTINEL_DEV}\n`);
    });
  }

  close(): void {
    if (this.child) {
      this.child.stdin!.end();
      this.child.kill('SIGTERM');
      this.child = null;
    }
  }
}

export class IpNetOps implements NetOps {
  private helpers = new Set<ChildProcess>();
  private garpTimers = new Set<NodeJS.Timeout>();
  private batch = new IpBatch();
  private readonly announcer = new Announcer();
  private nativeFailed = false;
  /** The base interfaces' sysctls, restored when the last VMAC on that base goes (a reload may remove one of several). */
  private readonly vmacBases = new Map<string, { users: number; restore: [string, string][] }>();

  constructor(private readonly log: (line: string) => void = () => {}) {}

  private ip(args: string[]): Promise<{ ok: boolean; stderr: string }> {
    return this.batch.run(args) ?? ip(args);
  }

  /** `ip -batch` caches interface indexes by name: a fresh one sees a re-made interface. */
  interfacesChanged(): void {
    this.batch.close();
    this.batch = new IpBatch();
  }

  async addVip(vip: VipSpec): Promise<void> {
    const args = ['addr', 'add', `${vip.address}/${vip.prefix}`, 'dev', vip.dev];
    if (vip.label) args.push('label', vip.label);
    if (vip.preferredLft !== undefined) args.push('preferred_lft', vip.preferredLft);
    if (vip.family === 6) args.push('nodad');
    const r = await this.ip(args);
    if (!r.ok && !/exists|already assigned/i.test(r.stderr)) this.log(`cannot add ${vip.address}/${vip.prefix} on ${vip.dev}: ${r.stderr}`);
  }

  async delVip(vip: VipSpec): Promise<void> {
    const r = await this.ip(['addr', 'del', `${vip.address}/${vip.prefix}`, 'dev', vip.dev]);
    if (!r.ok && !/Cannot assign|not found|No such|Address not found/i.test(r.stderr)) this.log(`cannot remove ${vip.address}/${vip.prefix} from ${vip.dev}: ${r.stderr}`);
  }

  garp(vip: VipSpec, repeat: number, spacingMs = GARP_SPACING_MS, stillHeld: () => boolean = () => true): void {
    // One packet per announcement, spacingMs apart: a Linux client ignores a
    // new MAC for an address within `locktime` (1 s) of its last update, so
    // spaced announcements make sure one lands after that window.
    const send = () => {
      // A later packet of the series must not claim an address handed over meanwhile.
      if (!stillHeld()) return;
      try {
        this.announcer.announce(vip);
        return;
      } catch (err) {
        if (vip.family === 6) {
          this.log(`unsolicited neighbour advertisement for ${vip.address} on ${vip.dev} failed: ${(err as Error).message}`);
          return;
        }
        if (!this.nativeFailed) this.log(`gratuitous ARP socket: ${(err as Error).message}; falling back to arping`);
        this.nativeFailed = true;
      }
      const child = spawn('arping', ['-q', '-U', '-c', '1', '-I', vip.dev, vip.address], { stdio: 'ignore' });
      this.helpers.add(child);
      child.once('error', (err) => {
        this.helpers.delete(child);
        this.log(`arping failed: ${err.message} (install iputils-arping)`);
      });
      child.once('exit', () => this.helpers.delete(child));
    };
    send();
    for (let i = 1; i < Math.max(1, repeat); i++) {
      const t = setTimeout(() => {
        this.garpTimers.delete(t);
        send();
      }, i * spacingMs);
      this.garpTimers.add(t);
    }
  }

  linkUp(ifname: string): boolean | undefined {
    try {
      const carrier = readFileSync(`/sys/class/net/${ifname}/carrier`, 'utf8').trim();
      return carrier === '1';
    } catch (err) {
      // carrier is unreadable while the interface is administratively down.
      try {
        readFileSync(`/sys/class/net/${ifname}/operstate`, 'utf8');
        return false;
      } catch {
        return undefined;
      }
    }
  }

  async createVmac(v: { name: string; mac: string; base: string; family: Family }): Promise<() => Promise<void>> {
    const sysctl = (key: string, value?: string): string | undefined => {
      const file = `/proc/sys/${key.replace(/\./g, '/')}`;
      try {
        const old = readFileSync(file, 'utf8').trim();
        if (value !== undefined) writeFileSync(file, value);
        return old;
      } catch {
        return undefined;
      }
    };
    // An interface left over from a killed run with the same name is reused if its MAC matches.
    let created = false;
    let r = await ip(['link', 'add', 'link', v.base, 'name', v.name, 'address', v.mac, 'type', 'macvlan', 'mode', 'private']);
    if (r.ok) created = true;
    else if (!/exists/i.test(r.stderr)) throw new Error(`use_vmac: cannot create ${v.name} on ${v.base}: ${r.stderr}`);
    const base = this.vmacBases.get(v.base) ?? { users: 0, restore: [] };
    this.vmacBases.set(v.base, base);
    base.users++;
    const set = (key: string, value: string, restore?: [string, string][]) => {
      const old = sysctl(key, value);
      if (restore && old !== undefined && old !== value) restore.push([key, old]);
    };
    if (v.family === 4) {
      // keepalived's settings: the base answers ARP only for its own addresses,
      // the VMAC accepts adverts from local addresses and does no reverse-path filtering.
      set(`net.ipv4.conf.${v.base}.arp_ignore`, '1', base.restore);
      set(`net.ipv4.conf.${v.base}.arp_filter`, '1', base.restore);
      // ARP requests leaving the base carry the base's own address, never a VIP
      // (else neighbours would learn the VIP at the base's MAC).
      set(`net.ipv4.conf.${v.base}.arp_announce`, '2', base.restore);
      // The VMAC's own settings go with it.
      set(`net.ipv4.conf.${v.name}.arp_ignore`, '1');
      set(`net.ipv4.conf.${v.name}.accept_local`, '1');
      set(`net.ipv4.conf.${v.name}.rp_filter`, '0');
    }
    let undone = false;
    const undo = async () => {
      if (undone) return;
      undone = true;
      if (created) await ip(['link', 'del', v.name]);
      if (--base.users === 0) {
        for (const [key, old] of base.restore.reverse()) sysctl(key, old);
        this.vmacBases.delete(v.base);
      }
    };
    r = await ip(['link', 'set', v.name, 'up']);
    if (!r.ok) {
      // Leave nothing half made behind (e.g. another macvlan already has this MAC).
      await undo();
      throw new Error(`use_vmac: cannot bring ${v.name} up: ${r.stderr}`);
    }
    return undo;
  }

  /** Every address configured on this host (its network namespace). */
  localAddresses(): string[] {
    try {
      const out = execFileSync('ip', ['-j', 'addr', 'show'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const data = JSON.parse(out) as { addr_info?: { local?: string }[] }[];
      return data.flatMap((d) => (d.addr_info ?? []).map((a) => a.local ?? '')).filter(Boolean);
    } catch {
      return [];
    }
  }

  interfaceAddress(ifname: string, family: Family): string | undefined {
    try {
      const out = execFileSync('ip', ['-j', `-${family}`, 'addr', 'show', 'dev', ifname], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const data = JSON.parse(out) as { addr_info?: { local?: string; scope?: string; secondary?: boolean }[] }[];
      const infos = data.flatMap((d) => d.addr_info ?? []);
      const primary = infos.find((a) => !a.secondary && (family === 4 || a.scope === 'link')) ?? infos[0];
      return primary?.local;
    } catch {
      return undefined;
    }
  }

  close(): void {
    for (const t of this.garpTimers) clearTimeout(t);
    this.garpTimers.clear();
    for (const c of this.helpers) c.kill('SIGKILL');
    this.helpers.clear();
    this.batch.close();
    this.announcer.close();
  }
}
