import { describe, expect, it } from 'vitest';
import { VrrpRouter } from '../../src/vrrp/core.js';
import { decodeAdvertisement, encodeAdvertisement } from '../../src/vrrp/packet.js';
import { SimNet, instanceSpec, type SimRouterOpts } from './sim.js';

function net(routers: SimRouterOpts[]): SimNet {
  const n = new SimNet();
  for (const r of routers) n.add(r);
  for (const r of routers) n.start(r.name);
  return n;
}

const addr = (i: number) => `198.18.0.${10 + i}`;

describe('elections', () => {
  it.each([2, 3, 4, 5])('%i routers with unequal priorities elect the highest, exactly one master holds the VIP', (count) => {
    const rs = Array.from({ length: count }, (_, i) => ({ name: `r${i}`, address: addr(i), priority: 100 + ((i * 7) % count) * 10 }));
    const n = net(rs);
    n.run(5000);
    const best = rs.reduce((a, b) => (b.priority > a.priority ? b : a));
    expect(n.masters()).toEqual([best.name]);
    expect(n.holders()).toEqual([best.name]);
    for (const r of rs) if (r !== best) expect(n.state(r.name)).toBe('BACKUP');
  });

  it.each([2, 3, 5])('%i routers with equal priorities: the highest primary address wins the tie', (count) => {
    const rs = Array.from({ length: count }, (_, i) => ({ name: `r${i}`, address: addr(i), priority: 100 }));
    const n = net(rs);
    n.run(5000);
    expect(n.masters()).toEqual([`r${count - 1}`]);
    expect(n.holders()).toEqual([`r${count - 1}`]);
  });

  it('the first master is elected after the master-down interval, not before', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 101 },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(2900);
    expect(n.masters()).toEqual([]);
    n.run(1000);
    expect(n.masters()).toEqual(['a']);
  });

  it('on a crash of the master the best backup takes over within Master_Down_Interval', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 150 },
      { name: 'b', address: addr(2), priority: 120 },
      { name: 'c', address: addr(3), priority: 100 },
    ]);
    n.run(5000);
    expect(n.masters()).toEqual(['a']);
    const t = n.now;
    n.crash('a');
    n.run(5000);
    expect(n.masters()).toEqual(['b']);
    const took = n.takeoverAt('b', t)! - t;
    // 3 × 1 s + skew/4 of priority 120: at most 3.14 s after the crash, at least 2 s (last advert ≤ 1 s before).
    expect(took).toBeGreaterThan(2000);
    expect(took).toBeLessThanOrEqual(3000 + ((256 - 120) * 1000) / 256 / 4 + 1);
    expect(n.holders()).toEqual(['b']);
  });

  it('preempt (default): a recovered higher-priority router takes the VIP back', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 150 },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(5000);
    n.crash('a');
    n.run(5000);
    expect(n.masters()).toEqual(['b']);
    const t = n.now;
    n.restart('a');
    n.run(3000);
    expect(n.masters()).toEqual(['a']);
    expect(n.holders()).toEqual(['a']);
    // It preempts on hearing the lower master's advert, well before its own master-down timer.
    expect(n.takeoverAt('a', t)! - t).toBeLessThan(1100);
  });

  it('nopreempt: a recovered higher-priority router stays backup', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 150, preempt: false },
      { name: 'b', address: addr(2), priority: 100, preempt: false },
    ]);
    n.run(5000);
    expect(n.masters()).toEqual(['a']);
    n.crash('a');
    n.run(5000);
    n.restart('a');
    n.run(10000);
    expect(n.masters()).toEqual(['b']);
    expect(n.state('a')).toBe('BACKUP');
  });

  it('preempt_delay holds preemption for that long after startup', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 150, preemptDelayMs: 6000 },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(5000);
    // b came up alone first? No: both started; a must wait 6 s before preempting... but nobody is master yet,
    // so the first election is by timeout. Crash and restart a to see the delay.
    n.crash('a');
    n.run(5000);
    const t = n.now;
    n.restart('a');
    n.run(5000);
    expect(n.masters()).toEqual(['b']);
    n.run(3000);
    expect(n.masters()).toEqual(['a']);
    expect(n.takeoverAt('a', t)! - t).toBeGreaterThanOrEqual(6000);
  });

  it('priority 255 (address owner) becomes master at once and keeps it', () => {
    const n = net([
      { name: 'b', address: addr(2), priority: 200 },
      { name: 'o', address: addr(1), priority: 255 },
    ]);
    n.run(10);
    expect(n.masters()).toEqual(['o']);
    n.run(10000);
    expect(n.masters()).toEqual(['o']);
    expect(n.holders()).toEqual(['o']);
  });

  it('priority-0 release: shutdown hands over in well under 100 ms at advert_int 1', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 101 },
      { name: 'b', address: addr(2), priority: 100 },
      { name: 'c', address: addr(3), priority: 90 },
    ]);
    n.run(5000);
    expect(n.masters()).toEqual(['a']);
    const t = n.now;
    n.deliver('a', { type: 'shutdown' });
    expect(n.held.get('a')!.size).toBe(0);
    const sent0 = n.log.filter((l) => l.router === 'a' && l.at >= t && l.action.type === 'send');
    expect(sent0.length).toBe(1);
    n.run(2000);
    expect(n.masters().filter((m) => m !== 'a')).toEqual(['b']);
    expect(n.takeoverAt('b', t)! - t).toBeLessThan(100);
    // c, the lower backup, never took the VIP even briefly.
    expect(n.takeoverAt('c', t)).toBeNull();
  });

  it('shutdown with a handover: the stopping master keeps the VIP until the new master is heard, then 100 ms', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 101 },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(5000);
    const t = n.now;
    n.deliver('a', { type: 'shutdown', lingerMs: 1000 });
    // Priority 0 sent, state STOP, VIP still held.
    expect(n.state('a')).toBe('STOP');
    expect(n.holders()).toEqual(['a']);
    expect(n.routers.get('a')!.router.isStopped()).toBe(false);
    const zero = n.log.filter((l) => l.router === 'a' && l.at >= t && l.action.type === 'send');
    expect(zero.length).toBe(1);
    n.run(2000);
    const bAt = n.takeoverAt('b', t)!;
    const aGone = n.log.find((l) => l.router === 'a' && l.at >= t && l.action.type === 'remove-vips')!.at;
    // Never a moment without a holder: b had it before a let go, a let go 100 ms after hearing b.
    expect(bAt).toBeLessThan(aGone);
    expect(aGone - bAt).toBeGreaterThanOrEqual(100);
    expect(aGone - bAt).toBeLessThan(110);
    expect(n.holders()).toEqual(['b']);
    expect(n.routers.get('a')!.router.isStopped()).toBe(true);
    // The stopping router never answered or took anything back.
    expect(n.log.filter((l) => l.router === 'a' && l.at > t && l.action.type === 'send')).toEqual([]);
    expect(n.log.filter((l) => l.router === 'a' && l.at > t && l.action.type === 'add-vips')).toEqual([]);
  });

  it('shutdown with a handover and nobody to take over: the VIP goes after the bound', () => {
    const n = net([{ name: 'a', address: addr(1), priority: 101 }]);
    n.run(5000);
    expect(n.holders()).toEqual(['a']);
    const t = n.now;
    n.deliver('a', { type: 'shutdown', lingerMs: 700 });
    n.run(699);
    expect(n.holders()).toEqual(['a']);
    n.run(2);
    expect(n.holders()).toEqual([]);
    expect(n.routers.get('a')!.router.isStopped()).toBe(true);
    expect(n.now - t).toBeLessThan(710);
  });

  it('shutdown with a handover: a backup stops at once, priority changes are ignored while the master hands over', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 101 },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(5000);
    n.deliver('b', { type: 'shutdown', lingerMs: 1000 });
    expect(n.routers.get('b')!.router.isStopped()).toBe(true);
    n.deliver('a', { type: 'shutdown', lingerMs: 1000 });
    n.deliver('a', { type: 'set-priority', instance: 'VI_1', priority: 200 });
    expect(n.state('a')).toBe('STOP');
    n.run(1001);
    expect(n.holders()).toEqual([]);
  });
});

