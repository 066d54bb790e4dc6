/**
 * The wire format and packet protection: round trips, every kind of bad
 * packet named, and a fuzz run of random and mutated packets through the
 * decoder and the core (nothing may throw).
 */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { PacketType, MAX_PACKET, MAX_PAYLOAD, clusterHash, decodeDatagram, decodePacket, encodeBundle, encodePacket, type Packet } from '../../src/totem/wire.js';
import { PacketAuth } from '../../src/totem/auth.js';
import { TotemCore } from '../../src/totem/core.js';
import { Rng } from '../../src/sim/rng.js';

const C = clusterHash('wiretest');
const ring = { rep: 1, seq: 8 };

const samples: Packet[] = [
  { type: PacketType.Mcast, sender: 2, body: { ring, seq: 5, origin: 2, safe: false, payload: new Uint8Array([1, 2, 3]) } },
  { type: PacketType.Mcast, sender: 3, body: { ring, seq: 6, origin: 2, safe: true, payload: new Uint8Array(0), encap: { ring: { rep: 2, seq: 4 }, seq: 9, origin: 7, safe: true, noop: false } } },
  { type: PacketType.Token, sender: 1, body: { ring, tokenSeq: 77, seq: 10, aru: 8, stable: 7, quiet: 0, done: false, backlog: 3, rtr: [9, 10] } },
  { type: PacketType.Token, sender: 1, body: { ring, tokenSeq: 1, seq: 0, aru: 0, stable: 0, quiet: 3, done: true, backlog: 0, rtr: [] } },
  { type: PacketType.Join, sender: 4, body: { ringSeq: 12, proc: [1, 2, 4], fail: [3] } },
  {
    type: PacketType.Commit,
    sender: 1,
    body: {
      ring: { rep: 1, seq: 16 },
      members: [
        { id: 1, filled: true, oldRing: ring, aru: 3, highSeq: 5, stable: 2 },
        { id: 2, filled: false, oldRing: { rep: 0, seq: 0 }, aru: 0, highSeq: 0, stable: 0 },
      ],
    },
  },
  { type: PacketType.MergeDetect, sender: 5, body: { ring } },
  { type: PacketType.HoldCancel, sender: 2, body: { ring } },
];

describe('wire format', () => {
  it.each(samples.map((p) => [['', 'mcast', 'token', 'join', 'commit', 'merge-detect', 'hold-cancel'][p.type]!, p] as const))('round-trips a %s packet', (_n, p) => {
    const bytes = encodePacket(p, C);
    const d = decodePacket(bytes, C);
    expect(d).toEqual({ ok: true, packet: p });
  });

  it('names each kind of bad packet', () => {
    const good = encodePacket(samples[0]!, C);
    expect(decodePacket(new Uint8Array(0), C)).toEqual({ ok: false, error: 'truncated' });
    expect(decodePacket(good.subarray(0, good.length - 1), C)).toEqual({ ok: false, error: 'truncated' });
    expect(decodePacket(new Uint8Array(MAX_PACKET + 1), C)).toEqual({ ok: false, error: 'oversized' });
    const v = Uint8Array.from(good);
    v[0] = 9;
    expect(decodePacket(v, C)).toEqual({ ok: false, error: 'bad-version' });
    expect(decodePacket(good, clusterHash('another'))).toEqual({ ok: false, error: 'wrong-cluster' });
    const t = Uint8Array.from(good);
    t[1] = 99;
    expect(decodePacket(t, C)).toEqual({ ok: false, error: 'bad-type' });
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(decodePacket(longer, C)).toEqual({ ok: false, error: 'malformed' });
  });

  it('reports truncation at every length of every packet', () => {
    for (const p of samples) {
      const b = encodePacket(p, C);
      for (let n = 0; n < b.length; n++) {
        const d = decodePacket(b.subarray(0, n), C);
        expect(d.ok).toBe(false);
      }
    }
  });

  it('refuses to encode out-of-range values', () => {
    expect(() => encodePacket({ ...samples[4]!, sender: -1 } as Packet, C)).toThrow(RangeError);
  });
});

