/**
 * `belay lab`: the seed tutorial's topology on one machine. Cluster nodes
 * (load balancers running belayd and haproxy), app servers running nginx,
 * and a client, each a lab machine (src/lab/machine.ts) behind one switch.
 * The lab outlives the command that made it: its description is kept in
 * LAB_ROOT/NAME/lab.json so that later commands (reboot, crash, down) find
 * it again.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { renderClusterConfig } from '../daemon/config.js';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { bootMachine, isBootedInit, machineExec, machineSpawn, removeHostEtc, writeHostEtc } from './machine.js';
import { Lab, LAB_SUBNET, requireCommands, requireNetnsSupport, type LabDescription } from './netns.js';
import {
  HOST_KEY_DIR_IN_HOST, HOST_KEY_NAME, hostKey, prepareSwitchFiles, powerSwitchArgv, startPowerSwitchProcess, stopPowerSwitchProcess, SWITCH_DIR_IN_HOST,
  type PowerControl,
} from './power-switch.js';

/** Not under /run: every lab host has a /run of its own. */
export const LAB_ROOT = '/var/lib/belay-lab';

export interface ClusterLabSpec {
  name: string;
  /** Cluster nodes (load balancers): n1..nN. */
  nodes: number;
  /** App servers behind haproxy: app1..appM. */
  apps: number;
  /** The command that starts belayd on a node; none: hosts only, no cluster. */
  daemonArgv?: string[];
  /** Extra cluster-file lines for the totem section (timings), e.g. {token: 300}. */
  totem?: Record<string, number>;
  /** Extra top-level cluster-file lines, e.g. "metrics_listen: ':9664'". */
  clusterFileExtra?: string;
}

export interface ClusterLabState {
  name: string;
  dir: string;
  lab: LabDescription;
  nodes: string[];
  apps: string[];
  client: string;
  /** The address the cluster's FloatIP uses. */
  vip: string;
  /** Init pid of each powered-on host. */
  init: Record<string, number>;
  daemonArgv?: string[];
  /** Hosts cut off by `partition`. */
  partitioned: string[];
  /** Partitioned hosts that lost their line to the power switch too. */
  switchCut?: string[];
  /** Empty mount points the lab had to create on this machine (removed again by down). */
  madeDirs: string[];
  /** Pid of the lab's power switch (src/lab/power-switch.ts), which fence_belay_lab talks to. */
  powerSwitch?: number;
  /** How many times each host lost power (crash, reboot, fenced). */
  powerCycles?: Record<string, number>;
  /** The cluster stack on the nodes: belayd (default), or stock Pacemaker (src/lab/pacemaker-lab.ts). */
  stack?: 'belay' | 'pacemaker';
}

/** How a node of a lab boots: powerOn for belay labs, pacemakerPowerOn for Pacemaker labs. */
export type BootFn = (state: ClusterLabState, host: string) => Promise<void>;

/** How a lab node starts belayd: this checkout's launcher, with the host's default paths. */
export function belaydArgv(): string[] {
  const belay = fileURLToPath(new URL('../../bin/belay', import.meta.url));
  return [process.execPath, belay, 'daemon'];
}

export function labDir(name: string): string {
  return join(LAB_ROOT, name);
}

export function vipOf(): string {
  return `${LAB_SUBNET}.50`;
}

function nodeAddress(i: number): string {
  return `${LAB_SUBNET}.${11 + i}`;
}
function appAddress(i: number): string {
  return `${LAB_SUBNET}.${21 + i}`;
}
const CLIENT_ADDRESS = `${LAB_SUBNET}.100`;

/**
 * haproxy.cfg of a load balancer, as the seed tutorial writes it, plus one
 * response header naming the balancer so a client can tell who served it.
 */
export function haproxyConfig(apps: Array<{ name: string; address: string }>, balancer: string): string {
  return [
    'global',
    '    maxconn 4096',
    '',
    'defaults',
    '    mode http',
    '    option forwardfor',
    '    option http-server-close',
    '    timeout connect 1s',
    '    timeout client 5s',
    '    timeout server 5s',
    '',
    'frontend http',
    '    bind *:80',
    '    default_backend app_pool',
    `    http-response set-header X-Served-By ${balancer}`,
    '',
    'backend app_pool',
    ...apps.map((a) => `    server ${a.name} ${a.address}:80 check inter 500 fall 2 rise 1`),
    '',
  ].join('\n');
}

