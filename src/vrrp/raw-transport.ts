/**
 * VRRP on the wire as keepalived and routers speak it: raw IP protocol 112.
 *
 * One raw socket per (address family, interface), bound to the interface
 * (SO_BINDTODEVICE), so every received packet is known to have arrived on
 * that interface; the multicast groups of the instances on it are joined
 * there. IPv4 adverts are sent with our own IP header (IP_HDRINCL), as
 * keepalived does: source = the instance's primary address (mcast_src_ip /
 * unicast_src_ip / the interface address), TTL 255, TOS 0xc0 (network
 * control). IPv6 adverts carry the source and interface in IPV6_PKTINFO,
 * hop limit 255. On reception the IPv4 header gives source, destination and
 * TTL; for IPv6 the hop limit and destination come as ancillary data.
 * Checksums are computed and verified by the core (so every bad one is
 * counted), never by the kernel.
 */
import type { Family } from './addr.js';
import { formatAddress, parseAddress } from './addr.js';
import {
  IP_ADD_MEMBERSHIP,
  IP_DROP_MEMBERSHIP,
  IP_HDRINCL,
  IP_MULTICAST_ALL,
  IP_MULTICAST_IF,
  IP_MULTICAST_LOOP,
  IP_MULTICAST_TTL,
  IP_TTL,
  IPPROTO_IP,
  IPPROTO_IPV6,
  IPV6_ADD_MEMBERSHIP,
  IPV6_DROP_MEMBERSHIP,
  IPV6_MULTICAST_ALL,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_MULTICAST_LOOP,
  IPV6_RECVHOPLIMIT,
  IPV6_RECVPKTINFO,
  IPV6_UNICAST_HOPS,
  Poller,
  RawSocket,
  ifIndex,
  ipv6HopLimitCmsg,
  ipv6PktinfoCmsg,
  sockaddr,
} from './rawsock.js';
import type { Membership, ReceivedPacket, VrrpTransport } from './transport.js';
import { VRRP_PROTOCOL } from './packet.js';

/** TOS keepalived puts on adverts (IPTOS_PREC_INTERNETCONTROL). */
const TOS_NETCONTROL = 0xc0;

interface Endpoint {
  family: Family;
  ifname: string;
  ifindex: number;
  sock: RawSocket;
  groups: Set<string>;
}

export interface RawTransportOptions {
  /** Called for transport trouble that is not tied to one send (a socket error on receive). */
  log?: (line: string) => void;
}

export class RawTransport implements VrrpTransport {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly byFd = new Map<number, Endpoint>();
  private poller: Poller | null = null;
  private onPacket: ((p: ReceivedPacket) => void) | null = null;
  private ipId = Math.floor(Math.random() * 0xffff);
  /** Packets the transport itself discarded (not IP protocol 112, truncated IP header). */
  readonly discarded = { notVrrp: 0, truncated: 0 };

  constructor(private readonly opts: RawTransportOptions = {}) {}

  async open(memberships: Membership[], onPacket: (p: ReceivedPacket) => void): Promise<void> {
    this.onPacket = onPacket;
    this.poller = new Poller((fd) => this.drain(fd));
    this.update(memberships);
  }