describe('tracked scripts', () => {
  const chk = { name: 'chk_nginx', argv: ['true'], intervalMs: 2000, timeoutMs: 2000, weight: -5, fall: 3, rise: 2, initFail: false };

  it('weight −5 with fall 3 / rise 2: priority drops only after 3 failures and returns after 2 successes', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 101, scripts: [chk], trackScripts: [{ script: 'chk_nginx', weight: -5 }] },
      { name: 'b', address: addr(2), priority: 100, scripts: [chk], trackScripts: [{ script: 'chk_nginx', weight: -5 }] },
    ]);
    n.run(6000);
    expect(n.masters()).toEqual(['a']);
    n.scriptOk.set('a:chk_nginx', false);
    const t = n.now;
    n.run(4100); // two failed runs at most
    expect(n.masters()).toEqual(['a']);
    n.run(2100); // the third failure
    expect(n.masters()).toEqual(['b']);
    const st = n.routers.get('a')!.router.status();
    expect(st.instances[0]!.effectivePriority).toBe(96);
    expect(st.scripts[0]!.ok).toBe(false);
    const took = n.takeoverAt('b', t)! - t;
    // 3 failures at most 3 intervals apart, then a takes over at once (no master-down wait).
    expect(took).toBeLessThan(3 * 2000 + 5 + 100);
    n.scriptOk.set('a:chk_nginx', true);
    n.run(2100); // one success: still KO
    expect(n.routers.get('a')!.router.status().scripts[0]!.ok).toBe(false);
    expect(n.masters()).toEqual(['b']);
    n.run(2100); // second success: OK, 101 > 100, preempts
    expect(n.routers.get('a')!.router.status().scripts[0]!.ok).toBe(true);
    expect(n.masters()).toEqual(['a']);
  });

  it('weight 0 (the default): a failing script puts the instance in FAULT and the VIP moves', () => {
    const c0 = { ...chk, weight: 0, fall: 1, rise: 1 };
    const n = net([
      { name: 'a', address: addr(1), priority: 101, scripts: [c0], trackScripts: [{ script: 'chk_nginx', weight: 0 }] },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(5000);
    expect(n.masters()).toEqual(['a']);
    n.scriptOk.set('a:chk_nginx', false);
    n.run(2500);
    expect(n.state('a')).toBe('FAULT');
    expect(n.masters()).toEqual(['b']);
    expect(n.holders()).toEqual(['b']);
  });

  it('positive weight adds priority while the script succeeds; clamped to 254', () => {
    const up = { ...chk, weight: 50, fall: 1, rise: 1 };
    const n = net([{ name: 'a', address: addr(1), priority: 240, scripts: [up], trackScripts: [{ script: 'chk_nginx', weight: 50 }] }]);
    n.run(100);
    expect(n.routers.get('a')!.router.status().instances[0]!.effectivePriority).toBe(254);
    const low = { ...chk, weight: -200, fall: 1, rise: 1 };
    const m = new SimNet();
    m.add({ name: 'a', address: addr(1), priority: 50, scripts: [low], trackScripts: [{ script: 'chk_nginx', weight: -200 }] });
    m.scriptOk.set('a:chk_nginx', false);
    m.start('a');
    m.run(100);
    expect(m.routers.get('a')!.router.status().instances[0]!.effectivePriority).toBe(1);
  });
});