function nginxConfig(dir: string): string {
  return [
    'worker_processes 1;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log;`,
    'events { worker_connections 256; }',
    'http {',
    `  access_log ${dir}/access.log;`,
    `  client_body_temp_path ${dir}/tmp;`,
    '  server {',
    '    listen 80;',
    `    root ${dir}/html;`,
    '  }',
    '}',
    '',
  ].join('\n');
}

/**
 * Store a lab's state. The power switch (another process) may have
 * power-cycled hosts since `state` was read: what it recorded is kept, so a
 * stale copy never brings back a dead init or lowers a power-cycle count.
 */
export function saveLabState(state: ClusterLabState): void {
  const file = join(state.dir, 'lab.json');
  let disk: ClusterLabState | undefined;
  try {
    disk = JSON.parse(readFileSync(file, 'utf8')) as ClusterLabState;
  } catch {
    /* first save */
  }
  if (disk && disk.lab.id === state.lab.id) {
    for (const [host, n] of Object.entries(disk.powerCycles ?? {})) {
      if (n > (state.powerCycles?.[host] ?? 0)) state.powerCycles = { ...state.powerCycles, [host]: n };
    }
    for (const [host, pid] of Object.entries(disk.init)) {
      const mine = state.init[host];
      if (pid !== mine && initAlive(pid) && (mine === undefined || !initAlive(mine))) state.init[host] = pid;
    }
  }
  atomicWriteFileSync(file, JSON.stringify(state, null, 2));
}

/** Whether a pid is a running lab machine's init (`sleep infinity`, not a zombie, not a reused pid). */
/** The init pid lab.json records for a host (the power switch writes it from its own process). */
function diskInit(state: ClusterLabState, host: string): number | undefined {
  try {
    const disk = JSON.parse(readFileSync(join(state.dir, 'lab.json'), 'utf8')) as ClusterLabState;
    return disk.lab.id === state.lab.id ? disk.init[host] : undefined;
  } catch {
    return undefined;
  }
}

function initAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') return false;
    return isBootedInit(pid);
  } catch {
    return false;
  }
}

/** The lab key the power switch checks fence_belay_lab's requests with; never inside a lab host. */
export function labKeyFile(dir: string): string {
  return join(dir, 'power.key');
}