  update(memberships: Membership[]): void {
    const want = new Map<string, { family: Family; ifname: string; groups: Set<string> }>();
    for (const m of memberships) {
      const key = `${m.family}|${m.ifname}`;
      const w = want.get(key) ?? { family: m.family, ifname: m.ifname, groups: new Set<string>() };
      if (m.group) w.groups.add(m.group);
      want.set(key, w);
    }
    for (const [key, ep] of [...this.endpoints]) {
      if (want.has(key)) continue;
      this.byFd.delete(ep.sock.fd);
      this.endpoints.delete(key);
      // Closed once the poller has left poll() on it (below, after set()).
      this.retired.push(ep.sock);
    }
    for (const [key, w] of want) {
      let ep = this.endpoints.get(key);
      if (!ep) {
        ep = this.openEndpoint(w.family, w.ifname);
        this.endpoints.set(key, ep);
        this.byFd.set(ep.sock.fd, ep);
      }
      for (const g of [...ep.groups]) if (!w.groups.has(g)) this.membership(ep, g, false);
      for (const g of w.groups) if (!ep.groups.has(g)) this.membership(ep, g, true);
    }
    this.poller?.set([...this.byFd.keys()]);
    // poll() re-arms with the new set right away; a retired fd may still be
    // in the running poll() until it wakes, so close it on the next turn.
    const retired = this.retired.splice(0);
    if (retired.length) setTimeout(() => retired.forEach((s) => s.close()), 50);
  }

  private readonly retired: RawSocket[] = [];

