/**
 * The UDP shell on loopback fed every kind of bad packet from a peer's own
 * address: garbage, truncated, oversized, wrong key, wrong cluster, bad
 * version, bad source, replayed old-ring packets. Each is dropped and counted,
 * the node keeps running, and drops are logged at a rate limit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { startTotem, type TotemNode } from '../../src/totem/udp.js';
import { freeUdpPort } from './proc.js';
import { PacketAuth } from '../../src/totem/auth.js';
import { PacketType, WIRE_VERSION, clusterHash, encodeBundle, encodePacket, type Packet } from '../../src/totem/wire.js';

let port = 0;
const key = randomBytes(64);
const CLUSTER = 'badinput';

describe('UDP shell: bad packets are dropped and counted', () => {
  let node: TotemNode;
  let peer: Socket; // plays node 2 from node 2's own address
  let stranger: Socket; // an address that is no node's
  const logs: string[] = [];
  const auth = new PacketAuth(key, 'aes256');

  const send = (sock: Socket, buf: Uint8Array) =>
    new Promise<void>((res, rej) => sock.send(buf, port, '127.0.0.1', (e) => (e ? rej(e) : res())));
  const settle = () => new Promise((r) => setTimeout(r, 150));

  beforeAll(async () => {
    port = await freeUdpPort();
    node = await startTotem(
      {
        clusterName: CLUSTER,
        nodeId: 1,
        nodes: [
          { id: 1, name: 'n1', address: '127.0.0.1', port },
          { id: 2, name: 'n2', address: '127.0.0.2', port },
        ],
        cipher: 'aes256',
        log: (l) => logs.push(l),
        logEveryMs: 60_000,
      },
      key,
    );
    peer = createSocket('udp4');
    await new Promise<void>((r) => peer.bind(port, '127.0.0.2', () => r()));
    stranger = createSocket('udp4');
    await new Promise<void>((r) => stranger.bind(0, '127.0.0.9', () => r()));
    // Node 1 forms a ring of its own (node 2 is only played by the test).
    const end = Date.now() + 5000;
    while (node.status().state !== 'operational' && Date.now() < end) await settle();
  });

  afterAll(async () => {
    await node?.stop();
    peer?.close();
    stranger?.close();
  });

  const join: Packet = { type: PacketType.Join, sender: 2, body: { ringSeq: 0, proc: [2], fail: [] } };

  it('is operational alone', () => {
    expect(node.status().state).toBe('operational');
    expect(node.status().members).toEqual([1]);
  });

  it('garbage and truncated frames', async () => {
    await send(peer, randomBytes(200));
    await send(peer, new Uint8Array([0x42]));
    const good = auth.seal(encodePacket(join, clusterHash(CLUSTER)));
    await send(peer, good.subarray(0, 20));
    await send(peer, good.subarray(0, good.length - 5));
    await settle();
    const d = node.status().drops;
    expect(d.badFrame).toBeGreaterThanOrEqual(1);
    expect(d.truncated).toBeGreaterThanOrEqual(1);
    expect(d.badAuth).toBeGreaterThanOrEqual(1); // the cut-off frame fails its MAC
  });

  it('wrong key', async () => {
    const before = node.status().drops.badAuth;
    await send(peer, new PacketAuth(randomBytes(64), 'aes256').seal(encodePacket(join, clusterHash(CLUSTER))));
    await settle();
    expect(node.status().drops.badAuth).toBe(before + 1);
  });

  it('wrong cluster and bad version (right key)', async () => {
    await send(peer, auth.seal(encodePacket(join, clusterHash('other-cluster'))));
    const v = encodePacket(join, clusterHash(CLUSTER));
    v[0] = WIRE_VERSION + 1;
    await send(peer, auth.seal(v));
    await settle();
    expect(node.status().drops.wrongCluster).toBe(1);
    expect(node.status().drops.badVersion).toBe(1);
  });

  it('oversized (right key)', async () => {
    const big = new Uint8Array(65_001);
    big.set(encodePacket(join, clusterHash(CLUSTER)));
    await send(peer, auth.seal(big));
    await settle();
    expect(node.status().drops.oversized).toBe(1);
  });

  it('a valid packet from an address that is not the sender', async () => {
    await send(stranger, auth.seal(encodePacket(join, clusterHash(CLUSTER))));
    await settle();
    expect(node.status().drops.badSource).toBe(1);
  });

  it('replayed packets of an old ring are ignored', async () => {
    const st = node.status();
    const [rep, seqHex] = st.ring.split('.');
    const old = { rep: Number(rep), seq: parseInt(seqHex!, 16) - 4 };
    const before = st.counters.droppedOldRing;
    const mcast: Packet = { type: PacketType.Mcast, sender: 2, body: { ring: old, seq: 1, origin: 2, safe: false, payload: new Uint8Array([1]) } };
    const token: Packet = { type: PacketType.Token, sender: 2, body: { ring: old, tokenSeq: 99, seq: 1, aru: 1, stable: 1, quiet: 0, done: false, backlog: 0, rtr: [] } };
    const delivered: unknown[] = [];
    node.on('deliver', (d) => delivered.push(d));
    await send(peer, auth.seal(encodePacket(mcast, clusterHash(CLUSTER))));
    await send(peer, auth.seal(encodePacket(token, clusterHash(CLUSTER))));
    await settle();
    expect(node.status().counters.droppedOldRing).toBe(before + 2);
    expect(delivered).toEqual([]);
    expect(node.status().state).toBe('operational');
  });

  it('a bundle smuggling another node\'s packet is dropped whole', async () => {
    const before = node.status().drops.malformed;
    const c = clusterHash(CLUSTER);
    const forged: Packet = { type: PacketType.Join, sender: 1, body: { ringSeq: 0, proc: [1], fail: [] } };
    await send(peer, auth.seal(encodeBundle([encodePacket(join, c), encodePacket(forged, c)], 2, c)));
    await settle();
    expect(node.status().drops.malformed).toBe(before + 1);
    expect(node.status().state).toBe('operational');
  });

  it('logs drops at a rate limit, not once per packet', async () => {
    const before = logs.filter((l) => /badAuth/.test(l)).length;
    for (let i = 0; i < 50; i++) await send(peer, new PacketAuth(randomBytes(64), 'aes256').seal(new Uint8Array(20)));
    await settle();
    expect(node.status().drops.badAuth).toBeGreaterThanOrEqual(51);
    expect(logs.filter((l) => /badAuth/.test(l)).length - before).toBeLessThanOrEqual(1);
    expect(node.status().state).toBe('operational');
  });
});