export function switchSocketPath(dir: string): string {
  return join(dir, 'power', 'switch.sock');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One writer of lab.json at a time: the CLI (crash, start, reboot) and the
 * power switch (fence_belay_lab) both power hosts and record it there. A
 * lock file holding its owner's pid; an owner that died leaves it stale.
 */
export async function withLabLock<T>(name: string, fn: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const file = join(labDir(name), 'lab.lock');
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(file, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = 0;
      try {
        holder = Number(readFileSync(file, 'utf8'));
      } catch {
        continue; // released meanwhile
      }
      if (holder > 0 && !pidAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() > end) throw new Error(`lab ${name} is locked by pid ${holder} (${file})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** Power a host of a lab known by name: off (a crash), on, or reboot (off, pause, on); recorded in lab.json. */
export async function labPower(name: string, host: string, action: 'off' | 'on' | 'reboot', pauseMs = 2000, boot: BootFn = powerOn): Promise<void> {
  await withLabLock(name, async () => {
    const state = loadLabState(name);
    if (!state.lab.hosts.some((h) => h.name === host)) throw new Error(`no host '${host}' in lab ${name}`);
    if (action !== 'on' && hostIsOn(state, host)) {
      await powerOff(state, host);
      saveLabState(state);
    }
    if (action === 'reboot') await new Promise((r) => setTimeout(r, pauseMs));
    if (action !== 'off' && !hostIsOn(state, host)) {
      await boot(state, host);
      saveLabState(state);
    }
  });
}

/** Whether a host's init (its "power") is alive, in the host's own namespace. */
export function hostIsOn(state: ClusterLabState, host: string): boolean {
  const pid = state.init[host];
  if (pid === undefined || !initAlive(pid)) return false;
  return Lab.attach(state.lab).pids(host).includes(pid);
}

/** The lab's machines as the power switch sees them: its plugs are the cluster nodes. */
export function labPowerControl(name: string, boot: BootFn = powerOn): PowerControl {
  return {
    plugs: () => loadLabState(name).nodes,
    status: (plug) => (hostIsOn(loadLabState(name), plug) ? 'on' : 'off'),
    off: (plug) => labPower(name, plug, 'off'),
    on: (plug) => labPower(name, plug, 'on', 0, boot),
  };
}

/** What a cluster node has mounted for fence_belay_lab: the switch's socket directory and its own key. */
export function switchDisks(state: ClusterLabState, host: string): Record<string, string> {
  return { [SWITCH_DIR_IN_HOST]: join(state.dir, 'power'), [HOST_KEY_DIR_IN_HOST]: join(state.dir, 'hosts', host) };
}

export function loadLabState(name: string): ClusterLabState {
  const file = join(labDir(name), 'lab.json');
  if (!existsSync(file)) throw new Error(`no lab named '${name}' is up (no ${file}); start one with: belay lab up`);
  return JSON.parse(readFileSync(file, 'utf8')) as ClusterLabState;
}

/** Build the lab: switch, hosts, app servers serving their own page, and (optionally) belayd on every node. */
export async function labUp(spec: ClusterLabSpec): Promise<ClusterLabState> {
  requireNetnsSupport('belay lab');
  requireCommands('belay lab', { nginx: 'nginx', haproxy: 'haproxy', nsenter: 'util-linux', unshare: 'util-linux', curl: 'curl' });
  if (!/^[a-z0-9]{1,8}$/.test(spec.name)) throw new Error(`bad lab name '${spec.name}' (1-8 lower-case letters or digits)`);
  if (spec.nodes < 1 || spec.nodes > 9) throw new Error('--nodes must be from 1 to 9');
  if (spec.apps < 1 || spec.apps > 9) throw new Error('--apps must be from 1 to 9');
  const dir = labDir(spec.name);
  if (existsSync(join(dir, 'lab.json'))) throw new Error(`lab '${spec.name}' is up already; take it down first: belay lab down --name ${spec.name}`);
  // App servers' nginx workers (www-data) read their pages from here.
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(LAB_ROOT, 0o755);
  chmodSync(dir, 0o755);

  const lab = await Lab.create({ id: `bl-${spec.name}` });
  const state: ClusterLabState = {
    name: spec.name,
    dir,
    lab: lab.describe(),
    nodes: Array.from({ length: spec.nodes }, (_, i) => `n${i + 1}`),
    apps: Array.from({ length: spec.apps }, (_, i) => `app${i + 1}`),
    client: 'client',
    vip: vipOf(),
    init: {},
    partitioned: [],
    madeDirs: [],
    powerCycles: {},
  };
  if (spec.daemonArgv) state.daemonArgv = spec.daemonArgv;
  try {
    for (const [i, n] of state.nodes.entries()) await lab.addHost(n, { address: nodeAddress(i) });
    for (const [i, a] of state.apps.entries()) await lab.addHost(a, { address: appAddress(i) });
    await lab.addHost(state.client, { address: CLIENT_ADDRESS });
    state.lab = lab.describe();
    const apps = state.apps.map((a) => ({ name: a, address: lab.host(a).address }));
    const clusterFile = renderClusterConfig({
      clusterName: spec.name,
      nodes: state.nodes.map((n) => ({ name: n, address: lab.host(n).address })),
    }).replace('totem:\n', `totem:\n${Object.entries(spec.totem ?? {}).map(([k, v]) => `  ${k}: ${v}\n`).join('')}`) + (spec.clusterFileExtra ?? '');
    ensureMountPoints(state);
    const key = randomBytes(128);
    // The power switch: its lab key stays here; each node gets a key of its own for fence_belay_lab.
    const sw = prepareSwitchFiles(dir);
    atomicWriteFileSync(labKeyFile(dir), sw.labKey.toString('hex'), { mode: 0o600 });
    for (const n of state.nodes) {
      // Each node's /etc as on a real host: the tutorial's haproxy.cfg, belay's cluster file and key.
      writeHostEtc(lab.host(n).netns, {
        'haproxy/haproxy.cfg': haproxyConfig(apps, n),
        'belay/cluster.yaml': clusterFile,
        'belay/authkey': { text: key, mode: 0o600 },
      });
      mkdirSync(join(dir, 'hosts', n), { recursive: true, mode: 0o700 });
      atomicWriteFileSync(join(dir, 'hosts', n, HOST_KEY_NAME), `${hostKey(sw.labKey, n).toString('hex')}\n`, { mode: 0o600 });
    }
    saveLabState(state);
    for (const host of [...state.nodes, ...state.apps, state.client]) await powerOn(state, host);
    saveLabState(state);
    state.powerSwitch = await startPowerSwitchProcess(powerSwitchArgv(spec.name), sw.socketPath, join(dir, 'power-switch.log'));
    saveLabState(state);
  } catch (err) {
    await labDown(state).catch(() => undefined);
    throw err;
  }
  return state;
}

/**
 * ip netns exec binds /etc/netns/NS/X only over an /etc/X that exists, and
 * a node's disk is bound over /var/lib/belay: the mount points must exist
 * at every boot (something else on this machine may have removed them).
 */
function ensureMountPoints(state: ClusterLabState): void {
  for (const d of ['/etc/belay', '/etc/haproxy', '/var/lib/belay']) {
    if (!existsSync(d)) {
      mkdirSync(d, { mode: 0o755 });
      if (!state.madeDirs.includes(d)) state.madeDirs.push(d);
    }
  }
}

/** Power a host on and start what runs on it (nginx on app servers, belayd on nodes). */
export async function powerOn(state: ClusterLabState, host: string): Promise<void> {
  // A machine already on (the fence device's power switch rebooted it
  // meanwhile, from its own process) stays as it is, as a power button does:
  // booting it again started a second belayd beside the first.
  const onDisk = diskInit(state, host);
  if (onDisk !== undefined && initAlive(onDisk)) {
    state.init[host] = onDisk;
    return;
  }
  const running = state.init[host];
  if (running !== undefined && initAlive(running)) return;
  const lab = Lab.attach(state.lab);
  ensureMountPoints(state);
  await lab.setLink(host, true);
  // Cluster nodes keep /var/lib/belay (the stored CIB) across reboots, as a disk does.
  // They also see the power switch's directory, as a management network reaches a PDU.
  const disks: Record<string, string> = state.nodes.includes(host)
    ? { '/var/lib/belay': join(state.dir, host, 'var-lib-belay'), ...switchDisks(state, host) }
    : {};
  const pid = await bootMachine(lab, host, disks);
  state.init[host] = pid;
  if (state.apps.includes(host)) {
    const dir = join(state.dir, host);
    mkdirSync(join(dir, 'html'), { recursive: true });
    mkdirSync(join(dir, 'tmp'), { recursive: true });
    writeFileSync(join(dir, 'nginx.conf'), nginxConfig(dir));
    const name = host.replace(/^app/, 'app-');
    writeFileSync(join(dir, 'html', 'index.html'), `Droplet: ${name}, IP Address: ${lab.host(host).address}\n`);
    machineSpawn(pid, ['nginx', '-c', join(dir, 'nginx.conf'), '-g', 'daemon off;'], join(dir, 'nginx.out'));
  }
  if (state.nodes.includes(host) && state.daemonArgv) {
    machineSpawn(pid, state.daemonArgv, join(state.dir, host, 'belayd.log'));
  }
}

/** Kill every process of a host at once and pull its cable, as a power failure. */
export async function powerOff(state: ClusterLabState, host: string): Promise<void> {
  const lab = Lab.attach(state.lab);
  await lab.crash(host);
  delete state.init[host];
  state.powerCycles = { ...state.powerCycles, [host]: (state.powerCycles?.[host] ?? 0) + 1 };
  // Firewall rules set at run time (a partition) do not survive a power cycle either.
  if (state.partitioned.includes(host)) {
    for (const rule of dropRules(lab.host(host).ifname)) await lab.exec(host, ['iptables', '-w', '-D', ...rule], { reject: false });
    state.partitioned = state.partitioned.filter((h) => h !== host);
  }
  // It boots with its line to the switch bound again.
  state.switchCut = (state.switchCut ?? []).filter((h) => h !== host);
  // A machine that loses power loses its network configuration too: it boots
  // with its own address only, not the floating IPs it held.
  const h = lab.host(host);
  await lab.exec(host, ['ip', 'addr', 'flush', 'dev', h.ifname]);
  await lab.exec(host, ['ip', 'addr', 'add', `${h.address}/24`, 'dev', h.ifname]);
}

/** iptables rules that cut a host's traffic on its lab interface, both ways. */
function dropRules(ifname: string): string[][] {
  return [
    ['INPUT', '-i', ifname, '-j', 'DROP'],
    ['OUTPUT', '-o', ifname, '-j', 'DROP'],
  ];
}

/**
 * Cut a host off from every other host while its link stays up (a split
 * network, not a dead host). The power switch stays reachable, as over a
 * management network of its own, unless `cutSwitch`: then the host loses
 * its line to the switch too (a fence device on the same network, the
 * cable pulled), so it cannot fence anyone while it is cut off.
 */
export async function partition(state: ClusterLabState, host: string, opts: { cutSwitch?: boolean } = {}): Promise<void> {
  const lab = Lab.attach(state.lab);
  if (!state.partitioned.includes(host)) {
    for (const rule of dropRules(lab.host(host).ifname)) await lab.exec(host, ['iptables', '-w', '-I', ...rule]);
    state.partitioned.push(host);
  }
  const init = state.init[host];
  if (opts.cutSwitch && state.nodes.includes(host) && init !== undefined && !(state.switchCut ?? []).includes(host)) {
    await machineExec(init, ['umount', '-l', SWITCH_DIR_IN_HOST]);
    state.switchCut = [...(state.switchCut ?? []), host];
  }
}

/** `partition` on a lab known by name, recorded in lab.json (the power switch writes there too). */
export async function labPartition(name: string, host: string, opts: { cutSwitch?: boolean } = {}): Promise<void> {
  await withLabLock(name, async () => {
    const state = loadLabState(name);
    await partition(state, host, opts);
    saveLabState(state);
  });
}

export async function labHeal(name: string): Promise<void> {
  await withLabLock(name, async () => {
    const state = loadLabState(name);
    await heal(state);
    saveLabState(state);
  });
}

export async function heal(state: ClusterLabState): Promise<void> {
  const lab = Lab.attach(state.lab);
  for (const host of state.partitioned) {
    for (const rule of dropRules(lab.host(host).ifname)) await lab.exec(host, ['iptables', '-w', '-D', ...rule], { reject: false });
  }
  state.partitioned = [];
  for (const host of state.switchCut ?? []) {
    const init = state.init[host];
    if (init !== undefined && pidAlive(init)) await machineExec(init, ['mount', '--bind', join(state.dir, 'power'), SWITCH_DIR_IN_HOST]);
  }
  state.switchCut = [];
}

/**
 * Run a command on a lab host. A host the power switch rebooted has a new
 * init: then the one lab.json records is used (and kept in `state`).
 */
export function labExec(state: ClusterLabState, host: string, argv: string[]) {
  let pid = state.init[host];
  if (pid === undefined || !initAlive(pid)) {
    try {
      const now = loadLabState(state.name);
      if (now.dir === state.dir) {
        pid = now.init[host];
        state.init = now.init;
        state.powerCycles = now.powerCycles ?? {};
        state.partitioned = now.partitioned;
        state.switchCut = now.switchCut ?? [];
      }
    } catch {
      /* not saved yet: keep what we have */
    }
  }
  if (pid === undefined) throw new Error(`host ${host} is powered off`);
  return machineExec(pid, argv, { reject: false, all: true });
}

/** Everything gone: processes, namespaces, /etc/netns files, the lab directory. */
export async function labDown(state: ClusterLabState): Promise<void> {
  // The switch first: nothing may power a host on while the lab goes away.
  let switchPid = state.powerSwitch;
  try {
    switchPid = loadLabState(state.name).powerSwitch ?? switchPid;
  } catch {
    /* never saved */
  }
  if (switchPid !== undefined) await stopPowerSwitchProcess(switchPid);
  const lab = Lab.attach(state.lab);
  await lab.destroy();
  for (const h of state.lab.hosts) removeHostEtc(h.netns);
  // Another lab's machines have those directories as mount points: removing
  // one would unmount it inside them. Only the last lab takes them away.
  const otherLabs = existsSync(LAB_ROOT) ? readdirSync(LAB_ROOT).filter((n) => join(LAB_ROOT, n) !== state.dir && existsSync(join(LAB_ROOT, n, 'lab.json'))) : [];
  for (const d of otherLabs.length ? [] : (state.madeDirs ?? [])) {
    try {
      rmdirSync(d); // only when still empty
    } catch {
      /* something else put files there: leave it */
    }
  }
  rmSync(state.dir, { recursive: true, force: true });
  try {
    rmdirSync(LAB_ROOT); // the last lab gone: no trace of labs left
  } catch {
    /* other labs are up */
  }
}
