/**
 * `belay keygen`, `belay ring status`, `belay quorum status`, `belay totem run`.
 *
 * A running totem process (`belay totem run`, later belayd) writes its status
 * as JSON to a status file (default /run/belay/ring-status.json, atomically,
 * on every membership change and every second); the status commands read it
 * and print what corosync-cfgtool -s and corosync-quorumtool -s print.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { hostname } from 'node:os';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { parseClusterConfig, localNode, readClusterKey, DEFAULT_CLUSTER_FILE, ConfigError } from '../daemon/config.js';
import { RING_STATUS_FILE, startTotem, totemConfigFromCluster, type RingStatus } from '../totem/udp.js';
import { ringKey } from '../totem/wire.js';

export const DEFAULT_KEY_FILE = '/etc/belay/authkey';
export const DEFAULT_STATUS_FILE = RING_STATUS_FILE;
const KEY_BYTES = 128; // as corosync-keygen

export function registerRingCommands(program: Command): void {
  program
    .command('keygen')
    .description(`write a new random cluster key (${KEY_BYTES} bytes, mode 0600) for totem authentication`)
    .option('-o, --output <file>', 'key file', DEFAULT_KEY_FILE)
    .option('-f, --force', 'replace an existing key file')
    .action((opts: { output: string; force?: boolean }) => {
      if (existsSync(opts.output) && !opts.force) {
        process.stderr.write(`belay keygen: ${opts.output} exists; use --force to replace it (every node needs the same key)\n`);
        process.exitCode = 1;
        return;
      }
      mkdirSync(dirname(opts.output), { recursive: true });
      atomicWriteFileSync(opts.output, randomBytes(KEY_BYTES), { mode: 0o600 });
      process.stdout.write(`belay keygen: wrote ${KEY_BYTES} random bytes to ${opts.output} (mode 0600); copy it to every node\n`);
    });

  const ring = program.command('ring').description('totem ring information');
  ring
    .command('status')
    .description('ring id, members, state and counters of the local totem node (like corosync-cfgtool -s)')
    .option('-s, --status-file <file>', 'status file written by the running node', DEFAULT_STATUS_FILE)
    .option('--json', 'print the raw status as JSON')
    .action((opts: { statusFile: string; json?: boolean }) => {
      const st = readStatus(opts.statusFile);
      if (!st) return;
      process.stdout.write(opts.json ? `${JSON.stringify(st, null, 2)}\n` : formatRingStatus(st));
    });

  const quorum = program.command('quorum').description('quorum information');
  quorum
    .command('status')
    .description('votequorum state of the local node (like corosync-quorumtool -s)')
    .option('-s, --status-file <file>', 'status file written by the running node', DEFAULT_STATUS_FILE)
    .option('--json', 'print the raw status as JSON')
    .action((opts: { statusFile: string; json?: boolean }) => {
      const st = readStatus(opts.statusFile);
      if (!st) return;
      process.stdout.write(opts.json ? `${JSON.stringify(st.quorum, null, 2)}\n` : formatQuorumStatus(st, new Date()));
      // As corosync-quorumtool: a non-quorate partition is worth a non-zero exit for scripts.
      if (!st.quorum.quorate) process.exitCode = 2;
    });

  const totem = program.command('totem').description('standalone totem membership node');
  totem
    .command('run')
    .description('run a totem node: events as JSON lines on stdout, each stdin line is sent as a message')
    .option('-c, --config <file>', 'cluster file', DEFAULT_CLUSTER_FILE)
    .option('-n, --node <name>', 'which node of the cluster file this is (default: hostname)')
    .option('-k, --key <file>', 'cluster key file (default: key_file of the cluster file)')
    .option('-s, --status-file <file>', 'where to write the status for `belay ring status`', DEFAULT_STATUS_FILE)
    .option('--state-dir <dir>', 'where the ring sequence is kept (default: state_dir of the cluster file)')
    .option('--quiet-deliveries', 'do not print delivered messages (only membership and quorum)')
    .action(async (opts: { config: string; node?: string; key?: string; statusFile: string; stateDir?: string; quietDeliveries?: boolean }) => {
      process.exitCode = await runTotem(opts);
    });
}

function readStatus(file: string): RingStatus | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    process.stderr.write(`belay: cannot read ${file}: ${(err as Error).message}\n(is a totem node running? it writes this file; see --status-file)\n`);
    process.exitCode = 1;
    return null;
  }
  try {
    const st = JSON.parse(text) as RingStatus;
    const age = Date.now() - statSync(file).mtimeMs;
    if (age > 5000) process.stderr.write(`belay: warning: ${file} is ${Math.round(age / 1000)} s old; the node may not be running\n`);
    return st;
  } catch (err) {
    process.stderr.write(`belay: ${file}: not a status file (${(err as Error).message})\n`);
    process.exitCode = 1;
    return null;
  }
}

export function formatRingStatus(st: RingStatus): string {
  const me = st.nodes.find((n) => n.id === st.nodeId);
  const lines = [
    `Local node ID ${st.nodeId}, transport ${st.transport}`,
    `RING ID ${st.ring}, state ${st.state}, ${st.members.length} member${st.members.length === 1 ? '' : 's'}`,
    `LINK ID 0 udp`,
    `\taddr\t= ${me?.address ?? '?'}:${me?.port ?? '?'}`,
    `\tstatus:`,
    ...st.nodes.map((n) => `\t\tnodeid: ${String(n.id).padStart(10)}:\t${n.status}`),
    `Counters:`,
    `\ttokens received ${st.counters.tokensReceived}, token retransmits ${st.counters.tokensRetransmitted}, token lost ${st.counters.tokenLost}`,
    `\tmessages sent ${st.counters.mcastSent}, delivered ${st.counters.delivered}, retransmitted ${st.counters.retransmits}, retransmit requests ${st.counters.retransmitRequests}`,
    `\trings formed ${st.counters.ringsFormed}, gather entered ${st.counters.gatherEntered}, consensus timeouts ${st.counters.consensusTimeouts}`,
    `\tpackets in ${st.counters.packetsIn}, out ${st.counters.packetsOut}`,
    `\tdropped: unauthenticated ${st.drops.badAuth + st.drops.badFrame + st.drops.badCipher + st.drops.badDecrypt}, truncated ${st.drops.truncated}, ` +
      `oversized ${st.drops.oversized}, bad version ${st.drops.badVersion}, wrong cluster ${st.drops.wrongCluster}, malformed ${st.drops.malformed + st.drops.badType}, ` +
      `bad source ${st.drops.badSource + st.drops.unknownSender}, old ring ${st.counters.droppedOldRing}, duplicate ${st.counters.droppedDuplicate}, stale join ${st.counters.droppedStaleJoin}`,
    '',
  ];
  return lines.join('\n');
}

export function formatQuorumStatus(st: RingStatus, now: Date): string {
  const q = st.quorum;
  const names = new Map(st.nodes.map((n) => [n.id, n]));
  const lines = [
    'Quorum information',
    '------------------',
    `Date:             ${now.toUTCString().replace(/^(\w+), (\d+) (\w+) (\d+) (\S+) GMT$/, '$1 $3 $2 $5 $4')}`,
    'Quorum provider:  belay_votequorum',
    `Nodes:            ${q.members.length}`,
    `Node ID:          ${st.nodeId}`,
    `Ring ID:          ${st.ring}`,
    `Quorate:          ${q.quorate ? 'Yes' : 'No'}`,
    '',
    'Votequorum information',
    '----------------------',
    `Expected votes:   ${q.expectedVotes}`,
    `Highest expected: ${q.highestExpected}`,
    `Total votes:      ${q.totalVotes}`,
    `Quorum:           ${q.quorum}  ${q.waitingForAll ? ' Activity blocked (waiting for all nodes)' : ''}`,
    `Flags:            ${q.flags.join(' ')} `,
    '',
    'Membership information',
    '----------------------',
    '    Nodeid      Votes Name',
    ...q.members.map((id) => {
      const n = names.get(id);
      return `${String(id).padStart(10)} ${String(n?.votes ?? 1).padStart(10)} ${n?.name ?? '?'}${id === st.nodeId ? ' (local)' : ''}`;
    }),
    '',
  ];
  return lines.join('\n');
}

async function runTotem(opts: { config: string; node?: string; key?: string; statusFile: string; stateDir?: string; quietDeliveries?: boolean }): Promise<number> {
  let cluster;
  try {
    cluster = parseClusterConfig(readFileSync(opts.config, 'utf8'), opts.config);
  } catch (err) {
    process.stderr.write(`belay totem run: ${err instanceof ConfigError ? err.message : `cannot read ${opts.config}: ${(err as Error).message}`}\n`);
    return 1;
  }
  let me;
  try {
    me = localNode(cluster, opts.node, hostname());
  } catch (err) {
    process.stderr.write(`belay totem run: ${(err as Error).message}\n`);
    return 1;
  }
  const keyFile = opts.key ?? cluster.key_file;
  let key: Buffer;
  try {
    key = readClusterKey(keyFile);
  } catch (err) {
    process.stderr.write(`belay totem run: ${(err as Error).message}\n`);
    return 1;
  }
  if (opts.stateDir) cluster.state_dir = opts.stateDir;
  const out = (obj: unknown) => process.stdout.write(`${JSON.stringify(obj)}\n`);
  const config = totemConfigFromCluster(cluster, me.id, (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`));
  let node;
  try {
    node = await startTotem(config, key);
  } catch (err) {
    process.stderr.write(`belay totem run: cannot start on ${me.address}:${cluster.totem.port}: ${(err as Error).message}\n`);
    return 1;
  }
  const writeStatus = () => {
    try {
      mkdirSync(dirname(opts.statusFile), { recursive: true });
      atomicWriteFileSync(opts.statusFile, JSON.stringify(node.status()));
    } catch (err) {
      process.stderr.write(`belay totem run: cannot write ${opts.statusFile}: ${(err as Error).message}\n`);
    }
  };
  node.on('confchg', (c) => {
    out({ event: 'confchg', kind: c.kind, ring: ringKey(c.ring), members: c.members, joined: c.joined, left: c.left, t: Date.now() });
    if (c.kind === 'regular') writeStatus();
  });
  node.on('quorum', (q) => {
    writeStatus();
    out({ event: 'quorum', quorate: q.quorate, members: q.members, totalVotes: q.totalVotes, quorum: q.quorum, t: Date.now() });
  });
  node.on('deliver', (d) => {
    if (!opts.quietDeliveries) {
      out({ event: 'deliver', origin: d.origin, ring: ringKey(d.ring), transitional: d.transitional, payload: Buffer.from(d.payload).toString('utf8') });
    }
  });
  node.on('error', (err) => process.stderr.write(`belay totem run: ${err.message}\n`));
  writeStatus();
  const timer = setInterval(writeStatus, 1000);
  out({ event: 'started', node: me.id, name: me.name, address: `${me.address}:${cluster.totem.port}`, pid: process.pid });

  const rl = createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    if (line.length > 0) node.send(Buffer.from(line, 'utf8'));
  });
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  clearInterval(timer);
  rl.close();
  await node.stop();
  writeStatus();
  return 0;
}