  private openEndpoint(family: Family, ifname: string): Endpoint {
    const ifindex = ifIndex(ifname);
    const sock = new RawSocket(family, VRRP_PROTOCOL);
    try {
      sock.bindToDevice(ifname);
      if (family === 4) {
        sock.setInt(IPPROTO_IP, IP_HDRINCL, 1, 'IP_HDRINCL');
        sock.setRaw(IPPROTO_IP, IP_MULTICAST_IF, mreqn(null, ifindex), `IP_MULTICAST_IF ${ifname}`);
        sock.setInt(IPPROTO_IP, IP_MULTICAST_TTL, 255, 'IP_MULTICAST_TTL');
        sock.setInt(IPPROTO_IP, IP_TTL, 255, 'IP_TTL');
        sock.setInt(IPPROTO_IP, IP_MULTICAST_LOOP, 0, 'IP_MULTICAST_LOOP');
        // Only the groups joined on this socket, not every group of the host.
        sock.setInt(IPPROTO_IP, IP_MULTICAST_ALL, 0, 'IP_MULTICAST_ALL');
      } else {
        sock.setInt(IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1, 'IPV6_RECVHOPLIMIT');
        sock.setInt(IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, 'IPV6_RECVPKTINFO');
        sock.setInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, `IPV6_MULTICAST_IF ${ifname}`);
        sock.setInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255, 'IPV6_MULTICAST_HOPS');
        sock.setInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, 'IPV6_UNICAST_HOPS');
        sock.setInt(IPPROTO_IPV6, IPV6_MULTICAST_LOOP, 0, 'IPV6_MULTICAST_LOOP');
        sock.setInt(IPPROTO_IPV6, IPV6_MULTICAST_ALL, 0, 'IPV6_MULTICAST_ALL');
      }
    } catch (err) {
      sock.close();
      throw new Error(`VRRP socket on ${ifname} (IPv${family}): ${(err as Error).message}`);
    }
    return { family, ifname, ifindex, sock, groups: new Set() };
  }

  private membership(ep: Endpoint, group: string, join: boolean): void {
    const g = parseAddress(group, ep.family);
    if (!g) throw new Error(`not an IPv${ep.family} multicast group: ${group}`);
    const what = `${join ? 'join' : 'leave'} multicast group ${group} on ${ep.ifname}`;
    try {
      if (ep.family === 4) ep.sock.setRaw(IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, mreqn(g, ep.ifindex), what);
      else {
        const b = Buffer.alloc(20);
        b.set(g, 0);
        b.writeUInt32LE(ep.ifindex, 16);
        ep.sock.setRaw(IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, b, what);
      }
    } catch (err) {
      if (join) throw new Error(`cannot ${what}: ${(err as Error).message}`);
    }
    if (join) ep.groups.add(group);
    else ep.groups.delete(group);
  }

  private drain(fd: number): void {
    const ep = this.byFd.get(fd);
    if (!ep) return;
    for (;;) {
      let r;
      try {
        r = ep.sock.recv();
      } catch (err) {
        this.opts.log?.(`VRRP receive on ${ep.ifname}: ${(err as Error).message}`);
        return;
      }
      if (!r) return;
      if (ep.family === 4) {
        const d = r.data;
        const ihl = d.length >= 20 ? (d[0]! & 0x0f) * 4 : 0;
        if (ihl < 20 || d.length < ihl) {
          this.discarded.truncated++;
          continue;
        }
        if (d[9] !== VRRP_PROTOCOL) {
          this.discarded.notVrrp++;
          continue;
        }
        const total = Math.min(d.readUInt16BE(2), d.length);
        this.onPacket?.({
          bytes: new Uint8Array(d.subarray(ihl, Math.max(ihl, total))),
          src: formatAddress(d.subarray(12, 16)),
          dst: formatAddress(d.subarray(16, 20)),
          ttl: d[8]!,
          family: 4,
          ifname: ep.ifname,
        });
      } else {
        this.onPacket?.({
          bytes: new Uint8Array(r.data),
          src: formatAddress(r.src),
          ...(r.dst ? { dst: formatAddress(r.dst) } : {}),
          ...(r.hopLimit !== undefined ? { ttl: r.hopLimit } : {}),
          family: 6,
          ifname: ep.ifname,
        });
      }
    }
  }

  async send(bytes: Uint8Array, dst: string, family: Family, localAddress: string, ifname: string, ttl?: number): Promise<void> {
    const ep = this.endpoints.get(`${family}|${ifname}`);
    if (!ep) throw new Error(`no VRRP socket for IPv${family} on ${ifname}`);
    const d = parseAddress(dst, family);
    const s = parseAddress(localAddress, family);
    if (!d) throw new Error(`bad destination ${dst}`);
    if (family === 4) {
      const ip = Buffer.alloc(20 + bytes.length);
      ip[0] = 0x45;
      ip[1] = TOS_NETCONTROL;
      ip.writeUInt16BE(ip.length, 2);
      this.ipId = (this.ipId + 1) & 0xffff;
      ip.writeUInt16BE(this.ipId, 4);
      ip[8] = isMulticast4(d) ? 255 : (ttl ?? 255);
      ip[9] = VRRP_PROTOCOL;
      if (s) ip.set(s, 12); // 0.0.0.0: the kernel picks the interface's address
      ip.set(d, 16);
      ip.set(bytes, 20); // IP checksum: filled in by the kernel with IP_HDRINCL
      ep.sock.send(ip, sockaddr(4, d));
      return;
    }
    const linkScope = (d[0] === 0xfe && (d[1]! & 0xc0) === 0x80) || (d[0] === 0xff && (d[1]! & 0x0f) === 2);
    // Per-packet hop limit (unicast_ttl): one socket serves every instance on the interface.
    const unicast = d[0] !== 0xff;
    const parts = [...(s ? [ipv6PktinfoCmsg(s, ep.ifindex)] : []), ...(unicast && ttl !== undefined ? [ipv6HopLimitCmsg(ttl)] : [])];
    const ctrl = parts.length ? Buffer.concat(parts) : undefined;
    ep.sock.send(Buffer.from(bytes), sockaddr(6, d, linkScope ? ep.ifindex : 0), ctrl);
  }

  async close(): Promise<void> {
    await this.poller?.close();
    this.poller = null;
    for (const ep of this.endpoints.values()) ep.sock.close();
    for (const s of this.retired.splice(0)) s.close();
    this.endpoints.clear();
    this.byFd.clear();
  }
}

/** struct ip_mreqn { imr_multiaddr, imr_address, imr_ifindex }. */
function mreqn(group: Uint8Array | null, ifindex: number): Buffer {
  const b = Buffer.alloc(12);
  if (group) b.set(group, 0);
  b.writeInt32LE(ifindex, 8);
  return b;
}

function isMulticast4(a: Uint8Array): boolean {
  return a[0]! >= 224 && a[0]! <= 239;
}
