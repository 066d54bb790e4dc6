/**
 * Stock Pacemaker 2.1 + Corosync 3 (the Debian packages) on the lab's
 * machines, for comparing belay with the real thing on the same topology
 * (bench/failover.mjs). The hosts, app servers, client, power cycles and
 * partitions are cluster-lab's; this module only adds what a Pacemaker
 * node has that a belay node does not:
 *
 * - /etc/corosync/corosync.conf and authkey per host (via /etc/netns), with
 *   Debian's defaults for every totem timing (token 3000 ms + 650 ms per
 *   node above two, consensus 1.2 × token), knet on the lab addresses,
 *   aes256/sha256 as in ../shared/reference/pacemaker-2.1.5/corosync.conf,
 *   and votequorum's two_node for a two-node cluster;
 * - /var/lib/pacemaker, /var/lib/corosync, /var/log/pacemaker and
 *   /var/log/corosync as the host's own disks (kept across reboots);
 * - belay's agents bound onto /usr/lib/ocf/resource.d/belay and
 *   /usr/lib/ocf/lib/belay inside the machine, because resource-agents
 *   ships no haproxy agent: the haproxy clone is `ocf:belay:haproxy`;
 * - `corosync -f` and `pacemakerd` started in the foreground on boot;
 * - the lab's power switch as for belay nodes, and fence_belay_lab among
 *   the fence agents of /usr/sbin, where pacemaker-fenced looks for them:
 *   /usr/sbin inside the machine is a directory of links to the real one
 *   (bound at /run/belay-lab/sbin) plus fence_belay_lab.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { labDown, labExec, labUp, powerOff, saveLabState, switchDisks, type ClusterLabState } from './cluster-lab.js';
import { bootMachine, machineSpawn, writeHostEtc } from './machine.js';
import { Lab } from './netns.js';

/** Debian packages the Pacemaker side needs, by the command that shows each is there. */
export const PACEMAKER_PACKAGES: Record<string, string> = {
  corosync: '/usr/sbin/corosync',
  pacemaker: '/usr/sbin/pacemakerd',
  crmsh: '/usr/sbin/crm',
  'resource-agents': '/usr/lib/ocf/resource.d/heartbeat/IPaddr2',
};

/** The Debian packages of PACEMAKER_PACKAGES that are not installed. */
export function missingPacemakerPackages(): string[] {
  return Object.entries(PACEMAKER_PACKAGES)
    .filter(([, file]) => !existsSync(file))
    .map(([pkg]) => pkg);
}

/** Throws naming the missing packages and the command that installs them. */
export function requirePacemaker(what: string): void {
  const missing = missingPacemakerPackages();
  if (missing.length) {
    throw new Error(
      `${what} needs the Debian packages ${missing.join(', ')} (as root: apt-get install -y ${missing.join(' ')}; ` +
        'put a policy-rc.d that exits 101 in /usr/sbin first so no system-wide service starts)',
    );
  }
}

/** The crmsh of the Debian package (not belay's bin/crm). */
export const STOCK_CRM = '/usr/sbin/crm';

/** Processes of a Pacemaker node, for memory figures. */
export const PACEMAKER_DAEMONS = ['corosync', 'pacemakerd', 'pacemaker-based', 'pacemaker-fenced', 'pacemaker-execd', 'pacemaker-attrd', 'pacemaker-schedulerd', 'pacemaker-controld'];

const AGENTS = fileURLToPath(new URL('../../agents', import.meta.url));

export interface CorosyncNode {
  name: string;
  address: string;
}

/**
 * corosync.conf as the reference cluster's: no totem timings (Debian's
 * defaults stay in force), knet, encrypted and authenticated with the key.
 */
