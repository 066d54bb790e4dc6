/**
 * VRRP advertisement encoding and decoding: RFC 5798 (VRRPv3, IPv4 and IPv6)
 * and RFC 3768 (VRRPv2, with the simple-text PASS authentication that
 * keepalived users configure). Pure: bytes in, values out. The decoder is
 * strict and bounds-checked; it returns an error value for any malformed
 * input and never throws.
 */
import { formatAddress, parseAddress, type Family } from './addr.js';

export const VRRP_PROTOCOL = 112;
export const VRRP_MCAST_GROUP4 = '224.0.0.18';
export const VRRP_MCAST_GROUP6 = 'ff02::12';
export const ADVERTISEMENT = 1;

export type VrrpVersion = 2 | 3;

export type AuthType = 'none' | 'pass';

export interface Advertisement {
  version: VrrpVersion;
  vrid: number;
  priority: number;
  /** Advertisement interval in centiseconds (v2 carries whole seconds, stored here ×100). */
  advertIntCs: number;
  addresses: string[];
  /** v2 only. */
  authType: AuthType;
  /** v2 PASS only: the 8-byte field, trailing NULs removed. */
  authData: string;
}

export type DecodeError =
  | 'too-short'
  | 'bad-version'
  | 'bad-type'
  | 'bad-length'
  | 'bad-checksum'
  | 'bad-auth-type'
  | 'bad-interval';

export type DecodeResult = { ok: true; packet: Advertisement } | { ok: false; error: DecodeError; detail: string };

export interface PseudoHeader {
  family: Family;
  src: string;
  dst: string;
  /** VRRPv3 over IPv4 with the checksum over the message only, as in v2 (`v3_checksum_as_v2`). */
  plain?: boolean;
}

const V2_AUTH_LEN = 8;

