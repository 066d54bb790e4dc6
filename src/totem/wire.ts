/**
 * Totem wire format: a compact big-endian binary encoding. Every packet
 * starts with a fixed header (version, type, cluster name hash, sender), so a
 * node can refuse another cluster's or another version's traffic before it
 * looks at the body. The decoder never throws on bad input: it returns an
 * error naming what was wrong, and the shell counts and drops the packet.
 *
 * Pure: no I/O. Authentication (HMAC / AES-GCM) is the shell's job and wraps
 * these bytes.
 */

export const WIRE_VERSION = 1;
/** Largest encoded packet we emit or accept (fits one UDP datagram on loopback and LANs with fragmentation). */
export const MAX_PACKET = 65_000;
/** Largest application payload in one message. */
export const MAX_PAYLOAD = 60_000;
/** Largest node list a join or commit token may carry. */
export const MAX_NODES = 1024;
/** Largest retransmission request list on a token. */
export const MAX_RTR = 256;

export const enum PacketType {
  Mcast = 1,
  Token = 2,
  Join = 3,
  Commit = 4,
  MergeDetect = 5,
  HoldCancel = 6,
  /** Several packets of one sender in one datagram (see encodeBundle). */
  Bundle = 7,
}

export interface RingId {
  /** The representative: the lowest node id of the ring. */
  rep: number;
  /** Ring sequence, increasing by 4 per new ring (as Corosync does). */
  seq: number;
}

export interface McastBody {
  ring: RingId;
  seq: number;
  /** The node that first broadcast the message (retransmissions keep it). */
  origin: number;
  safe: boolean;
  /** Recovery: an old ring's message carried on the new ring. */
  encap?: { ring: RingId; seq: number; origin: number; safe: boolean; noop: boolean };
  payload: Uint8Array;
}

export interface TokenBody {
  ring: RingId;
  /** Increases by one per hop: a node ignores a token not newer than the last it took. */
  tokenSeq: number;
  /** Highest message sequence number assigned on this ring. */
  seq: number;
  /** Minimum all-received-up-to of the rotation in progress (started by the representative). */
  aru: number;
  /** Minimum of the last complete rotation: every member holds every message up to here. */
  stable: number;
  /** Recovery: consecutive member visits that had nothing left to exchange. */
  quiet: number;
  /** Recovery is finished; members take the new ring into operation. */
  done: boolean;
  /** Messages queued on all members (Corosync's token backlog; capped at 65535): the representative holds an idle token only at 0. */
  backlog: number;
  /** Retransmission requests (sequence numbers). */
  rtr: number[];
}

export interface JoinBody {
  /** Highest ring sequence the sender has seen (monotonic, persisted). */
  ringSeq: number;
  proc: number[];
  fail: number[];
}

export interface CommitEntry {
  id: number;
  filled: boolean;
  oldRing: RingId;
  aru: number;
  highSeq: number;
  /** Highest sequence it knows every old-ring member held (safe-delivery point). */
  stable: number;
}

export interface CommitBody {
  ring: RingId;
  /** Members in ring order, each with what it holds of its old ring. */
  members: CommitEntry[];
}

export interface MergeDetectBody {
  ring: RingId;
}

export type Packet =
  | { type: PacketType.Mcast; sender: number; body: McastBody }
  | { type: PacketType.Token; sender: number; body: TokenBody }
  | { type: PacketType.Join; sender: number; body: JoinBody }
  | { type: PacketType.Commit; sender: number; body: CommitBody }
  | { type: PacketType.MergeDetect; sender: number; body: MergeDetectBody }
  /** A member has something to send: the representative lets a held token go. */
  | { type: PacketType.HoldCancel; sender: number; body: MergeDetectBody };

export type DecodeError = 'truncated' | 'oversized' | 'bad-version' | 'wrong-cluster' | 'bad-type' | 'malformed';
export type DecodeResult = { ok: true; packet: Packet } | { ok: false; error: DecodeError };