describe('packets that must be ignored', () => {
  function pair(over: Partial<SimRouterOpts> = {}) {
    const n = net([
      { name: 'a', address: addr(1), priority: 150 },
      { name: 'b', address: addr(2), priority: 100, ...over },
    ]);
    return n;
  }

  it('auth mismatch: adverts with the wrong password are dropped and counted; the backup takes over', () => {
    const n = new SimNet();
    n.add({ name: 'a', address: addr(1), priority: 150, authPass: 'secret1' });
    n.add({ name: 'b', address: addr(2), priority: 100, authPass: 'other' });
    n.start('a');
    n.start('b');
    n.run(8000);
    expect(n.masters().sort()).toEqual(['a', 'b']);
    expect(n.routers.get('b')!.router.status().instances[0]!.stats.dropped.auth).toBeGreaterThan(3);
  });

  it('wrong VRID: counted as unmatched, no effect', () => {
    const n = pair({ vrid: 52 });
    n.run(8000);
    expect(n.masters().sort()).toEqual(['a', 'b']);
    expect(n.routers.get('b')!.router.status().unmatched.wrongVrid).toBeGreaterThan(3);
  });

  it('TTL other than 255: dropped and counted', () => {
    const r = new VrrpRouter({ routerId: 'x', instances: [instanceSpec({ name: 'x', address: addr(2), priority: 100 })], scripts: [], syncGroups: [] });
    r.step({ type: 'start' }, 0);
    const bytes = encodeAdvertisement(
      { version: 2, family: 4, vrid: 51, priority: 200, advertIntCs: 100, addresses: ['198.18.0.100'] },
      { family: 4, src: addr(1), dst: '224.0.0.18' },
    );
    for (let t = 0; t < 5000; t += 1000) r.step({ type: 'packet', bytes, src: addr(1), dst: '224.0.0.18', family: 4, ttl: 64 }, t);
    r.step({ type: 'tick' }, 5000);
    expect(r.state('VI_1')).toBe('MASTER');
    expect(r.status().instances[0]!.stats.dropped.ttl).toBe(5);
    // The same advert with TTL 255 keeps us backup.
    const r2 = new VrrpRouter({ routerId: 'x', instances: [instanceSpec({ name: 'x', address: addr(2), priority: 100 })], scripts: [], syncGroups: [] });
    r2.step({ type: 'start' }, 0);
    for (let t = 0; t < 5000; t += 1000) r2.step({ type: 'packet', bytes, src: addr(1), dst: '224.0.0.18', family: 4, ttl: 255 }, t);
    r2.step({ type: 'tick' }, 5000);
    expect(r2.state('VI_1')).toBe('BACKUP');
  });

  it('unicast: adverts are sent with unicast_ttl; received ones are not held to 255, only to a peer min_ttl / max_ttl', () => {
    const unicast = (peerTtl?: Record<string, { min: number; max: number }>) =>
      new VrrpRouter({
        routerId: 'x',
        instances: [instanceSpec({ name: 'x', address: addr(2), priority: 100 }, { peers: [addr(1)], unicastTtl: 64, ...(peerTtl ? { peerTtl } : {}) })],
        scripts: [],
        syncGroups: [],
      });
    const bytes = encodeAdvertisement(
      { version: 2, family: 4, vrid: 51, priority: 200, advertIntCs: 100, addresses: ['198.18.0.100'] },
      { family: 4, src: addr(1), dst: addr(2) },
    );
    // A routed advert (TTL 62) from the peer: accepted, as keepalived does for unicast.
    const r = unicast();
    r.step({ type: 'start' }, 0);
    for (let t = 0; t < 5000; t += 1000) r.step({ type: 'packet', bytes, src: addr(1), dst: addr(2), family: 4, ttl: 62 }, t);
    r.step({ type: 'tick' }, 5000);
    expect(r.state('VI_1')).toBe('BACKUP');
    expect(r.status().instances[0]!.stats.dropped.ttl).toBe(0);
    // With min_ttl 250 for that peer: dropped and counted, so we take over.
    const r2 = unicast({ [addr(1)]: { min: 250, max: 255 } });
    r2.step({ type: 'start' }, 0);
    const logs: string[] = [];
    for (let t = 0; t < 5000; t += 1000) {
      for (const a of r2.step({ type: 'packet', bytes, src: addr(1), dst: addr(2), family: 4, ttl: 62 }, t)) if (a.type === 'log') logs.push(a.message);
    }
    const sends = r2.step({ type: 'tick' }, 5000).filter((a) => a.type === 'send');
    expect(r2.state('VI_1')).toBe('MASTER');
    expect(r2.status().instances[0]!.stats.dropped.ttl).toBe(5);
    expect(logs).toContainEqual(expect.stringMatching(/TTL\/HL 62 not in range 250 - 255/));
    // Our own unicast adverts carry unicast_ttl.
    expect(sends.length).toBeGreaterThan(0);
    for (const s of sends) expect(s).toMatchObject({ type: 'send', dst: addr(1), ttl: 64 });
  });

  it('malformed and corrupted packets are dropped and counted, and never throw', () => {
    const n = pair();
    n.tamper = (from, bytes) => {
      if (from !== 'a') return bytes;
      const b = Uint8Array.from(bytes);
      b[2] = 255; // priority changed in flight: checksum fails
      return b;
    };
    n.run(8000);
    const st = n.routers.get('b')!.router.status().instances[0]!;
    expect(st.stats.dropped.checksum).toBeGreaterThan(3);
    expect(n.masters().sort()).toEqual(['a', 'b']);
    n.tamper = (_from, bytes) => bytes.subarray(0, 5);
    n.run(3000);
    expect(n.routers.get('b')!.router.status().instances[0]!.stats.dropped.malformed).toBeGreaterThan(1);
  });

  it('VRRPv2 advert interval mismatch is dropped (RFC 3768)', () => {
    const n = pair({ advertIntCs: 200 });
    n.run(10000);
    expect(n.routers.get('b')!.router.status().instances[0]!.stats.dropped.interval).toBeGreaterThan(3);
  });
});