/** Internet checksum (RFC 1071) of the concatenated buffers. */
export function internetChecksum(...parts: Uint8Array[]): number {
  let sum = 0;
  let odd: number | null = null;
  for (const p of parts) {
    for (let i = 0; i < p.length; i++) {
      const b = p[i]!;
      if (odd === null) odd = b;
      else {
        sum += (odd << 8) | b;
        odd = null;
      }
    }
  }
  if (odd !== null) sum += odd << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The IPv4 or IPv6 pseudo-header VRRPv3 puts under its checksum (RFC 5798 §5.2.8). */
export function pseudoHeader(ph: PseudoHeader, length: number): Uint8Array {
  const src = parseAddress(ph.src, ph.family);
  const dst = parseAddress(ph.dst, ph.family);
  if (!src || !dst) return new Uint8Array(0);
  if (ph.family === 4) {
    const h = new Uint8Array(12);
    h.set(src, 0);
    h.set(dst, 4);
    h[8] = 0;
    h[9] = VRRP_PROTOCOL;
    h[10] = (length >>> 8) & 0xff;
    h[11] = length & 0xff;
    return h;
  }
  const h = new Uint8Array(40);
  h.set(src, 0);
  h.set(dst, 16);
  h[32] = (length >>> 24) & 0xff;
  h[33] = (length >>> 16) & 0xff;
  h[34] = (length >>> 8) & 0xff;
  h[35] = length & 0xff;
  h[39] = VRRP_PROTOCOL;
  return h;
}

export interface EncodeInput {
  version: VrrpVersion;
  family: Family;
  vrid: number;
  priority: number;
  advertIntCs: number;
  addresses: string[];
  authType?: AuthType;
  authPass?: string;
}

/**
 * Encode an advertisement. For v3 the checksum covers the pseudo-header, so
 * the source and destination addresses of the IP packet are needed.
 */
export function encodeAdvertisement(input: EncodeInput, ph: PseudoHeader): Uint8Array {
  const alen = input.family === 4 ? 4 : 16;
  const v2 = input.version === 2;
  const len = 8 + input.addresses.length * alen + (v2 ? V2_AUTH_LEN : 0);
  const b = new Uint8Array(len);
  b[0] = (input.version << 4) | ADVERTISEMENT;
  b[1] = input.vrid & 0xff;
  b[2] = input.priority & 0xff;
  b[3] = input.addresses.length & 0xff;
  if (v2) {
    b[4] = input.authType === 'pass' ? 1 : 0;
    b[5] = Math.max(1, Math.round(input.advertIntCs / 100)) & 0xff;
  } else {
    const cs = input.advertIntCs & 0x0fff;
    b[4] = (cs >>> 8) & 0x0f;
    b[5] = cs & 0xff;
  }
  let off = 8;
  for (const a of input.addresses) {
    const bytes = parseAddress(a, input.family);
    if (!bytes) throw new Error(`not an IPv${input.family} address: ${a}`);
    b.set(bytes, off);
    off += alen;
  }
  if (v2 && input.authType === 'pass') {
    const pass = new TextEncoder().encode(input.authPass ?? '').subarray(0, V2_AUTH_LEN);
    b.set(pass, off);
  }
  const sum = v2 || (ph.plain && ph.family === 4) ? internetChecksum(b) : internetChecksum(pseudoHeader(ph, len), b);
  b[6] = (sum >>> 8) & 0xff;
  b[7] = sum & 0xff;
  return b;
}

/**
 * Decode and verify one advertisement. `ph` gives the IP source/destination
 * the packet arrived with (needed for the v3 checksum) and the address family.
 */
export function decodeAdvertisement(bytes: Uint8Array, ph: PseudoHeader): DecodeResult {
  const fail = (error: DecodeError, detail: string): DecodeResult => ({ ok: false, error, detail });
  if (!(bytes instanceof Uint8Array)) return fail('too-short', 'not a byte buffer');
  if (bytes.length < 8) return fail('too-short', `${bytes.length} bytes, a VRRP header is 8`);
  const version = bytes[0]! >>> 4;
  const type = bytes[0]! & 0x0f;
  if (version !== 2 && version !== 3) return fail('bad-version', `version ${version}`);
  if (type !== ADVERTISEMENT) return fail('bad-type', `type ${type}`);
  const alen = ph.family === 4 ? 4 : 16;
  const count = bytes[3]!;
  const v2 = version === 2;
  if (v2 && ph.family === 6) return fail('bad-version', 'VRRPv2 is IPv4 only');
  const expected = 8 + count * alen + (v2 ? V2_AUTH_LEN : 0);
  // v2 senders may omit the auth field when auth type is 0; accept both forms.
  const v2NoAuth = v2 && bytes.length === 8 + count * alen && bytes[4] === 0;
  if (bytes.length !== expected && !v2NoAuth) {
    return fail('bad-length', `${bytes.length} bytes for ${count} addresses (expected ${expected})`);
  }
  const sum = v2 || (ph.plain && ph.family === 4) ? internetChecksum(bytes) : internetChecksum(pseudoHeader(ph, bytes.length), bytes);
  if (sum !== 0) return fail('bad-checksum', `checksum 0x${((bytes[6]! << 8) | bytes[7]!).toString(16)} does not verify`);
  let authType: AuthType = 'none';
  let advertIntCs: number;
  if (v2) {
    const at = bytes[4]!;
    if (at === 0) authType = 'none';
    else if (at === 1) authType = 'pass';
    else return fail('bad-auth-type', `auth type ${at} (only 0 and 1 are supported)`);
    advertIntCs = bytes[5]! * 100;
  } else {
    advertIntCs = ((bytes[4]! & 0x0f) << 8) | bytes[5]!;
  }
  if (advertIntCs === 0) return fail('bad-interval', 'advertisement interval 0');
  const addresses: string[] = [];
  let off = 8;
  for (let i = 0; i < count; i++) {
    addresses.push(formatAddress(bytes.subarray(off, off + alen)));
    off += alen;
  }
  let authData = '';
  if (v2 && authType === 'pass' && off + V2_AUTH_LEN <= bytes.length) {
    const raw = bytes.subarray(off, off + V2_AUTH_LEN);
    let end = raw.indexOf(0);
    if (end < 0) end = raw.length;
    authData = new TextDecoder('latin1').decode(raw.subarray(0, end));
  }
  return {
    ok: true,
    packet: { version: version as VrrpVersion, vrid: bytes[1]!, priority: bytes[2]!, advertIntCs, addresses, authType, authData },
  };
}
