/**
 * How VRRP packets travel. The engine only sees this interface. The default
 * is RawTransport (raw-transport.ts): IP protocol 112, wire-compatible with
 * keepalived and routers.
 *
 * UdpTransport (an explicit option, `belay keepalived --udp-port N`) carries the exact VRRP message (RFC 5798 / RFC 3768 bytes,
 * checksums included) as a UDP payload, to the multicast group (224.0.0.18
 * by default) or to unicast peers, on port 5798 by default. It sends with TTL
 * 255; it cannot read the TTL of what it receives, so the core's TTL check
 * applies only to transports that report it.
 */
import dgram from 'node:dgram';
import type { Family } from './addr.js';

export const VRRP_UDP_PORT = 5798;

export interface ReceivedPacket {
  bytes: Uint8Array;
  src: string;
  family: Family;
  /** TTL / hop limit as received (raw sockets see it; UDP does not). */
  ttl?: number;
  /** Destination address of the IP packet (raw sockets). */
  dst?: string;
  /** Interface the packet arrived on (raw sockets, bound per interface). */
  ifname?: string;
}

/** Where an instance listens: its interface, and its multicast group unless it is unicast. */
export interface Membership {
  family: Family;
  group?: string;
  /** Local address on the interface to join on (and to send from). */
  localAddress: string;
  ifname: string;
}

export interface VrrpTransport {
  /** Open sockets and join the given multicast groups. */
  open(memberships: Membership[], onPacket: (p: ReceivedPacket) => void): Promise<void>;
  /** Rejoin after a reload (groups added or removed). */
  update(memberships: Membership[]): void;
  /**
   * `ifname` scopes IPv6 link-local multicast and picks the multicast
   * interface; `ttl` is the TTL / hop limit of a unicast advert (default 255).
   */
  send(bytes: Uint8Array, dst: string, family: Family, localAddress: string, ifname: string, ttl?: number): Promise<void>;
  close(): Promise<void>;
}

export class UdpTransport implements VrrpTransport {
  private sockets = new Map<Family, dgram.Socket>();
  private joined = new Set<string>();
  private onPacket: ((p: ReceivedPacket) => void) | null = null;

  constructor(private readonly port = VRRP_UDP_PORT) {}

  async open(memberships: Membership[], onPacket: (p: ReceivedPacket) => void): Promise<void> {
    this.onPacket = onPacket;
    const families = new Set<Family>([4, ...memberships.map((m) => m.family)]);
    for (const fam of families) await this.socketFor(fam);
    this.update(memberships);
  }

  private async socketFor(family: Family): Promise<dgram.Socket> {
    const have = this.sockets.get(family);
    if (have) return have;
    const sock = dgram.createSocket({ type: family === 4 ? 'udp4' : 'udp6', reuseAddr: true });
    sock.on('message', (msg, rinfo) => {
      const src = rinfo.address.replace(/%.*$/, '');
      this.onPacket?.({ bytes: new Uint8Array(msg.buffer, msg.byteOffset, msg.length), src, family });
    });
    sock.on('error', () => {
      /* reported per send; a receive error must not kill the daemon */
    });
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(this.port, family === 4 ? '0.0.0.0' : '::', () => {
        sock.off('error', reject);
        resolve();
      });
    });
    sock.setMulticastLoopback(false);
    sock.setMulticastTTL(255);
    sock.setTTL(255);
    this.sockets.set(family, sock);
    return sock;
  }

  update(memberships: Membership[]): void {
    const want = new Map(memberships.filter((m) => m.group).map((m) => [`${m.family}|${m.group}|${m.localAddress}|${m.ifname}`, m]));
    for (const key of [...this.joined]) {
      if (want.has(key)) continue;
      const [fam, group, local, ifname] = key.split('|');
      try {
        this.sockets.get(Number(fam) as Family)?.dropMembership(group!, fam === '6' ? `::%${ifname}` : local);
      } catch {
        /* already gone */
      }
      this.joined.delete(key);
    }
    for (const [key, m] of want) {
      if (this.joined.has(key)) continue;
      const sock = this.sockets.get(m.family);
      if (!sock) continue;
      try {
        sock.addMembership(m.group!, m.family === 6 ? `::%${m.ifname}` : m.localAddress);
        this.joined.add(key);
      } catch (err) {
        throw new Error(`cannot join multicast group ${m.group} on ${m.ifname} (${m.localAddress}): ${(err as Error).message}`);
      }
    }
  }

  async send(bytes: Uint8Array, dst: string, family: Family, localAddress: string, ifname: string): Promise<void> {
    const sock = await this.socketFor(family);
    const multicast = family === 4 ? /^2(2[4-9]|3\d)\./.test(dst) : /^ff/i.test(dst);
    if (multicast) sock.setMulticastInterface(family === 4 ? localAddress : `::%${ifname}`);
    // IPv6 link-local destinations need their scope (the interface).
    const to = family === 6 && (/^fe80:/i.test(dst) || /^ff02:/i.test(dst)) && !dst.includes('%') ? `${dst}%${ifname}` : dst;
    await new Promise<void>((resolve, reject) => sock.send(bytes, this.port, to, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    for (const s of this.sockets.values()) await new Promise<void>((r) => s.close(() => r()));
    this.sockets.clear();
    this.joined.clear();
  }
}