describe('VRRPv3', () => {
  it('sub-second advert_int: crash failover under 400 ms at advert_int 0.1 (median case)', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 101, version: 3, advertIntCs: 10 },
      { name: 'b', address: addr(2), priority: 100, version: 3, advertIntCs: 10 },
    ]);
    n.run(2000);
    expect(n.masters()).toEqual(['a']);
    n.run(50); // crash halfway between adverts
    const t = n.now;
    n.crash('a');
    n.run(1000);
    expect(n.masters()).toEqual(['b']);
    expect(n.takeoverAt('b', t)! - t).toBeLessThan(300);
  });

  it('the backup learns the master advert interval from v3 adverts', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 101, version: 3, advertIntCs: 50 },
      { name: 'b', address: addr(2), priority: 100, version: 3, advertIntCs: 100 },
    ]);
    n.run(4000);
    expect(n.masters()).toEqual(['a']);
    const t = n.now;
    n.crash('a');
    n.run(4000);
    // 3 × 0.5 s (learned), not 3 × 1 s.
    expect(n.takeoverAt('b', t)! - t).toBeLessThan(1600);
  });
});

describe('several instances and sync groups', () => {
  const two = [{ name: 'VI_1', vrid: 51 }, { name: 'VI_2', vrid: 52, vips: [{ address: '198.18.0.101', prefix: 24, family: 4 as const, dev: 'eth0' }] }];

  it('instances are independent: each elects its own master', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 100, instances: [{ ...two[0]!, priority: 150 }, { ...two[1]!, priority: 50 }] },
      { name: 'b', address: addr(2), priority: 100, instances: [{ ...two[0]!, priority: 100 }, { ...two[1]!, priority: 100 }] },
    ]);
    n.run(5000);
    expect(n.masters('VI_1')).toEqual(['a']);
    expect(n.masters('VI_2')).toEqual(['b']);
  });

  it('a sync group moves together: one member failing moves both', () => {
    const chk = { name: 'chk', argv: ['true'], intervalMs: 1000, timeoutMs: 1000, weight: 0, fall: 1, rise: 1, initFail: false };
    const n = net([
      {
        name: 'a',
        address: addr(1),
        priority: 100,
        scripts: [chk],
        instances: [{ ...two[0]!, priority: 150, trackScripts: [{ script: 'chk', weight: 0 }] }, { ...two[1]!, priority: 150 }],
        syncGroups: [{ name: 'G1', members: ['VI_1', 'VI_2'] }],
      },
      { name: 'b', address: addr(2), priority: 100, instances: [two[0]!, two[1]!], syncGroups: [{ name: 'G1', members: ['VI_1', 'VI_2'] }] },
    ]);
    n.run(5000);
    expect(n.masters('VI_1')).toEqual(['a']);
    expect(n.masters('VI_2')).toEqual(['a']);
    n.scriptOk.set('a:chk', false);
    n.run(3000);
    expect(n.state('a', 'VI_1')).toBe('FAULT');
    expect(n.state('a', 'VI_2')).toBe('FAULT');
    expect(n.masters('VI_1')).toEqual(['b']);
    expect(n.masters('VI_2')).toEqual(['b']);
    const groupNotes = n.log.filter((l) => l.router === 'a' && l.action.type === 'group-notify').map((l) => (l.action as { state: string }).state);
    expect(groupNotes).toEqual(['BACKUP', 'MASTER', 'FAULT']);
  });
});