/** FNV-1a 32-bit hash of the cluster name: cheap, stable, carried in every header. */
export function clusterHash(name: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(name);
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export function ringKey(r: RingId): string {
  return `${r.rep}.${r.seq.toString(16)}`;
}

export function sameRing(a: RingId, b: RingId): boolean {
  return a.rep === b.rep && a.seq === b.seq;
}

const HEADER = 10; // version u8, type u8, cluster u32, sender u32
const ENTRY = 4 + 1 + 8 + 4 + 4 + 4;

class Writer {
  buf: Uint8Array;
  view: DataView;
  off = 0;
  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }
  u8(v: number): void {
    this.view.setUint8(this.off, v);
    this.off += 1;
  }
  u16(v: number): void {
    this.view.setUint16(this.off, v);
    this.off += 2;
  }
  u32(v: number): void {
    this.view.setUint32(this.off, v >>> 0);
    this.off += 4;
  }
  ring(r: RingId): void {
    this.u32(r.rep);
    this.u32(r.seq);
  }
  bytes(b: Uint8Array): void {
    this.buf.set(b, this.off);
    this.off += b.length;
  }
  ids(list: number[]): void {
    this.u16(list.length);
    for (const id of list) this.u32(id);
  }
}

function checkU32(v: number, what: string): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RangeError(`totem encode: ${what} ${v} is not a u32`);
}

/** Encode a packet. Throws only on a programming error (values out of range). */
export function encodePacket(p: Packet, cluster: number): Uint8Array {
  checkU32(p.sender, 'sender');
  let size = HEADER;
  switch (p.type) {
    case PacketType.Mcast:
      size += 8 + 4 + 4 + 1 + (p.body.encap ? 8 + 4 + 4 + 1 : 0) + 4 + p.body.payload.length;
      if (p.body.payload.length > MAX_PAYLOAD) throw new RangeError(`totem encode: payload of ${p.body.payload.length} bytes exceeds ${MAX_PAYLOAD}`);
      break;
    case PacketType.Token:
      if (p.body.rtr.length > MAX_RTR) throw new RangeError('totem encode: too many retransmission requests');
      size += 8 + 4 * 5 + 2 + 1 + 2 + 4 * p.body.rtr.length;
      break;
    case PacketType.Join:
      if (p.body.proc.length > MAX_NODES || p.body.fail.length > MAX_NODES) throw new RangeError('totem encode: too many nodes');
      size += 4 + 2 + 4 * p.body.proc.length + 2 + 4 * p.body.fail.length;
      break;
    case PacketType.Commit:
      if (p.body.members.length > MAX_NODES) throw new RangeError('totem encode: too many nodes');
      size += 8 + 2 + p.body.members.length * ENTRY;
      break;
    case PacketType.MergeDetect:
    case PacketType.HoldCancel:
      size += 8;
      break;
  }
  const w = new Writer(size);
  w.u8(WIRE_VERSION);
  w.u8(p.type);
  w.u32(cluster);
  w.u32(p.sender);
  switch (p.type) {
    case PacketType.Mcast: {
      const b = p.body;
      w.ring(b.ring);
      w.u32(b.seq);
      w.u32(b.origin);
      w.u8((b.safe ? 1 : 0) | (b.encap ? 2 : 0));
      if (b.encap) {
        w.ring(b.encap.ring);
        w.u32(b.encap.seq);
        w.u32(b.encap.origin);
        w.u8((b.encap.safe ? 1 : 0) | (b.encap.noop ? 2 : 0));
      }
      w.u32(b.payload.length);
      w.bytes(b.payload);
      break;
    }
    case PacketType.Token: {
      const b = p.body;
      w.ring(b.ring);
      w.u32(b.tokenSeq);
      w.u32(b.seq);
      w.u32(b.aru);
      w.u32(b.stable);
      w.u32(b.quiet);
      w.u8(b.done ? 1 : 0);
      w.u16(Math.min(0xffff, Math.max(0, b.backlog)));
      w.u16(b.rtr.length);
      for (const s of b.rtr) w.u32(s);
      break;
    }
    case PacketType.Join:
      w.u32(p.body.ringSeq);
      w.ids(p.body.proc);
      w.ids(p.body.fail);
      break;
    case PacketType.Commit:
      w.ring(p.body.ring);
      w.u16(p.body.members.length);
      for (const m of p.body.members) {
        w.u32(m.id);
        w.u8(m.filled ? 1 : 0);
        w.ring(m.oldRing);
        w.u32(m.aru);
        w.u32(m.highSeq);
        w.u32(m.stable);
      }
      break;
    case PacketType.MergeDetect:
    case PacketType.HoldCancel:
      w.ring(p.body.ring);
      break;
  }
  return w.off === w.buf.length ? w.buf : w.buf.subarray(0, w.off);
}

