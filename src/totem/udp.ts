/**
 * The UDP shell around the totem core: one datagram socket (node:dgram),
 * Corosync's "udpu" transport (every packet unicast to each configured node)
 * or multicast, real timers, packet authentication, the persisted ring
 * sequence, and votequorum on top. The core decides; this file only moves
 * bytes and time.
 *
 *   const node = await startTotem(config, key);
 *   node.on('deliver', (d) => ...); node.on('confchg', (c) => ...); node.on('quorum', (q) => ...);
 *   node.send(Buffer.from('hello'));
 */
import { createSocket, type Socket, type RemoteInfo } from 'node:dgram';
import { EventEmitter } from 'node:events';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import type { VoteQuorum, QuorumStatus } from '../quorum/votequorum.js';
import { TotemStack, type StackInput, type StackOutput, type StackTimerName } from './stack.js';
import { PacketAuth, type CipherName } from './auth.js';
import {
  DEFAULT_TIMERS,
  TotemCore,
  holdMs,
  tokenRetransmitMs,
  type ConfChg,
  type Delivery,
  type StepInput,
  type StepOutput,
  type TimerName,
  type TotemCounters,
  type TotemTimers,
} from './core.js';
import { BUNDLE_ENTRY, BUNDLE_HEADER, MAX_PACKET, MAX_PAYLOAD, PacketType, clusterHash, decodeDatagram, encodeBundle, encodePacket, ringKey, type RingId } from './wire.js';

export interface TotemNodeAddr {
  id: number;
  name: string;
  address: string;
  port: number;
  votes?: number;
}

export interface TotemConfig {
  clusterName: string;
  nodeId: number;
  nodes: TotemNodeAddr[];
  timers?: Partial<TotemTimers>;
  cipher?: CipherName;
  transport?: 'udpu' | 'udp';
  /** Multicast group (transport udp); datagrams to all go there. */
  mcastAddr?: string;
  /** Where the highest ring sequence is kept across restarts (as Corosync's ringid file). */
  stateDir?: string;
  quorum?: { expected_votes?: number; two_node?: boolean; wait_for_all?: boolean; last_man_standing?: boolean; last_man_standing_window?: number };
  /** Log sink; drops are logged at most once per `logEveryMs` per reason. */
  log?: (line: string) => void;
  logEveryMs?: number;
}

export interface DropCounters {
  truncated: number;
  oversized: number;
  badFrame: number;
  badAuth: number;
  badCipher: number;
  badDecrypt: number;
  badVersion: number;
  wrongCluster: number;
  badType: number;
  malformed: number;
  badSource: number;
  unknownSender: number;
}

export interface RingStatus {
  clusterName: string;
  nodeId: number;
  transport: string;
  cipher: CipherName;
  state: string;
  ring: string;
  members: number[];
  nodes: Array<TotemNodeAddr & { status: 'localhost' | 'connected' | 'disconnected' }>;
  timers: TotemTimers & { token_retransmit: number; hold: number };
  counters: TotemCounters & { packetsIn: number; packetsOut: number; bytesIn: number; bytesOut: number };
  drops: DropCounters;
  quorum: QuorumStatus;
  updated: string;
}

export interface TotemEvents {
  deliver: [Delivery];
  /** A regular change carries the quorum it gives. */
  confchg: [ConfChg, QuorumStatus | undefined];
  quorum: [QuorumStatus];
  error: [Error];
}

