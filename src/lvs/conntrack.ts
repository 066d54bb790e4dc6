/**
 * /proc/net/nf_conntrack read as connections of virtual services: the
 * original direction (client -> virtual address) and the reply's source
 * (the real server after DNAT). Addresses in one spelling (the kernel
 * writes every IPv6 group in full). Pure.
 */
import { canonicalAddress } from '../vrrp/addr.js';

export interface ConntrackEntry {
  /** tcp, udp, … */
  proto: string;
  /** TCP's state (ESTABLISHED, TIME_WAIT, …); undefined for UDP. */
  state?: string;
  client: string;
  vip: string;
  vport: number;
  rs: string;
  rsPort: number;
}

const TCP_STATES = /\b(SYN_SENT|SYN_RECV|ESTABLISHED|FIN_WAIT|CLOSE_WAIT|LAST_ACK|TIME_WAIT|CLOSE|LISTEN|SYN_SENT2)\b/;

export function parseConntrack(text: string): ConntrackEntry[] {
  const out: ConntrackEntry[] = [];
  for (const line of text.split('\n')) {
    const src = [...line.matchAll(/\bsrc=(\S+)/g)].map((x) => x[1]!);
    const dst = [...line.matchAll(/\bdst=(\S+)/g)].map((x) => x[1]!);
    const sport = [...line.matchAll(/\bsport=(\d+)/g)].map((x) => Number(x[1]));
    const dport = [...line.matchAll(/\bdport=(\d+)/g)].map((x) => Number(x[1]));
    if (src.length < 2 || dst.length < 1 || dport.length < 1 || sport.length < 2) continue;
    const proto = /^\S+\s+\d+\s+(\S+)/.exec(line)?.[1] ?? '';
    const state = proto === 'tcp' ? TCP_STATES.exec(line)?.[1] : undefined;
    out.push({ proto, ...(state ? { state } : {}), client: canonicalAddress(src[0]!), vip: canonicalAddress(dst[0]!), vport: dport[0]!, rs: canonicalAddress(src[1]!), rsPort: sport[1]! });
  }
  return out;
}

/** A connection that has not ended: any UDP flow, a TCP connection not yet in TIME_WAIT or CLOSE. */
export function connectionLives(e: ConntrackEntry): boolean {
  return e.proto !== 'tcp' || (e.state !== 'TIME_WAIT' && e.state !== 'CLOSE');
}
