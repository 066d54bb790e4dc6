/**
 * The Keepalived way in a lab: nginx load balancers in network namespaces,
 * `belay keepalived` (or stock keepalived) holding the VIP, and a client
 * polling the VIP over HTTP every 10 ms. Used by the VRRP namespace tests,
 * the failover benchmark (bench/vrrp-failover.mjs) and the demo
 * (`runKeepalivedDemo`, wired into `npm run demo` by the lead).
 */
import type { ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Lab, requireCommands } from './netns.js';
import { HttpPoller } from './poller.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** bin/belay of this checkout (dist/lab -> ../../bin). */
export const BELAY_BIN = path.resolve(here, '..', '..', 'bin', 'belay');
export const STOCK_KEEPALIVED = '/usr/sbin/keepalived';

export function requireKeepalivedLab(what: string): void {
  requireCommands(what, { ip: 'iproute2', nginx: 'nginx', arping: 'iputils-arping', curl: 'curl' });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function waitFor<T>(fn: () => Promise<T | null | undefined | false> | T | null | undefined | false, timeoutMs: number, what: string, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** A working directory for one lab run, removed by `cleanup`. */
export function makeWorkDir(prefix = 'belay-ka-'): string {
  return mkdtempSync(path.join(tmpdir(), prefix));
}

export interface NginxHandle {
  child: ChildProcess;
  dir: string;
  pidFile: string;
}

/**
 * nginx in the foreground inside a lab host, its own config, pid and logs;
 * answers "<host>\n" on port 80, and on [::]:80 with `ipv6` (only when
 * asked: a namespace may have IPv6 off).
 */
export function startNginx(lab: Lab, host: string, workDir: string, opts: { ipv6?: boolean } = {}): NginxHandle {
  const dir = path.join(workDir, `nginx-${host}`);
  mkdirSync(path.join(dir, 'html'), { recursive: true });
  writeFileSync(path.join(dir, 'html', 'index.html'), `${host}\n`);
  const pidFile = path.join(dir, 'nginx.pid');
  const conf = `
daemon off;
master_process on;
worker_processes 1;
user root;
pid ${pidFile};
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_timeout 0;
  server {
    listen 80;${opts.ipv6 ? '\n    listen [::]:80 ipv6only=on;' : ''}
    root ${dir}/html;
    location / { default_type text/plain; }
  }
}
`;
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child = lab.spawn(host, ['nginx', '-c', path.join(dir, 'nginx.conf'), '-p', dir], { stdio: 'ignore' });
  return { child, dir, pidFile };
}

/** Kill nginx (master and workers) of a host: the "nginx died" failure the vrrp_script must see. */
export function killNginx(lab: Lab, host: string): void {
  for (const pid of lab.pids(host)) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx') process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** A check script as in the seeds: is nginx answering here? (exit 0 / 1). */
export function writeCheckScript(workDir: string): string {
  const file = path.join(workDir, 'check_nginx.sh');
  writeFileSync(file, '#!/bin/sh\nexec curl -s -o /dev/null --max-time 0.5 http://127.0.0.1/\n', { mode: 0o755 });
  return file;
}

/** A notify script that appends its arguments to a file. */
export function writeNotifyScript(workDir: string, logFile: string): string {
  const file = path.join(workDir, 'notify.sh');
  writeFileSync(file, `#!/bin/sh\necho "$*" >> ${logFile}\n`, { mode: 0o755 });
  return file;
}

export interface VrrpConfOptions {
  state: 'MASTER' | 'BACKUP';
  priority: number;
  advertInt: number;
  version?: 2 | 3;
  vip: string;
  vrid?: number;
  auth?: boolean;
  nopreempt?: boolean;
  checkScript?: { path: string; interval: number; weight: number; fall: number; rise: number };
  notify?: string;
  mcastSrcIp?: string;
}

/** keepalived.conf for one LB host (the Nginx+Keepalived seed's shape). */
export function keepalivedConf(o: VrrpConfOptions): string {
  const lines = ['global_defs {', `  router_id lb_${o.priority}`];
  if (o.version === 3) lines.push('  vrrp_version 3');
  lines.push('}');
  if (o.checkScript) {
    const c = o.checkScript;
    lines.push('vrrp_script chk_nginx {', `  script "${c.path}"`, `  interval ${c.interval}`, `  weight ${c.weight}`, `  fall ${c.fall}`, `  rise ${c.rise}`, '}');
  }
  lines.push('vrrp_instance VI_1 {', `  state ${o.state}`, '  interface eth0');
  if (o.mcastSrcIp) lines.push(`  mcast_src_ip ${o.mcastSrcIp}`);
  lines.push(`  virtual_router_id ${o.vrid ?? 51}`, `  priority ${o.priority}`, `  advert_int ${o.advertInt}`);
  if (o.nopreempt) lines.push('  nopreempt');
  if (o.auth !== false && o.version !== 3) lines.push('  authentication {', '    auth_type PASS', '    auth_pass 1111', '  }');
  lines.push('  virtual_ipaddress {', `    ${o.vip}/24 dev eth0 label eth0:1`, '  }');
  if (o.checkScript) lines.push('  track_script {', '    chk_nginx', '  }');
  if (o.notify) lines.push(`  notify ${o.notify}`);
  lines.push('}');
  return `${lines.join('\n')}\n`;
}

export type Daemon = 'belay' | 'keepalived';

export interface DaemonHandle {
  child: ChildProcess;
  logFile: string;
  statusFile: string;
}

/** Start `belay keepalived` or stock keepalived on a lab host with the given config file. */
export function startDaemon(lab: Lab, host: string, kind: Daemon, confFile: string, workDir: string): DaemonHandle {
  const logFile = path.join(workDir, `${kind}-${host}.log`);
  const statusFile = path.join(workDir, `${kind}-${host}.status.json`);
  const argv =
    kind === 'belay'
      ? [process.execPath, BELAY_BIN, 'keepalived', '-D', '-f', confFile, '--status-file', statusFile]
      : [
          STOCK_KEEPALIVED,
          '--dont-fork',
          '--log-console',
          '--no-syslog',
          '-f',
          confFile,
          '-p',
          path.join(workDir, `ka-${host}.pid`),
          '-r',
          path.join(workDir, `ka-vrrp-${host}.pid`),
          '-c',
          path.join(workDir, `ka-chk-${host}.pid`),
        ];
  const child = lab.spawn(host, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = createWriteStream(logFile, { flags: 'a' });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  return { child, logFile, statusFile };
}

export async function stopDaemon(h: DaemonHandle, timeoutMs = 5000): Promise<void> {
  if (h.child.exitCode !== null || h.child.signalCode !== null) return;
  const exited = new Promise<void>((r) => h.child.once('exit', () => r()));
  h.child.kill('SIGTERM');
  await Promise.race([exited, sleep(timeoutMs)]);
  if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGKILL');
}

/** Does the host have the VIP on its interface? */
export async function hasVip(lab: Lab, host: string, vip: string): Promise<boolean> {
  const r = await lab.exec(host, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0'], { reject: false });
  return String(r.stdout).includes(` ${vip}/`);
}

export async function vipHolders(lab: Lab, hosts: string[], vip: string): Promise<string[]> {
  const out: string[] = [];
  for (const h of hosts) if (await hasVip(lab, h, vip)) out.push(h);
  return out;
}

// ------------------------------------------------------------ the client

export interface PollRecord {
  t: number;
  ok: boolean;
  /** The host that answered: its page is its own name. */
  who: string;
}

/** The client of src/lab/poller.ts, read as "which LB host answered" (each nginx LB serves its own name). */
export class VipPoller {
  private readonly client: HttpPoller;

  constructor(lab: Lab, clientHost: string, vip: string, workDir: string, everyMs = 10, timeoutMs = 100) {
    this.client = new HttpPoller(lab, clientHost, `http://${vip}/`, workDir, everyMs, timeoutMs);
  }

  get records(): PollRecord[] {
    return this.client.answers.map((a) => ({ t: a.t, ok: a.ok, who: a.ok ? (a.page.split(' ')[0] ?? '') : '' }));
  }

  lastOk(): PollRecord | undefined {
    const records = this.records;
    for (let i = records.length - 1; i >= 0; i--) if (records[i]!.ok) return records[i];
    return undefined;
  }

  stop(): Promise<void> {
    return this.client.stop();
  }

  /**
   * The failover gap around `eventAt`: from the last request the old owner
   * answered to the first request the new owner answered, and how many
   * requests failed in between.
   */
  gap(eventAt: number, oldOwner: string): { gapMs: number; failed: number; newOwner: string } | null {
    const recs = this.records.sort((a, b) => a.t - b.t);
    const firstNew = recs.find((r) => r.t >= eventAt && r.ok && r.who !== oldOwner);
    if (!firstNew) return null;
    let lastOld: PollRecord | undefined;
    for (const r of recs) if (r.ok && r.who === oldOwner && r.t < firstNew.t) lastOld = r;
    if (!lastOld) return null;
    const failed = recs.filter((r) => r.t > lastOld!.t && r.t < firstNew.t && !r.ok).length;
    return { gapMs: firstNew.t - lastOld.t, failed, newOwner: firstNew.who };
  }
}

/** One character per bucket: the host that answered most (its last digit), '.' when none did. */
export function timeline(records: PollRecord[], from: number, to: number, bucketMs: number, markAt = from + 1000): string {
  let out = '';
  for (let b = from; b < to; b += bucketMs) {
    if (markAt >= b && markAt < b + bucketMs) out += '|';
    const inBucket = records.filter((r) => r.t >= b && r.t < b + bucketMs && r.ok);
    if (inBucket.length === 0) {
      out += '.';
      continue;
    }
    const counts = new Map<string, number>();
    for (const r of inBucket) counts.set(r.who, (counts.get(r.who) ?? 0) + 1);
    const top = [...counts].sort((x, y) => y[1] - x[1])[0]![0];
    out += top.slice(-1);
  }
  return out;
}

// ------------------------------------------------------------- the demo

export interface DemoOptions {
  /** Where to print (default: console.log). */
  print?: (line: string) => void;
  advertInt?: number;
}

/**
 * The issue's demo: two nginx load balancers (lb1 MASTER 101, lb2 BACKUP 100)
 * running `belay keepalived` with the Nginx+Keepalived seed's config, a client
 * polling the VIP every 10 ms, a crash of the master, who answered and the gap.
 * Needs root (network namespaces), nginx, arping, curl. Cleans up after itself.
 */
export async function runKeepalivedDemo(opts: DemoOptions = {}): Promise<number> {
  const print = opts.print ?? ((l: string) => console.log(l));
  requireKeepalivedLab('the keepalived demo');
  const lab = await Lab.create({ tag: `kd${process.pid}` });
  const work = makeWorkDir('belay-kademo-');
  const daemons: DaemonHandle[] = [];
  let poller: VipPoller | null = null;
  try {
    const lb1 = await lab.addHost('lb1');
    const lb2 = await lab.addHost('lb2');
    await lab.addHost('client');
    const vip = `${lab.subnet}.100`;
    print(`lab: lb1 ${lb1.address}, lb2 ${lb2.address}, client; VIP ${vip}`);
    const check = writeCheckScript(work);
    for (const [h, state, prio, addr] of [
      ['lb1', 'MASTER', 101, lb1.address],
      ['lb2', 'BACKUP', 100, lb2.address],
    ] as const) {
      startNginx(lab, h, work);
      const conf = path.join(work, `keepalived-${h}.conf`);
      writeFileSync(conf, keepalivedConf({ state, priority: prio, advertInt: opts.advertInt ?? 1, vip, mcastSrcIp: addr, checkScript: { path: check, interval: 2, weight: -5, fall: 3, rise: 2 } }));
      daemons.push(startDaemon(lab, h, 'belay', conf, work));
    }
    print('started nginx and `belay keepalived -f keepalived.conf` on lb1 (MASTER, priority 101) and lb2 (BACKUP, priority 100)');
    await waitFor(() => hasVip(lab, 'lb1', vip), 15000, 'lb1 to hold the VIP');
    print(`lb1 holds ${vip}`);
    poller = new VipPoller(lab, 'client', vip, work);
    await waitFor(() => poller!.lastOk()?.who === 'lb1', 5000, 'lb1 to answer on the VIP');
    await sleep(1000);
    print(`client: ${poller.records.filter((r) => r.ok).length} requests answered by lb1`);
    print('crash of lb1 (every process killed, link down)');
    const t = Date.now();
    await lab.crash('lb1');
    await waitFor(() => poller!.gap(t, 'lb1'), 15000, 'lb2 to answer on the VIP');
    await sleep(500); // requests still in flight land before we count
    const g = poller.gap(t, 'lb1')!;
    print(`client: lb2 answered after a gap of ${g.gapMs} ms (${g.failed} failed requests); VIP now on ${(await vipHolders(lab, ['lb2'], vip)).join(', ')}`);
    print(`timeline (one mark per 100 ms, from 1 s before the crash): ${timeline(poller.records, t - 1000, t + g.gapMs + 400, 100)}`);
    print('  1 = lb1 answered, 2 = lb2 answered, . = no answer, | = crash');
    const who = new Map<string, number>();
    for (const r of poller.records) if (r.ok) who.set(r.who, (who.get(r.who) ?? 0) + 1);
    print(`answers by host: ${[...who].map(([h, n]) => `${h} ${n}`).join(', ')}; failed ${poller.records.filter((r) => !r.ok).length}`);
    return 0;
  } finally {
    await poller?.stop();
    for (const d of daemons) await stopDaemon(d, 2000);
    await lab.destroy();
    rmSync(work, { recursive: true, force: true });
  }
}