export class TotemNode extends EventEmitter<TotemEvents> {
  private readonly stack: TotemStack;
  private readonly inputs: StackInput[] = [];
  private stepping = false;
  private get core(): TotemCore {
    return this.stack.core;
  }
  private get quorum(): VoteQuorum {
    return this.stack.quorum;
  }
  private socket: Socket | null = null;
  private mcastSocket: Socket | null = null;
  private readonly auth: PacketAuth;
  private readonly cluster: number;
  private readonly byId: Map<number, TotemNodeAddr>;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly drops: DropCounters = {
    truncated: 0,
    oversized: 0,
    badFrame: 0,
    badAuth: 0,
    badCipher: 0,
    badDecrypt: 0,
    badVersion: 0,
    wrongCluster: 0,
    badType: 0,
    malformed: 0,
    badSource: 0,
    unknownSender: 0,
  };
  private io = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0 };
  private lastLog = new Map<string, { at: number; suppressed: number }>();
  private stopped = false;
  private readonly ringFile: string | null;

  constructor(
    readonly config: TotemConfig,
    key: Uint8Array,
  ) {
    super();
    const me = config.nodes.find((n) => n.id === config.nodeId);
    if (!me) throw new Error(`totem: node id ${config.nodeId} is not among the configured nodes`);
    this.auth = new PacketAuth(key, config.cipher ?? 'none');
    this.cluster = clusterHash(config.clusterName);
    this.byId = new Map(config.nodes.map((n) => [n.id, n]));
    this.ringFile = config.stateDir ? join(config.stateDir, `ringid-${config.nodeId}`) : null;
    let ringSeq = 0;
    if (this.ringFile) {
      try {
        const text = readFileSync(this.ringFile, 'utf8').trim();
        if (/^\d+$/.test(text)) ringSeq = Number(text);
      } catch {
        // first start
      }
    }
    const q = config.quorum ?? {};
    this.stack = new TotemStack({ nodeId: config.nodeId, nodes: config.nodes.map((n) => n.id), timers: config.timers ?? {}, ringSeq }, {
      nodeId: config.nodeId,
      votes: new Map(config.nodes.map((n) => [n.id, n.votes ?? 1])),
      ...(q.expected_votes !== undefined ? { expected_votes: q.expected_votes } : {}),
      two_node: q.two_node === true,
      wait_for_all: q.wait_for_all === true,
      last_man_standing: q.last_man_standing === true,
      ...(q.last_man_standing_window !== undefined ? { last_man_standing_window: q.last_man_standing_window } : {}),
    });
  }

  /** Bind the socket and start the first membership round. */
  async start(): Promise<void> {
    const me = this.byId.get(this.config.nodeId)!;
    const type = me.address.includes(':') ? 'udp6' : 'udp4';
    // The unicast socket, bound to this node's own address: tokens, commit
    // tokens and (udpu) everything else; multicast is sent from it too, so a
    // receiver can check every packet's source address and port.
    const sock = createSocket({ type });
    this.socket = sock;
    await this.bindSocket(sock, me.port, me.address);
    if (this.config.transport === 'udp') {
      // As Corosync's udp transport: a second socket bound to the group receives multicast.
      if (!this.config.mcastAddr) throw new Error('totem: transport udp needs a multicast address');
      const msock = createSocket({ type, reuseAddr: true });
      this.mcastSocket = msock;
      await this.bindSocket(msock, me.port, this.config.mcastAddr);
      msock.addMembership(this.config.mcastAddr, me.address);
      sock.setMulticastInterface(me.address);
      sock.setMulticastLoopback(true);
    }
    for (const so of [this.socket, this.mcastSocket]) {
      try {
        so?.setRecvBufferSize(4 * 1024 * 1024);
        so?.setSendBufferSize(4 * 1024 * 1024);
      } catch {
        // the kernel's limit applies
      }
    }
    this.step({ type: 'start' });
  }

  private async bindSocket(sock: Socket, port: number, address: string): Promise<void> {
    sock.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo));
    sock.on('error', (err) => this.emit('error', err));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind({ port, address }, () => {
        sock.off('error', reject);
        resolve();
      });
    });
  }

  /** Queue a message for ordered delivery to every member (safe: only once all hold it). */
  send(payload: Uint8Array, opts: { safe?: boolean } = {}): void {
    if (payload.length > MAX_PAYLOAD) throw new RangeError(`totem: message of ${payload.length} bytes exceeds ${MAX_PAYLOAD}`);
    if (this.stopped) throw new Error('totem: node is stopped');
    this.step({ type: 'send', payload: Uint8Array.from(payload), safe: opts.safe === true });
  }

  /** Messages queued here and not yet broadcast (for flow control by the caller). */
  backlog(): number {
    return this.core.queued();
  }

  /** Totem state: gather, commit, recovery or operational. */
  state(): string {
    return this.core.state;
  }

  status(): RingStatus {
    const s = this.core.status();
    const t = this.core.t;
    return {
      clusterName: this.config.clusterName,
      nodeId: this.config.nodeId,
      transport: this.config.transport ?? 'udpu',
      cipher: this.auth.cipher,
      state: s.state,
      ring: ringKey(s.ring),
      members: s.members,
      nodes: this.config.nodes.map((n) => ({
        ...n,
        status: n.id === this.config.nodeId ? 'localhost' : s.members.includes(n.id) && s.state === 'operational' ? 'connected' : 'disconnected',
      })),
      timers: { ...t, token_retransmit: tokenRetransmitMs(t), hold: holdMs(t) },
      counters: { ...s.counters, ...this.io },
      drops: { ...this.drops },
      quorum: this.quorum.status(),
      updated: new Date().toISOString(),
    };
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    for (const sock of [this.socket, this.mcastSocket]) {
      if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
    }
    this.socket = null;
    this.mcastSocket = null;
  }

  // ------------------------------------------------------------------ internals

  private drop(reason: keyof DropCounters, rinfo: RemoteInfo): void {
    this.drops[reason]++;
    this.rateLog(reason, `totem: dropped a packet from ${rinfo.address}:${rinfo.port}: ${reason}`);
  }

  /** Log at most once per `logEveryMs` per key, saying how many were held back. */
  private rateLog(key: string, line: string): void {
    const log = this.config.log;
    if (!log) return;
    const every = this.config.logEveryMs ?? 5000;
    const now = Date.now();
    const l = this.lastLog.get(key);
    if (l && now - l.at < every) {
      l.suppressed++;
      return;
    }
    const extra = l && l.suppressed > 0 ? ` (${l.suppressed} more since last report)` : '';
    this.lastLog.set(key, { at: now, suppressed: 0 });
    log(`${line}${extra}`);
  }

  private onDatagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.stopped) return;
    this.io.packetsIn++;
    this.io.bytesIn += msg.length;
    const opened = this.auth.open(msg);
    if (!opened.ok) {
      const map = { truncated: 'truncated', 'bad-frame': 'badFrame', 'bad-auth': 'badAuth', 'bad-cipher': 'badCipher', 'bad-decrypt': 'badDecrypt' } as const;
      this.drop(map[opened.error], rinfo);
      return;
    }
    const d = decodeDatagram(opened.plain, this.cluster);
    if (!d.ok) {
      const map = {
        truncated: 'truncated',
        oversized: 'oversized',
        'bad-version': 'badVersion',
        'wrong-cluster': 'wrongCluster',
        'bad-type': 'badType',
        malformed: 'malformed',
      } as const;
      this.drop(map[d.error], rinfo);
      return;
    }
    const sender = this.byId.get(d.sender);
    if (!sender) {
      this.drop('unknownSender', rinfo);
      return;
    }
    // The key is shared, so also insist the datagram comes from the sender's own address.
    if (normalize(rinfo.address) !== normalize(sender.address) || rinfo.port !== sender.port) {
      this.drop('badSource', rinfo);
      return;
    }
    // A bundle's packets are stepped one by one, in the order they were sent.
    for (const packet of d.packets) this.step({ type: 'packet', packet });
  }

  private step(input: StackInput): void {
    // A listener may send from inside a delivery: that step waits until the
    // current step's events are all carried out, so their order holds.
    this.inputs.push(input);
    if (this.stepping) return;
    this.stepping = true;
    try {
      for (let next = this.inputs.shift(); next && !this.stopped; next = this.inputs.shift()) {
        let out: StackOutput;
        try {
          out = this.stack.step(next);
        } catch (err) {
          // A core bug must not take the node down silently: report it, keep running.
          this.emit('error', err instanceof Error ? err : new Error(String(err)));
          continue;
        }
        this.apply(out);
      }
    } finally {
      this.stepping = false;
      this.inputs.length = 0;
    }
  }

  private apply(out: StackOutput): void {
    if (out.persistRingSeq !== undefined && this.ringFile) {
      try {
        mkdirSync(this.config.stateDir!, { recursive: true });
        atomicWriteFileSync(this.ringFile, `${out.persistRingSeq}\n`, { mode: 0o600 });
      } catch (err) {
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    }
    for (const t of out.timers) this.setTimer(t.name, t.ms);
    this.sendAll(out.send);
    // The stack's order is the order listeners see: never regrouped here.
    for (const e of out.events) {
      if (this.stopped) return;
      if (e.type === 'deliver') this.emit('deliver', e.delivery);
      else if (e.type === 'confchg') this.emit('confchg', e.confchg, e.quorum);
      else this.emit('quorum', e.quorum);
    }
  }

  /**
   * Send a step's packets. Consecutive packets for the same destinations
   * (a token visit's broadcasts) go as one bundle: one seal, and one datagram
   * per destination, instead of one of each per packet. Order is kept: a
   * bundle is sent where its first packet was, and a token for other
   * destinations ends the run before it.
   */
  private sendAll(sends: StepOutput['send']): void {
    let route = '';
    let dests: TotemNodeAddr[] = [];
    let parts: Uint8Array[] = [];
    let bytes = BUNDLE_HEADER;
    const flush = (): void => {
      if (parts.length === 0) return;
      let frame: Buffer;
      try {
        frame = this.auth.seal(parts.length === 1 ? parts[0]! : encodeBundle(parts, this.config.nodeId, this.cluster));
      } catch (err) {
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
        parts = [];
        return;
      }
      parts = [];
      bytes = BUNDLE_HEADER;
      for (const n of dests) this.sendTo(frame, n.address, n.port);
    };
    for (const s of sends) {
      let encoded: Uint8Array;
      try {
        encoded = encodePacket(s.packet, this.cluster);
      } catch (err) {
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
        continue;
      }
      // Multicast: one datagram to the group for joins and ring messages (non-members drop
      // another ring's messages); tokens and commit tokens stay unicast.
      let key: string;
      let to: TotemNodeAddr[];
      if (this.config.transport === 'udp' && (s.to === 'all' || s.packet.type === PacketType.Mcast)) {
        key = 'mcast';
        to = [{ ...this.byId.get(this.config.nodeId)!, address: this.config.mcastAddr! }];
      } else {
        const ids = s.to === 'all' ? this.config.nodes.filter((n) => n.id !== this.config.nodeId).map((n) => n.id) : s.to;
        key = ids.join(',');
        to = [];
        for (const id of ids) {
          const n = this.byId.get(id);
          if (n) to.push(n);
        }
      }
      if (key !== route || bytes + BUNDLE_ENTRY + encoded.length > MAX_PACKET) {
        flush();
        route = key;
        dests = to;
      }
      parts.push(encoded);
      bytes += BUNDLE_ENTRY + encoded.length;
    }
    flush();
  }

  private setTimer(name: StackTimerName, ms: number | null): void {
    const old = this.timers.get(name);
    if (old) clearTimeout(old);
    this.timers.delete(name);
    if (ms === null) return;
    const h = setTimeout(() => {
      if (this.timers.get(name) !== h) return;
      this.timers.delete(name);
      this.step({ type: 'timer', name } as StackInput);
    }, ms);
    this.timers.set(name, h);
  }

  private sendTo(frame: Buffer, address: string, port: number): void {
    const sock = this.socket;
    if (!sock) return;
    this.io.packetsOut++;
    this.io.bytesOut += frame.length;
    sock.send(frame, port, address, (err) => {
      // Unreachable peers (ECONNREFUSED on loopback) are normal while a node is down.
      if (err) this.rateLog(`send:${address}:${port}`, `totem: send to ${address}:${port}: ${err.message}`);
    });
  }
}