describe('interfaces, reload, embedding', () => {
  it('link down puts the instance in FAULT (VIP released with priority 0), link up returns to BACKUP', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 150 },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(5000);
    const t = n.now;
    n.deliver('a', { type: 'link', interface: 'eth0', up: false });
    expect(n.state('a')).toBe('FAULT');
    expect(n.held.get('a')!.size).toBe(0);
    n.run(1000);
    expect(n.masters()).toEqual(['b']);
    expect(n.takeoverAt('b', t)! - t).toBeLessThan(100);
    n.deliver('a', { type: 'link', interface: 'eth0', up: true });
    n.run(3000);
    expect(n.masters()).toEqual(['a']);
  });

  it('reconfigure keeps a VIP the new configuration keeps, adds new ones, drops removed ones', () => {
    const o = { name: 'a', address: addr(1), priority: 150 };
    const spec = { routerId: 'a', instances: [instanceSpec(o)], scripts: [], syncGroups: [] };
    const r = new VrrpRouter(spec);
    r.step({ type: 'start' }, 0);
    r.step({ type: 'tick' }, 4000);
    expect(r.state('VI_1')).toBe('MASTER');
    const vips2 = [
      { address: '198.18.0.100', prefix: 24, family: 4 as const, dev: 'eth0' },
      { address: '198.18.0.102', prefix: 24, family: 4 as const, dev: 'eth0' },
    ];
    const acts = r.reconfigure({ ...spec, instances: [instanceSpec(o, { vips: vips2 })] }, 4100);
    expect(r.state('VI_1')).toBe('MASTER');
    const removed = acts.filter((a) => a.type === 'remove-vips').flatMap((a) => (a as { vips: { address: string }[] }).vips.map((v) => v.address));
    const added = acts.filter((a) => a.type === 'add-vips').flatMap((a) => (a as { vips: { address: string }[] }).vips.map((v) => v.address));
    expect(removed).toEqual([]);
    expect(added).toEqual(['198.18.0.102']);
    const acts2 = r.reconfigure({ ...spec, instances: [] }, 4200);
    expect(acts2.some((a) => a.type === 'send')).toBe(true); // priority-0 release
    expect(acts2.some((a) => a.type === 'remove-vips')).toBe(true);
  });

  it('set-priority (FloatIP placement) moves the master', () => {
    const n = net([
      { name: 'a', address: addr(1), priority: 150 },
      { name: 'b', address: addr(2), priority: 100 },
    ]);
    n.run(5000);
    const t = n.now;
    n.deliver('a', { type: 'set-priority', instance: 'VI_1', priority: 50 });
    n.run(500);
    expect(n.masters()).toEqual(['b']);
    expect(n.takeoverAt('b', t)! - t).toBeLessThan(100);
  });
});