describe('bundles (several packets of one sender in one datagram)', () => {
  const mine = (sender: number) => samples.map((p) => ({ ...p, sender }) as Packet);
  const seqs = (from: number, n: number): Packet[] =>
    Array.from({ length: n }, (_, i) => ({ type: PacketType.Mcast, sender: 2, body: { ring, seq: from + i, origin: 2, safe: i % 2 === 0, payload: Uint8Array.from([i, i + 1]) } }));

  it('round-trip every packet kind in order, keeping each sequence number', () => {
    const ps = [...seqs(1, 17), ...mine(2)];
    const b = encodeBundle(
      ps.map((p) => encodePacket(p, C)),
      2,
      C,
    );
    expect(decodeDatagram(b, C)).toEqual({ ok: true, sender: 2, packets: ps });
  });

  it('a plain packet decodes as a datagram of one', () => {
    expect(decodeDatagram(encodePacket(samples[2]!, C), C)).toEqual({ ok: true, sender: 1, packets: [samples[2]] });
  });

  it('refuses mixed senders, nested bundles, bad members, empty, trailing bytes, truncation', () => {
    const a = encodePacket(seqs(1, 1)[0]!, C);
    const other = encodePacket({ ...samples[4]!, sender: 3 } as Packet, C);
    expect(decodeDatagram(encodeBundle([a, other], 2, C), C)).toEqual({ ok: false, error: 'malformed' });
    const inner = encodeBundle([a], 2, C);
    expect(decodeDatagram(encodeBundle([a, inner], 2, C), C)).toEqual({ ok: false, error: 'malformed' });
    const bad = Uint8Array.from(a);
    bad[1] = 99;
    expect(decodeDatagram(encodeBundle([a, bad], 2, C), C)).toEqual({ ok: false, error: 'bad-type' });
    expect(decodeDatagram(encodeBundle([a, a], 2, C), clusterHash('another'))).toEqual({ ok: false, error: 'wrong-cluster' });
    const empty = Uint8Array.from(encodeBundle([a], 2, C).subarray(0, 12));
    empty[10] = 0;
    empty[11] = 0;
    expect(decodeDatagram(empty, C)).toEqual({ ok: false, error: 'malformed' });
    const good = encodeBundle([a, a], 2, C);
    const longer = new Uint8Array(good.length + 1);
    longer.set(good);
    expect(decodeDatagram(longer, C)).toEqual({ ok: false, error: 'malformed' });
    for (let n = 0; n < good.length; n++) expect(decodeDatagram(good.subarray(0, n), C).ok).toBe(false);
    const zeroSender = Uint8Array.from(good);
    zeroSender.fill(0, 6, 10);
    expect(decodeDatagram(zeroSender, C)).toEqual({ ok: false, error: 'malformed' });
  });

  it('refuses to encode an empty or oversized bundle', () => {
    expect(() => encodeBundle([], 2, C)).toThrow(RangeError);
    const big = encodePacket({ type: PacketType.Mcast, sender: 2, body: { ring, seq: 1, origin: 2, safe: false, payload: new Uint8Array(MAX_PAYLOAD) } }, C);
    expect(() => encodeBundle([big, big], 2, C)).toThrow(RangeError);
  });

  it('fuzz: mutated bundles never throw, and whatever decodes is of one sender', () => {
    const rng = new Rng(7);
    const good = encodeBundle(
      [...seqs(1, 5), ...mine(2)].map((p) => encodePacket(p, C)),
      2,
      C,
    );
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let buf = Uint8Array.from(good);
      const flips = 1 + rng.int(3);
      for (let k = 0; k < flips; k++) buf[rng.int(buf.length)] = rng.int(256);
      if (rng.chance(0.2)) buf = buf.subarray(0, rng.int(buf.length + 1));
      const d = decodeDatagram(buf, C);
      if (!d.ok) continue;
      accepted++;
      for (const p of d.packets) expect(p.sender).toBe(d.sender);
    }
    expect(accepted).toBeGreaterThan(100);
  });
});

