/**
 * Gratuitous ARP (IPv4) and unsolicited neighbour advertisements (IPv6) for
 * VIPs, sent from the daemon itself as keepalived does, with no helper
 * process on the takeover path: ARP through an AF_PACKET socket (a request
 * with sender = target = the VIP, to the broadcast address, as arping -U and
 * keepalived send it), NA through an ICMPv6 raw socket to ff02::1 with hop
 * limit 255, the override flag and the target link-layer address option
 * (RFC 4861 §7.2.6; the kernel fills in the ICMPv6 checksum).
 */
import { readFileSync } from 'node:fs';
import { parseAddress } from './addr.js';
import {
  AF_PACKET,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6,
  IPV6_MULTICAST_HOPS,
  IPV6_MULTICAST_IF,
  IPV6_UNICAST_HOPS,
  RawSocket,
  SOCK_DGRAM,
  ifIndex,
  ipv6PktinfoCmsg,
  sockaddr,
} from './rawsock.js';
import type { VipSpec } from './types.js';

const ETH_P_ARP = 0x0806;
const ALL_NODES = parseAddress('ff02::1', 6)!;

function macOf(ifname: string): Uint8Array {
  const text = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  const bytes = text.split(':').map((h) => parseInt(h, 16));
  if (bytes.length !== 6 || bytes.some((b) => !Number.isInteger(b))) throw new Error(`no MAC address for ${ifname}`);
  return Uint8Array.from(bytes);
}

/** The ARP payload of a gratuitous ARP request for `ip` from `mac`. */
export function garpPacket(mac: Uint8Array, ip: Uint8Array): Buffer {
  const b = Buffer.alloc(28);
  b.writeUInt16BE(1, 0); // Ethernet
  b.writeUInt16BE(0x0800, 2); // IPv4
  b[4] = 6;
  b[5] = 4;
  b.writeUInt16BE(1, 6); // request
  b.set(mac, 8);
  b.set(ip, 14);
  // target hardware address stays zero
  b.set(ip, 24);
  return b;
}

/** ICMPv6 neighbour advertisement body (checksum left to the kernel). */
export function naPacket(mac: Uint8Array, target: Uint8Array, router: boolean): Buffer {
  const b = Buffer.alloc(32);
  b[0] = 136;
  b[1] = 0;
  b[4] = (router ? 0x80 : 0) | 0x20; // R, O (override); S stays 0 (unsolicited)
  b.set(target, 8);
  b[24] = 2; // target link-layer address
  b[25] = 1; // length in units of 8 octets
  b.set(mac, 26);
  return b;
}

export class Announcer {
  private arp: RawSocket | null = null;
  private icmp6: RawSocket | null = null;

  /** Send one announcement for a VIP on its device; throws on a socket error. */
  announce(vip: VipSpec): void {
    const ifindex = ifIndex(vip.dev);
    const mac = macOf(vip.dev);
    const addr = parseAddress(vip.address, vip.family);
    if (!addr) throw new Error(`bad address ${vip.address}`);
    if (vip.family === 4) {
      this.arp ??= new RawSocket(4, htons(ETH_P_ARP), { domain: AF_PACKET, type: SOCK_DGRAM });
      // struct sockaddr_ll: family, protocol (network order), ifindex, hatype, pkttype, halen, addr[8]
      const ll = Buffer.alloc(20);
      ll.writeUInt16LE(AF_PACKET, 0);
      ll.writeUInt16BE(ETH_P_ARP, 2);
      ll.writeInt32LE(ifindex, 4);
      ll[11] = 6;
      ll.fill(0xff, 12, 18);
      this.arp.send(garpPacket(mac, addr), ll);
      return;
    }
    if (!this.icmp6) {
      this.icmp6 = new RawSocket(6, IPPROTO_ICMPV6);
      this.icmp6.setInt(IPPROTO_IPV6, IPV6_MULTICAST_HOPS, 255, 'IPV6_MULTICAST_HOPS');
      this.icmp6.setInt(IPPROTO_IPV6, IPV6_UNICAST_HOPS, 255, 'IPV6_UNICAST_HOPS');
    }
    this.icmp6.setInt(IPPROTO_IPV6, IPV6_MULTICAST_IF, ifindex, `IPV6_MULTICAST_IF ${vip.dev}`);
    this.icmp6.send(naPacket(mac, addr, forwarding(vip.dev)), sockaddr(6, ALL_NODES, ifindex), ipv6PktinfoCmsg(addr, ifindex));
  }

  close(): void {
    this.arp?.close();
    this.icmp6?.close();
    this.arp = null;
    this.icmp6 = null;
  }
}

function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >>> 8) & 0xff);
}

/** The R flag: set when the interface forwards IPv6 (a router), as the kernel's own NA does. */
function forwarding(ifname: string): boolean {
  try {
    return readFileSync(`/proc/sys/net/ipv6/conf/${ifname}/forwarding`, 'utf8').trim() === '1';
  } catch {
    return false;
  }
}