describe('receive filtering as a raw socket reports it (interface, destination, TTL)', () => {
  const advert = (o: { version?: 2 | 3; plain?: boolean; dst?: string; pseudoDst?: string } = {}) =>
    encodeAdvertisement(
      { version: o.version ?? 3, family: 4, vrid: 51, priority: 200, advertIntCs: 100, addresses: ['198.18.0.100'] },
      { family: 4, src: addr(1), dst: o.pseudoDst ?? o.dst ?? '224.0.0.18', ...(o.plain ? { plain: true } : {}) },
    );
  const router = (over: Parameters<typeof instanceSpec>[1] = {}) => {
    const r = new VrrpRouter({ routerId: 'x', instances: [instanceSpec({ name: 'x', address: addr(2), priority: 100, version: 3 }, over)], scripts: [], syncGroups: [] });
    r.step({ type: 'start' }, 0);
    return r;
  };
  /** Feed an advert every second for 5 s: true when the router stayed BACKUP (it accepted them). */
  const accepted = (r: VrrpRouter, bytes: Uint8Array, ev: { dst?: string; ifname?: string; src?: string } = {}) => {
    for (let t = 0; t < 5000; t += 1000) {
      r.step({ type: 'packet', bytes, src: ev.src ?? addr(1), dst: ev.dst ?? '224.0.0.18', family: 4, ttl: 255, ...(ev.ifname ? { ifname: ev.ifname } : {}) }, t);
    }
    r.step({ type: 'tick' }, 5000);
    return r.state('VI_1') === 'BACKUP';
  };

  it('an advert that came in on another interface is not ours: counted as wrongInterface', () => {
    const r = router();
    expect(accepted(r, advert(), { ifname: 'eth1' })).toBe(false);
    expect(r.status().unmatched.wrongInterface).toBe(5);
    expect(accepted(router(), advert(), { ifname: 'eth0' })).toBe(true);
  });

  it('another multicast group, or multicast to a unicast instance: dropped as group', () => {
    const r = router();
    expect(accepted(r, advert({ dst: '224.0.0.19' }), { dst: '224.0.0.19', ifname: 'eth0' })).toBe(false);
    expect(r.status().instances[0]!.stats.dropped.group).toBe(5);
    const u = router({ peers: [addr(1)] });
    expect(accepted(u, advert(), { ifname: 'eth0' })).toBe(false);
    expect(u.status().instances[0]!.stats.dropped.group).toBe(5);
  });

  it('unicast: a source that is not a unicast_peer is dropped as peer; a peer is accepted', () => {
    const u = router({ peers: [addr(3)] });
    expect(accepted(u, advert({ dst: addr(2) }), { dst: addr(2), ifname: 'eth0' })).toBe(false);
    expect(u.status().instances[0]!.stats.dropped.peer).toBe(5);
    expect(accepted(router({ peers: [addr(1)] }), advert({ dst: addr(2) }), { dst: addr(2), ifname: 'eth0' })).toBe(true);
  });

  it('v3_checksum_as_v2: the plain checksum is accepted only when configured; the standard one still is', () => {
    const plain = advert({ plain: true });
    const r = router();
    expect(accepted(r, plain, { ifname: 'eth0' })).toBe(false);
    expect(r.status().instances[0]!.stats.dropped.checksum).toBe(5);
    expect(accepted(router({ v3ChecksumAsV2: true }), plain, { ifname: 'eth0' })).toBe(true);
    expect(accepted(router({ v3ChecksumAsV2: true }), advert(), { ifname: 'eth0' })).toBe(true);
  });

  it('unicast v3 with the pre-1.3.6 keepalived checksum (over the multicast group) is accepted unless old_unicast_checksum never', () => {
    const old = advert({ dst: addr(2), pseudoDst: '224.0.0.18' });
    expect(accepted(router({ peers: [addr(1)] }), old, { dst: addr(2), ifname: 'eth0' })).toBe(true);
    const strict = router({ peers: [addr(1)], oldUnicastChecksum: 'never' });
    expect(accepted(strict, old, { dst: addr(2), ifname: 'eth0' })).toBe(false);
    expect(strict.status().instances[0]!.stats.dropped.checksum).toBe(5);
  });

  it('sends what it is configured to: plain v3 checksum, or the old unicast one', () => {
    const send = (over: Parameters<typeof instanceSpec>[1]) => {
      const r = new VrrpRouter({ routerId: 'x', instances: [instanceSpec({ name: 'x', address: addr(2), priority: 255, version: 3 }, over)], scripts: [], syncGroups: [] });
      const out = r.step({ type: 'start' }, 0);
      const s = out.find((a) => a.type === 'send');
      if (s?.type !== 'send') throw new Error('no advert sent');
      return s;
    };
    const p = send({ v3ChecksumAsV2: true });
    expect(decodeAdvertisement(p.bytes, { family: 4, src: addr(2), dst: p.dst, plain: true }).ok).toBe(true);
    expect(decodeAdvertisement(p.bytes, { family: 4, src: addr(2), dst: p.dst }).ok).toBe(false);
    const o = send({ peers: [addr(1)], oldUnicastChecksum: 'send' });
    expect(o.dst).toBe(addr(1));
    expect(decodeAdvertisement(o.bytes, { family: 4, src: addr(2), dst: '224.0.0.18' }).ok).toBe(true);
  });
});

