/**
 * `belay lab`: the seed tutorial's topology on one machine. Cluster nodes
 * (load balancers running belayd and haproxy), app servers running nginx,
 * and a client, each a lab machine (src/lab/machine.ts) behind one switch.
 * The lab outlives the command that made it: its description is kept in
 * LAB_ROOT/NAME/lab.json so that later commands (reboot, crash, down) find
 * it again.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { renderClusterConfig } from '../daemon/config.js';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { bootMachine, machineExec, machineSpawn, removeHostEtc, writeHostEtc } from './machine.js';
import { Lab, LAB_SUBNET, requireCommands, requireNetnsSupport, type LabDescription } from './netns.js';

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
  /** Empty mount points the lab had to create on this machine (removed again by down). */
  madeDirs: string[];
}

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

export function saveLabState(state: ClusterLabState): void {
  atomicWriteFileSync(join(state.dir, 'lab.json'), JSON.stringify(state, null, 2));
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
    // ip netns exec binds /etc/netns/NS/X only over an /etc/X that exists, and
    // a node's disk is bound over /var/lib/belay: the mount points must exist.
    for (const d of ['/etc/belay', '/etc/haproxy', '/var/lib/belay']) {
      if (!existsSync(d)) {
        mkdirSync(d, { mode: 0o755 });
        state.madeDirs.push(d);
      }
    }
    const key = randomBytes(128);
    for (const n of state.nodes) {
      // Each node's /etc as on a real host: the tutorial's haproxy.cfg, belay's cluster file and key.
      writeHostEtc(lab.host(n).netns, {
        'haproxy/haproxy.cfg': haproxyConfig(apps, n),
        'belay/cluster.yaml': clusterFile,
        'belay/authkey': { text: key, mode: 0o600 },
      });
    }
    saveLabState(state);
    for (const host of [...state.nodes, ...state.apps, state.client]) await powerOn(state, host);
    saveLabState(state);
  } catch (err) {
    await labDown(state).catch(() => undefined);
    throw err;
  }
  return state;
}

/** Power a host on and start what runs on it (nginx on app servers, belayd on nodes). */
export async function powerOn(state: ClusterLabState, host: string): Promise<void> {
  const lab = Lab.attach(state.lab);
  await lab.setLink(host, true);
  // Cluster nodes keep /var/lib/belay (the stored CIB) across reboots, as a disk does.
  const disks: Record<string, string> = state.nodes.includes(host) ? { '/var/lib/belay': join(state.dir, host, 'var-lib-belay') } : {};
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

/** Cut a host off from every other host while its link stays up (a split network, not a dead host). */
export async function partition(state: ClusterLabState, host: string): Promise<void> {
  const lab = Lab.attach(state.lab);
  for (const rule of dropRules(lab.host(host).ifname)) await lab.exec(host, ['iptables', '-w', '-I', ...rule]);
  if (!state.partitioned.includes(host)) state.partitioned.push(host);
}

export async function heal(state: ClusterLabState): Promise<void> {
  const lab = Lab.attach(state.lab);
  for (const host of state.partitioned) {
    for (const rule of dropRules(lab.host(host).ifname)) await lab.exec(host, ['iptables', '-w', '-D', ...rule], { reject: false });
  }
  state.partitioned = [];
}

/** Run a command on a lab host. */
export function labExec(state: ClusterLabState, host: string, argv: string[]) {
  const pid = state.init[host];
  if (pid === undefined) throw new Error(`host ${host} is powered off`);
  return machineExec(pid, argv, { reject: false, all: true });
}

/** Everything gone: processes, namespaces, /etc/netns files, the lab directory. */
export async function labDown(state: ClusterLabState): Promise<void> {
  const lab = Lab.attach(state.lab);
  await lab.destroy();
  for (const h of state.lab.hosts) removeHostEtc(h.netns);
  for (const d of state.madeDirs ?? []) {
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