export function corosyncConf(clusterName: string, nodes: CorosyncNode[]): string {
  const lines = [
    '# belay lab: stock Corosync with its default totem timings',
    'totem {',
    '    version: 2',
    `    cluster_name: ${clusterName}`,
    '    transport: knet',
    '    crypto_cipher: aes256',
    '    crypto_hash: sha256',
    '}',
    'nodelist {',
    ...nodes.flatMap((n, i) => ['    node {', `        ring0_addr: ${n.address}`, `        name: ${n.name}`, `        nodeid: ${i + 1}`, '    }']),
    '}',
    'quorum {',
    '    provider: corosync_votequorum',
    // Two nodes: the survivor keeps quorum (implies wait_for_all at start).
    ...(nodes.length === 2 ? ['    two_node: 1'] : []),
    '}',
    'logging {',
    '    to_logfile: yes',
    '    logfile: /var/log/corosync/corosync.log',
    '    to_stderr: no',
    '    to_syslog: no',
    '    timestamp: hires',
    '    debug: off',
    '}',
    '',
  ];
  return lines.join('\n');
}

export interface PacemakerLabSpec {
  name: string;
  nodes: number;
  apps: number;
}

/** Where a Pacemaker node sees the real /usr/sbin, under the directory of links that replaces it. */
const REAL_SBIN_IN_HOST = '/run/belay-lab/sbin';

/** /usr/sbin for the lab's Pacemaker nodes: the real one's entries, and fence_belay_lab. */
function sbinWithLabAgent(state: ClusterLabState): string {
  const dir = join(state.dir, 'usr-sbin');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const name of readdirSync('/usr/sbin')) symlinkSync(join(REAL_SBIN_IN_HOST, name), join(dir, name));
  symlinkSync(join(AGENTS, 'fence', 'fence_belay_lab'), join(dir, 'fence_belay_lab'));
  return dir;
}