describe('track_file and track_process', () => {
  const mk = (over: Parameters<typeof instanceSpec>[1]) => {
    const r = new VrrpRouter({ routerId: 'x', instances: [instanceSpec({ name: 'x', address: addr(2), priority: 100 }, over)], scripts: [], syncGroups: [] });
    r.step({ type: 'start' }, 0);
    return r;
  };
  it('track_file: value × weight moves the priority; weight 0 with a non-zero value is a FAULT', () => {
    const r = mk({ trackFiles: [{ name: 'f', weight: -10 }, { name: 'g', weight: 5, reverse: true }] });
    r.step({ type: 'track-file', name: 'f', value: 3 }, 10);
    expect(r.status().instances[0]!.effectivePriority).toBe(70);
    r.step({ type: 'track-file', name: 'g', value: 2 }, 20);
    expect(r.status().instances[0]!.effectivePriority).toBe(60);
    const z = mk({ trackFiles: [{ name: 'f', weight: 0 }] });
    z.step({ type: 'track-file', name: 'f', value: 1 }, 10);
    expect(z.state('VI_1')).toBe('FAULT');
    z.step({ type: 'track-file', name: 'f', value: 0 }, 20);
    expect(z.state('VI_1')).toBe('BACKUP');
  });
  it('track_process: weight while at least quorum processes run; weight 0 → FAULT when fewer', () => {
    const r = mk({ trackProcesses: [{ name: 'p', weight: 20, quorum: 2 }] });
    r.step({ type: 'track-process', name: 'p', running: 1 }, 10);
    expect(r.status().instances[0]!.effectivePriority).toBe(100);
    r.step({ type: 'track-process', name: 'p', running: 2 }, 20);
    expect(r.status().instances[0]!.effectivePriority).toBe(120);
    const z = mk({ trackProcesses: [{ name: 'p', weight: 0, quorum: 1 }] });
    z.step({ type: 'track-process', name: 'p', running: 0 }, 10);
    expect(z.state('VI_1')).toBe('FAULT');
  });
});