function normalize(a: string): string {
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** Where a running node writes its status for `belay ring status` / `belay quorum status`. */
export const RING_STATUS_FILE = '/run/belay/ring-status.json';

/** Start a totem node: bind, then form or join a ring. */
export async function startTotem(config: TotemConfig, key: Uint8Array): Promise<TotemNode> {
  const node = new TotemNode(config, key);
  await node.start();
  return node;
}

export { DEFAULT_TIMERS, ringKey, type RingId };

/**
 * The totem part of belay's cluster file (src/daemon/config.ts's
 * ClusterConfig, taken structurally so the core side imports nothing above it).
 */
export interface ClusterFileLike {
  cluster_name: string;
  nodes: Array<{ name: string; id: number; address: string; votes: number }>;
  /** Totem timings in milliseconds, named as corosync.conf names them. */
  totem: {
    port: number;
    token?: number;
    token_retransmits_before_loss_const?: number;
    join?: number;
    consensus?: number;
    merge?: number;
    max_messages?: number;
    /** udpu (default) or udp (multicast). */
    transport: 'udpu' | 'udp';
    mcast_addr?: string;
    /** none (default: HMAC only) or aes256 (AES-256-GCM on top). */
    crypto_cipher: 'none' | 'aes256';
  };
  quorum: { expected_votes?: number; two_node: boolean; wait_for_all: boolean; last_man_standing: boolean };
  state_dir: string;
}

export function totemConfigFromCluster(c: ClusterFileLike, nodeId: number, log?: (line: string) => void): TotemConfig {
  const timers: Partial<TotemTimers> = {};
  for (const k of ['token', 'token_retransmits_before_loss_const', 'join', 'consensus', 'merge', 'max_messages'] as const) {
    const v = c.totem[k];
    if (v !== undefined) timers[k] = v;
  }
  // Corosync's rule: consensus defaults to 1.2 × token when only token is given.
  if (timers.token !== undefined && timers.consensus === undefined) timers.consensus = Math.round(timers.token * 1.2);
  const cfg: TotemConfig = {
    clusterName: c.cluster_name,
    nodeId,
    nodes: c.nodes.map((n) => ({ id: n.id, name: n.name, address: n.address, port: c.totem.port, votes: n.votes })),
    timers,
    cipher: c.totem.crypto_cipher,
    transport: c.totem.transport,
    stateDir: c.state_dir,
    quorum: { ...c.quorum },
  };
  if (c.totem.mcast_addr) cfg.mcastAddr = c.totem.mcast_addr;
  if (log) cfg.log = log;
  return cfg;
}
