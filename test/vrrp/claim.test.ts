/**
 * The cluster's steering of a FloatIP instance: claim (MASTER now) and
 * release (make-before-break handover), on the simulated network.
 */
import { describe, expect, it } from 'vitest';
import { SimNet } from './sim.js';

const addr = (i: number) => `198.18.0.${10 + i}`;

function pair(): SimNet {
  const n = new SimNet();
  n.add({ name: 'a', address: addr(1), priority: 254 });
  n.add({ name: 'b', address: addr(2), priority: 254 });
  n.start('a');
  n.start('b');
  return n;
}

describe('claim and release (FloatIP steered by the cluster)', () => {
  it('a claim makes the instance MASTER at once, without the election wait', () => {
    const n = pair();
    n.run(50);
    const t = n.now;
    n.deliver('a', { type: 'claim', instance: 'VI_1' });
    expect(n.state('a')).toBe('MASTER');
    expect(n.takeoverAt('a', t)).toBe(t);
    n.run(5000);
    expect(n.masters()).toEqual(['a']);
    expect(n.holders()).toEqual(['a']);
  });

  it('release hands over make-before-break: the old holder keeps the VIP until the new master is heard', () => {
    const n = pair();
    n.deliver('a', { type: 'claim', instance: 'VI_1' });
    n.run(3000);
    n.deliver('b', { type: 'release', instance: 'VI_1', lingerMs: 10_000 }); // b was never master: stays passive
    const t = n.now;
    n.deliver('a', { type: 'release', instance: 'VI_1', lingerMs: 1500 });
    expect(n.state('a')).toBe('BACKUP');
    expect(n.holders()).toEqual(['a']); // still held: nobody has taken over yet
    n.run(20);
    n.deliver('b', { type: 'claim', instance: 'VI_1' });
    expect(n.holders().sort()).toEqual(['a', 'b']); // both, briefly: make before break
    n.run(300);
    expect(n.holders()).toEqual(['b']); // a let go soon after hearing b
    const dropped = n.log.find((l) => l.router === 'a' && l.at >= t && l.action.type === 'remove-vips');
    expect(dropped!.at - t).toBeLessThan(200);
  });

  it('a released instance never takes over on its own, and drops the VIP when nobody claims it', () => {
    const n = pair();
    n.deliver('a', { type: 'claim', instance: 'VI_1' });
    n.run(3000);
    n.deliver('a', { type: 'release', instance: 'VI_1', lingerMs: 1500 });
    n.deliver('b', { type: 'release', instance: 'VI_1', lingerMs: 1500 });
    n.run(10_000);
    expect(n.masters()).toEqual([]);
    expect(n.holders()).toEqual([]);
  });

  it('two claimers (a split cluster on one wire) end with one holder', () => {
    const n = pair();
    n.deliver('a', { type: 'claim', instance: 'VI_1' });
    n.deliver('b', { type: 'claim', instance: 'VI_1' });
    n.run(3000);
    expect(n.masters()).toEqual(['b']); // equal priority: the higher address wins
    expect(n.holders()).toEqual(['b']);
  });
});
