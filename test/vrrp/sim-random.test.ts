/**
 * Seeded random runs of the real core on the simulated LAN: crashes,
 * restarts, link faults and priority changes at random times; after every
 * quiet period exactly one router is master, it has the highest priority
 * among the live ones (preempt), and it alone holds the VIP. A failing seed
 * replays exactly.
 */
import { describe, expect, it } from 'vitest';
import { SimNet } from './sim.js';

function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 0x100000000;
  };
}

describe('random schedules (seeded)', () => {
  it('300 seeds: one master, the best live router, sole VIP holder after each quiet period', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 300; seed++) {
      const rnd = prng(seed);
      const n = new SimNet();
      n.latencyMs = 0.1 + rnd() * 2;
      const count = 2 + Math.floor(rnd() * 4);
      const version = rnd() < 0.5 ? 2 : 3;
      const advertIntCs = version === 2 ? 100 : [10, 50, 100][Math.floor(rnd() * 3)]!;
      const names = Array.from({ length: count }, (_, i) => `r${i}`);
      const prios = new Map<string, number>();
      const configured = new Map<string, number>();
      names.forEach((name, i) => {
        const p = 1 + Math.floor(rnd() * 254);
        prios.set(name, p);
        configured.set(name, p);
        n.add({ name, address: `198.18.0.${20 + i}`, priority: p, version, advertIntCs });
      });
      for (const name of names) n.start(name);
      const alive = new Set(names);
      const linkDown = new Set<string>();
      const eff = (name: string) => prios.get(name)!;
      for (let round = 0; round < 6; round++) {
        // Some chaos, then quiet.
        const events = 1 + Math.floor(rnd() * 3);
        for (let e = 0; e < events; e++) {
          n.run(rnd() * advertIntCs * 10 * 3);
          const who = names[Math.floor(rnd() * names.length)]!;
          const kind = rnd();
          if (kind < 0.3 && alive.has(who) && alive.size > 1) {
            n.crash(who);
            alive.delete(who);
          } else if (kind < 0.55 && !alive.has(who)) {
            // A fresh process: configured priority, link state read anew (up).
            n.restart(who);
            alive.add(who);
            linkDown.delete(who);
            prios.set(who, configured.get(who)!);
          } else if (kind < 0.7 && alive.has(who)) {
            const up = linkDown.has(who);
            n.deliver(who, { type: 'link', interface: 'eth0', up });
            if (up) linkDown.delete(who);
            else linkDown.add(who);
          } else if (alive.has(who)) {
            const p = 1 + Math.floor(rnd() * 254);
            prios.set(who, p);
            n.deliver(who, { type: 'set-priority', instance: 'VI_1', priority: p });
          }
        }
        n.run(advertIntCs * 10 * 8 + 500);
        const eligible = [...alive].filter((x) => !linkDown.has(x));
        const masters = n.masters();
        const holders = n.holders().filter((h) => alive.has(h));
        if (eligible.length === 0) {
          if (masters.length !== 0) failures.push(`seed ${seed} round ${round}: masters ${masters} with no eligible router`);
          continue;
        }
        const best = Math.max(...eligible.map(eff));
        if (masters.length !== 1 || eff(masters[0]!) !== best || holders.join() !== masters.join()) {
          failures.push(`seed ${seed} round ${round}: masters [${masters}] holders [${holders}] prios ${eligible.map((x) => `${x}=${eff(x)}`).join(' ')}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });
});