describe('packet protection', () => {
  const key = randomBytes(64);
  for (const cipher of ['none', 'aes256'] as const) {
    it(`${cipher}: seals and opens, refuses tampering, wrong key, truncation`, () => {
      const a = new PacketAuth(key, cipher);
      const plain = encodePacket(samples[2]!, C);
      const frame = a.seal(plain);
      const o = a.open(frame);
      expect(o.ok && Buffer.from(o.plain).equals(Buffer.from(plain))).toBe(true);
      if (cipher === 'aes256') expect(frame.includes(Buffer.from(plain))).toBe(false);
      for (let i = 0; i < frame.length; i += 3) {
        const bad = Buffer.from(frame);
        bad[i] = bad[i]! ^ 0x40;
        expect(a.open(bad).ok).toBe(false);
      }
      expect(new PacketAuth(randomBytes(64), cipher).open(frame)).toEqual({ ok: false, error: 'bad-auth' });
      expect(a.open(frame.subarray(0, 10))).toEqual({ ok: false, error: 'truncated' });
      expect(a.open(frame.subarray(0, frame.length - 1)).ok).toBe(false);
    });
  }
  it('aes256: never reuses a nonce (same packet twice seals differently)', () => {
    const a = new PacketAuth(key, 'aes256');
    const plain = encodePacket(samples[0]!, C);
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) nonces.add(a.seal(plain).subarray(4, 16).toString('hex'));
    expect(nonces.size).toBe(1000);
    // Another process (another PacketAuth) draws its own fixed field.
    expect(new PacketAuth(key, 'aes256').seal(plain).subarray(4, 12).equals(a.seal(plain).subarray(4, 12))).toBe(false);
  });

  it('refuses a frame of the other cipher and a short key', () => {
    const frame = new PacketAuth(key, 'none').seal(encodePacket(samples[0]!, C));
    expect(new PacketAuth(key, 'aes256').open(frame)).toEqual({ ok: false, error: 'bad-cipher' });
    expect(() => new PacketAuth(new Uint8Array(8), 'none')).toThrow(/at least 32/);
  });
});

describe('fuzz: random and mutated packets through decoder and core', () => {
  const seeds = [1, 2, 3];
  it.each(seeds)('seed %i: nothing throws, cores stay consistent', (seed) => {
    const rng = new Rng(seed);
    const cores = [1, 2, 3].map((id) => new TotemCore({ nodeId: id, nodes: [1, 2, 3] }));
    for (const c of cores) c.step({ type: 'start' });
    const encoded = samples.map((p) => encodePacket(p, C));
    let accepted = 0;
    for (let i = 0; i < 20_000; i++) {
      let buf: Uint8Array;
      const r = rng.next();
      if (r < 0.2) {
        buf = new Uint8Array(rng.int(80));
        for (let k = 0; k < buf.length; k++) buf[k] = rng.int(256);
      } else {
        buf = Uint8Array.from(rng.pick(encoded));
        const flips = 1 + rng.int(4);
        for (let k = 0; k < flips; k++) {
          // Keep the header mostly valid so the body parser gets exercised.
          const at = 10 + rng.int(Math.max(1, buf.length - 10));
          if (at < buf.length) buf[at] = rng.int(256);
        }
        if (rng.chance(0.2)) buf = buf.subarray(0, rng.int(buf.length + 1));
      }
      const d = decodePacket(buf, C);
      if (!d.ok) continue;
      accepted++;
      const core = rng.pick(cores);
      expect(() => core.step({ type: 'packet', packet: d.packet })).not.toThrow();
      if (rng.chance(0.05)) core.step({ type: 'timer', name: rng.pick(['token', 'join', 'consensus', 'token_retransmit', 'merge', 'hold'] as const) });
    }
    expect(accepted).toBeGreaterThan(1000);
    for (const c of cores) expect(['gather', 'commit', 'recovery', 'operational']).toContain(c.status().state);
  });
});
