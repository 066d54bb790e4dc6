import { describe, expect, it } from 'vitest';
import { fragment, Reassembler } from '../../src/controller/fragment.js';

describe('fragmentation of large cluster messages', () => {
  it('joins fragments per sender even when senders interleave', () => {
    const a = Uint8Array.from({ length: 250 }, (_, i) => i);
    const b = Uint8Array.from({ length: 90 }, (_, i) => 255 - i);
    const fa = fragment(a, 64);
    const fb = fragment(b, 64);
    expect(fa.length).toBe(4);
    const r = new Reassembler(1 << 20);
    const got: Array<[number, number[]]> = [];
    const order: Array<[number, Uint8Array]> = [[1, fa[0]!], [2, fb[0]!], [1, fa[1]!], [1, fa[2]!], [2, fb[1]!], [1, fa[3]!]];
    for (const [from, f] of order) {
      const whole = r.push(from, f);
      if (whole) got.push([from, [...whole]]);
    }
    expect(got).toEqual([[2, [...b]], [1, [...a]]]);
  });

  it('passes an empty or small message as one fragment', () => {
    expect(fragment(new Uint8Array(0), 64)).toHaveLength(1);
    const r = new Reassembler(100);
    expect([...r.push(1, fragment(Uint8Array.of(7), 64)[0]!)!]).toEqual([7]);
  });

  it('drops a message that outgrows the limit, and a half message on reset', () => {
    const r = new Reassembler(100);
    const big = fragment(new Uint8Array(500), 64);
    expect(() => big.forEach((f) => r.push(1, f))).toThrow(/exceeds 100 bytes/);
    const half = fragment(new Uint8Array(90), 64);
    r.push(2, half[0]!);
    r.reset();
    // The tail of the void message alone is a (short) message of its own, not a join.
    expect(r.push(2, half[1]!)!.length).toBe(90 - 63);
  });
});
