import { describe, expect, it } from 'vitest';
import { decodeAdvertisement, encodeAdvertisement, internetChecksum, pseudoHeader } from '../../src/vrrp/packet.js';
import { compareAddresses, formatAddress, parseAddress } from '../../src/vrrp/addr.js';

const ph4 = { family: 4 as const, src: '198.18.0.11', dst: '224.0.0.18' };

describe('VRRP packets', () => {
  it('encodes a VRRPv2 PASS advert byte for byte as RFC 3768 lays it out', () => {
    const b = encodeAdvertisement(
      { version: 2, family: 4, vrid: 51, priority: 101, advertIntCs: 100, addresses: ['192.0.2.50'], authType: 'pass', authPass: '1111' },
      ph4,
    );
    expect(b.length).toBe(8 + 4 + 8);
    expect(Array.from(b.subarray(0, 6))).toEqual([0x21, 51, 101, 1, 1, 1]);
    expect(Array.from(b.subarray(8, 12))).toEqual([192, 0, 2, 50]);
    expect(new TextDecoder().decode(b.subarray(12, 16))).toBe('1111');
    expect(Array.from(b.subarray(16))).toEqual([0, 0, 0, 0]);
    expect(internetChecksum(b)).toBe(0); // v2 checksum: the VRRP message alone
  });

  it('VRRPv3 checksum covers the IPv4 pseudo-header (RFC 5798 §5.2.8)', () => {
    const b = encodeAdvertisement({ version: 3, family: 4, vrid: 51, priority: 101, advertIntCs: 10, addresses: ['192.0.2.50'] }, ph4);
    expect(b.length).toBe(12);
    expect(b[0]).toBe(0x31);
    expect(((b[4]! & 0x0f) << 8) | b[5]!).toBe(10);
    expect(internetChecksum(pseudoHeader(ph4, b.length), b)).toBe(0);
    // Same bytes, another destination: the checksum no longer verifies.
    const r = decodeAdvertisement(b, { ...ph4, dst: '198.18.0.12' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toBe('bad-checksum');
  });

  it('round-trips v2 and v3, IPv4 and IPv6', () => {
    const cases = [
      { version: 2 as const, family: 4 as const, addresses: ['198.18.0.100', '198.18.0.101'], authType: 'pass' as const, authPass: 'abcdefgh' },
      { version: 2 as const, family: 4 as const, addresses: ['198.18.0.100'], authType: 'none' as const },
      { version: 3 as const, family: 4 as const, addresses: ['198.18.0.100'] },
      { version: 3 as const, family: 6 as const, addresses: ['2001:db8::50', 'fe80::1'] },
    ];
    for (const c of cases) {
      const ph = c.family === 4 ? ph4 : { family: 6 as const, src: 'fe80::a', dst: 'ff02::12' };
      const bytes = encodeAdvertisement({ vrid: 7, priority: 200, advertIntCs: 100, ...c }, ph);
      const r = decodeAdvertisement(bytes, ph);
      expect(r.ok).toBe(true);
      if (r.ok) {
        expect(r.packet.addresses).toEqual(c.addresses);
        expect(r.packet.priority).toBe(200);
        expect(r.packet.vrid).toBe(7);
        expect(r.packet.authData).toBe(c.version === 2 && c.authType === 'pass' ? c.authPass : '');
      }
    }
  });

  it('rejects with a named error: short, bad version, bad type, bad length, bad auth type', () => {
    const good = encodeAdvertisement({ version: 2, family: 4, vrid: 1, priority: 100, advertIntCs: 100, addresses: ['1.2.3.4'], authType: 'pass', authPass: 'x' }, ph4);
    const err = (b: Uint8Array) => {
      const r = decodeAdvertisement(b, ph4);
      return r.ok ? 'ok' : r.error;
    };
    expect(err(good.subarray(0, 7))).toBe('too-short');
    const v = Uint8Array.from(good);
    v[0] = 0x41;
    expect(err(v)).toBe('bad-version');
    const t = Uint8Array.from(good);
    t[0] = 0x22;
    expect(err(t)).toBe('bad-type');
    const l = Uint8Array.from(good);
    l[3] = 3;
    expect(err(l)).toBe('bad-length');
    expect(err(Uint8Array.from([...good, 0]))).toBe('bad-length');
  });

  it('fuzz: random and mutated buffers never throw; whatever decodes re-encodes to a verifying packet', () => {
    let seed = 12345;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const base = [
      encodeAdvertisement({ version: 2, family: 4, vrid: 51, priority: 100, advertIntCs: 100, addresses: ['198.18.0.100'], authType: 'pass', authPass: '1111' }, ph4),
      encodeAdvertisement({ version: 3, family: 4, vrid: 51, priority: 100, advertIntCs: 10, addresses: ['198.18.0.100', '198.18.0.101'] }, ph4),
    ];
    let decoded = 0;
    for (let i = 0; i < 20000; i++) {
      let b: Uint8Array;
      if (i % 3 === 0) {
        b = new Uint8Array(Math.floor(rnd() * 64));
        for (let j = 0; j < b.length; j++) b[j] = Math.floor(rnd() * 256);
      } else {
        b = Uint8Array.from(base[i % 2]!);
        const flips = 1 + Math.floor(rnd() * 3);
        for (let k = 0; k < flips; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
        if (rnd() < 0.2) b = b.subarray(0, Math.floor(rnd() * b.length));
      }
      for (const fam of [4, 6] as const) {
        const ph = fam === 4 ? ph4 : { family: 6 as const, src: 'fe80::a', dst: 'ff02::12' };
        const r = decodeAdvertisement(b, ph);
        if (r.ok) {
          decoded++;
          const again = encodeAdvertisement({ ...r.packet, family: fam, authPass: r.packet.authData }, ph);
          expect(decodeAdvertisement(again, ph).ok).toBe(true);
        } else {
          expect(typeof r.detail).toBe('string');
        }
      }
    }
    // Random bytes essentially never carry a valid checksum.
    expect(decoded).toBeLessThan(20);
  });

  it('every single-byte corruption of a valid advert is rejected (the checksum covers auth data and v3 pseudo-header)', () => {
    for (const bytes of [
      encodeAdvertisement({ version: 2, family: 4, vrid: 51, priority: 100, advertIntCs: 100, addresses: ['198.18.0.100'], authType: 'pass', authPass: '1111' }, ph4),
      encodeAdvertisement({ version: 3, family: 4, vrid: 51, priority: 100, advertIntCs: 10, addresses: ['198.18.0.100'] }, ph4),
    ]) {
      expect(decodeAdvertisement(bytes, ph4).ok).toBe(true);
      for (let i = 0; i < bytes.length; i++) {
        for (let v = 0; v < 256; v++) {
          if (v === bytes[i]) continue;
          const b = Uint8Array.from(bytes);
          b[i] = v;
          expect(decodeAdvertisement(b, ph4).ok).toBe(false);
        }
      }
    }
  });
});

describe('addresses', () => {
  it('parses, formats and orders IPv4 and IPv6', () => {
    expect(formatAddress(parseAddress('2001:db8:0:0:0:0:0:1', 6)!)).toBe('2001:db8::1');
    expect(formatAddress(parseAddress('::ffff:198.18.0.1', 6)!)).toBe('::ffff:c612:1');
    expect(parseAddress('256.1.1.1', 4)).toBeNull();
    expect(parseAddress('1:2:3', 6)).toBeNull();
    expect(compareAddresses('198.18.0.9', '198.18.0.10')).toBeLessThan(0);
    expect(compareAddresses('fe80::2', 'fe80::10')).toBeLessThan(0);
  });
});