class Truncated extends Error {}
class Malformed extends Error {}

class Reader {
  view: DataView;
  off = 0;
  constructor(readonly buf: Uint8Array) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  need(n: number): void {
    if (this.off + n > this.buf.length) throw new Truncated();
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.off++);
  }
  u16(): number {
    this.need(2);
    const v = this.view.getUint16(this.off);
    this.off += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.off);
    this.off += 4;
    return v;
  }
  ring(): RingId {
    const rep = this.u32();
    const seq = this.u32();
    return { rep, seq };
  }
  ids(): number[] {
    const n = this.u16();
    if (n > MAX_NODES) throw new Malformed();
    this.need(4 * n);
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push(this.u32());
    return out;
  }
  bytes(n: number): Uint8Array {
    this.need(n);
    const b = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return b;
  }
}

/** Decode and check one packet; never throws. */
export function decodePacket(buf: Uint8Array, cluster: number): DecodeResult {
  if (buf.length > MAX_PACKET) return { ok: false, error: 'oversized' };
  if (buf.length < HEADER) return { ok: false, error: 'truncated' };
  const r = new Reader(buf);
  try {
    if (r.u8() !== WIRE_VERSION) return { ok: false, error: 'bad-version' };
    const type = r.u8();
    if (r.u32() !== cluster) return { ok: false, error: 'wrong-cluster' };
    const sender = r.u32();
    if (sender === 0) return { ok: false, error: 'malformed' };
    let packet: Packet;
    switch (type) {
      case PacketType.Mcast: {
        const ring = r.ring();
        const seq = r.u32();
        const origin = r.u32();
        const flags = r.u8();
        if (flags & ~3) throw new Malformed();
        let encap: McastBody['encap'];
        if (flags & 2) {
          const ering = r.ring();
          const eseq = r.u32();
          const eorigin = r.u32();
          const ef = r.u8();
          if (ef & ~3) throw new Malformed();
          encap = { ring: ering, seq: eseq, origin: eorigin, safe: (ef & 1) === 1, noop: (ef & 2) === 2 };
        }
        const len = r.u32();
        if (len > MAX_PAYLOAD) throw new Malformed();
        const payload = r.bytes(len);
        if (seq === 0 || origin === 0) throw new Malformed();
        const body: McastBody = { ring, seq, origin, safe: (flags & 1) === 1, payload };
        if (encap) body.encap = encap;
        packet = { type, sender, body };
        break;
      }
      case PacketType.Token: {
        const ring = r.ring();
        const tokenSeq = r.u32();
        const seq = r.u32();
        const aru = r.u32();
        const stable = r.u32();
        const quiet = r.u32();
        const done = r.u8();
        if (done > 1) throw new Malformed();
        const backlog = r.u16();
        const n = r.u16();
        if (n > MAX_RTR) throw new Malformed();
        r.need(4 * n);
        const rtr: number[] = [];
        for (let i = 0; i < n; i++) rtr.push(r.u32());
        if (aru > seq || stable > seq) throw new Malformed();
        packet = { type, sender, body: { ring, tokenSeq, seq, aru, stable, quiet, done: done === 1, backlog, rtr } };
        break;
      }
      case PacketType.Join: {
        const ringSeq = r.u32();
        const proc = r.ids();
        const fail = r.ids();
        packet = { type, sender, body: { ringSeq, proc, fail } };
        break;
      }
      case PacketType.Commit: {
        const ring = r.ring();
        const n = r.u16();
        if (n === 0 || n > MAX_NODES) throw new Malformed();
        r.need(n * ENTRY);
        const members: CommitEntry[] = [];
        for (let i = 0; i < n; i++) {
          const id = r.u32();
          const filled = r.u8();
          if (filled > 1) throw new Malformed();
          const oldRing = r.ring();
          const aru = r.u32();
          const highSeq = r.u32();
          const stable = r.u32();
          members.push({ id, filled: filled === 1, oldRing, aru, highSeq, stable });
        }
        packet = { type, sender, body: { ring, members } };
        break;
      }
      case PacketType.MergeDetect:
      case PacketType.HoldCancel:
        packet = { type, sender, body: { ring: r.ring() } };
        break;
      default:
        return { ok: false, error: 'bad-type' };
    }
    if (r.off !== buf.length) return { ok: false, error: 'malformed' };
    return { ok: true, packet };
  } catch (e) {
    if (e instanceof Truncated) return { ok: false, error: 'truncated' };
    if (e instanceof Malformed) return { ok: false, error: 'malformed' };
    return { ok: false, error: 'malformed' };
  }
}