function hostDisks(state: ClusterLabState, host: string): Record<string, string> {
  const base = join(state.dir, host);
  return {
    ...switchDisks(state, host),
    // In this order: the real /usr/sbin is bound aside before the links are bound over it.
    [REAL_SBIN_IN_HOST]: '/usr/sbin',
    '/usr/sbin': join(state.dir, 'usr-sbin'),
    '/var/lib/pacemaker': join(base, 'var-lib-pacemaker'),
    '/var/lib/corosync': join(base, 'var-lib-corosync'),
    '/var/log/pacemaker': join(base, 'var-log-pacemaker'),
    '/var/log/corosync': join(base, 'var-log-corosync'),
    '/usr/lib/ocf/resource.d/belay': join(AGENTS, 'resource.d', 'belay'),
    '/usr/lib/ocf/lib/belay': join(AGENTS, 'lib', 'belay'),
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('getent', ['group', 'haclient'], { encoding: 'utf8' }).split(':')[2]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error(`no user ${name} or group haclient (Debian package pacemaker)`);
  return { uid, gid };
}

/** The host's Pacemaker disks, laid out as the Debian package does (owned by hacluster:haclient). */
function prepareDisks(state: ClusterLabState, host: string): void {
  const { uid, gid } = userIds('hacluster');
  const d = hostDisks(state, host);
  const lib = d['/var/lib/pacemaker']!;
  for (const sub of ['', 'cib', 'pengine', 'blackbox', 'cores']) {
    const p = join(lib, sub);
    if (!existsSync(p)) {
      mkdirSync(p, { recursive: true, mode: sub ? 0o750 : 0o755 });
      if (sub) chownSync(p, uid, gid);
    }
  }
  const log = d['/var/log/pacemaker']!;
  if (!existsSync(log)) {
    mkdirSync(log, { recursive: true, mode: 0o770 });
    chownSync(log, uid, gid);
  }
  for (const p of [d['/var/lib/corosync']!, d['/var/log/corosync']!]) mkdirSync(p, { recursive: true });
}

/** Power a Pacemaker node on: boot the machine with its disks, then corosync and pacemakerd. */
export async function pacemakerPowerOn(state: ClusterLabState, host: string): Promise<void> {
  const lab = Lab.attach(state.lab);
  await lab.setLink(host, true);
  if (!state.nodes.includes(host)) throw new Error(`${host} is not a cluster node`);
  prepareDisks(state, host);
  const pid = await bootMachine(lab, host, hostDisks(state, host));
  state.init[host] = pid;
  // Both in the foreground; pacemakerd waits for corosync's IPC by itself (it retries).
  machineSpawn(pid, ['/usr/sbin/corosync', '-f'], join(state.dir, host, 'corosync.out'));
  const env = { ...process.env, PCMK_logfile: '/var/log/pacemaker/pacemaker.log', PCMK_logfacility: 'none' };
  await waitCorosync(state, host);
  machineSpawn(pid, ['/usr/sbin/pacemakerd'], join(state.dir, host, 'pacemakerd.out'), env);
}

async function waitCorosync(state: ClusterLabState, host: string): Promise<void> {
  const end = Date.now() + 15_000;
  for (;;) {
    const r = await labExec(state, host, ['corosync-cfgtool', '-s']);
    if (r.exitCode === 0) return;
    if (Date.now() > end) throw new Error(`corosync did not start on ${host}: ${String(r.all).trim()} (see ${join(state.dir, host, 'var-log-corosync', 'corosync.log')})`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

/**
 * The lab with stock Corosync + Pacemaker on every node. Returns the
 * cluster-lab state: powerOff, partition, heal, labExec and labDown work on
 * it as on a belay lab; power a node back on with pacemakerPowerOn.
 */
export async function pacemakerLabUp(spec: PacemakerLabSpec): Promise<ClusterLabState> {
  requirePacemaker('the Pacemaker lab');
  // Hosts, apps (nginx) and the client, with no cluster daemon yet.
  const state = await labUp({ name: spec.name, nodes: spec.nodes, apps: spec.apps });
  try {
    state.stack = 'pacemaker';
    sbinWithLabAgent(state);
    const lab = Lab.attach(state.lab);
    // Mount points for belay's agents; labDown removes them again (children before parents).
    for (const d of ['/usr/lib/ocf/resource.d/belay', '/usr/lib/ocf/lib/belay']) {
      if (!existsSync(d)) {
        mkdirSync(d, { recursive: true, mode: 0o755 });
        state.madeDirs.unshift(d);
      }
    }
    if (!existsSync('/etc/corosync')) {
      mkdirSync('/etc/corosync', { mode: 0o755 });
      state.madeDirs.push('/etc/corosync');
    }
    const conf = corosyncConf(spec.name, state.nodes.map((n) => ({ name: n, address: lab.host(n).address })));
    const key = randomBytes(256);
    // Node names resolve on every node, as in a real cluster (crmsh's `node standby NODE` pings NODE first
    // and does nothing, with exit code 0, when it cannot resolve it).
    const hosts = ['127.0.0.1 localhost', ...state.lab.hosts.map((h) => `${h.address} ${h.name}`), ''].join('\n');
    for (const n of state.nodes) {
      writeHostEtc(lab.host(n).netns, { 'corosync/corosync.conf': conf, 'corosync/authkey': { text: key, mode: 0o400 }, hosts });
    }
    saveLabState(state);
    // /etc/netns files are bound when a machine boots: power-cycle the nodes to get them.
    for (const n of state.nodes) await powerOff(state, n);
    for (const n of state.nodes) await pacemakerPowerOn(state, n);
    saveLabState(state);
  } catch (err) {
    await labDown(state).catch(() => undefined);
    throw err;
  }
  return state;
}

/** Run the Debian crmsh on a node. */
export function stockCrm(state: ClusterLabState, host: string, args: string[]) {
  return labExec(state, host, [STOCK_CRM, ...args]);
}

/** The seed tutorial's commands for stock Pacemaker: IPaddr2 for the floating IP, belay's haproxy agent. */
export function pacemakerTutorialCommands(vip: string): string[][] {
  return [
    ['configure', 'property', 'stonith-enabled=false'],
    ['configure', 'primitive', 'FloatIP', 'ocf:heartbeat:IPaddr2', 'params', `ip=${vip}`, 'cidr_netmask=24', 'op', 'monitor', 'interval=15s'],
    ['configure', 'primitive', 'haproxy', 'ocf:belay:haproxy', 'op', 'monitor', 'interval=15s'],
    ['configure', 'clone', 'haproxy-clone', 'haproxy'],
    ['configure', 'colocation', 'FloatIP-haproxy', 'inf:', 'FloatIP', 'haproxy-clone'],
  ];
}