/**
 * Bundles: the shell packs the packets one core step sends to the same
 * destinations (a token visit's broadcasts, up to max_messages of them) into
 * one datagram, so they cost one seal, one open and one sendto per
 * destination instead of one each (Corosync packs messages up to the MTU in
 * the same spirit). The core never sees bundles: each inner packet keeps its
 * own sequence number and is stepped in the order it was sent, so ordering is
 * exactly that of separate datagrams.
 *
 * Layout: header (version, type 7, cluster, sender) | count u16 |
 *         count × (length u32 | an encoded packet of the same sender, not a bundle)
 */
export const BUNDLE_HEADER = HEADER + 2;
export const BUNDLE_ENTRY = 4;
/** Most packets one bundle may carry. */
export const MAX_BUNDLE = 1024;

/** Pack already-encoded packets of `sender` into one bundle (caller keeps the total within MAX_PACKET). */
export function encodeBundle(parts: Uint8Array[], sender: number, cluster: number): Uint8Array {
  checkU32(sender, 'sender');
  if (parts.length === 0 || parts.length > MAX_BUNDLE) throw new RangeError(`totem encode: a bundle of ${parts.length} packets`);
  let size = BUNDLE_HEADER;
  for (const p of parts) size += BUNDLE_ENTRY + p.length;
  if (size > MAX_PACKET) throw new RangeError(`totem encode: bundle of ${size} bytes exceeds ${MAX_PACKET}`);
  const w = new Writer(size);
  w.u8(WIRE_VERSION);
  w.u8(PacketType.Bundle);
  w.u32(cluster);
  w.u32(sender);
  w.u16(parts.length);
  for (const p of parts) {
    w.u32(p.length);
    w.bytes(p);
  }
  return w.buf;
}

export type DatagramResult = { ok: true; sender: number; packets: Packet[] } | { ok: false; error: DecodeError };

/**
 * Decode one datagram: a single packet or a bundle; never throws. Every
 * packet of a bundle must be well formed and of the bundle's sender, or the
 * whole datagram is refused.
 */
export function decodeDatagram(buf: Uint8Array, cluster: number): DatagramResult {
  if (buf.length > MAX_PACKET) return { ok: false, error: 'oversized' };
  if (buf.length < HEADER) return { ok: false, error: 'truncated' };
  if (buf[1] !== PacketType.Bundle) {
    const d = decodePacket(buf, cluster);
    return d.ok ? { ok: true, sender: d.packet.sender, packets: [d.packet] } : d;
  }
  const r = new Reader(buf);
  try {
    if (r.u8() !== WIRE_VERSION) return { ok: false, error: 'bad-version' };
    r.u8();
    if (r.u32() !== cluster) return { ok: false, error: 'wrong-cluster' };
    const sender = r.u32();
    if (sender === 0) return { ok: false, error: 'malformed' };
    const n = r.u16();
    if (n === 0 || n > MAX_BUNDLE) return { ok: false, error: 'malformed' };
    const packets: Packet[] = [];
    for (let i = 0; i < n; i++) {
      const len = r.u32();
      r.need(len);
      const inner = buf.subarray(r.off, r.off + len);
      r.off += len;
      if (len >= 2 && inner[1] === PacketType.Bundle) return { ok: false, error: 'malformed' };
      const d = decodePacket(inner, cluster);
      if (!d.ok) return d;
      if (d.packet.sender !== sender) return { ok: false, error: 'malformed' };
      packets.push(d.packet);
    }
    if (r.off !== buf.length) return { ok: false, error: 'malformed' };
    return { ok: true, sender, packets };
  } catch (e) {
    return { ok: false, error: e instanceof Truncated ? 'truncated' : 'malformed' };
  }
}
