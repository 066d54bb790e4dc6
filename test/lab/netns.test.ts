import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { Lab } from '../../src/lab/netns.js';

describe('lab of network namespaces', () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await Lab.create();
    await lab.addHost('a');
    await lab.addHost('b');
  });
  afterAll(async () => lab?.destroy());

  it('connects hosts through the bridge and keeps addresses out of the root namespace', async () => {
    const r = await lab.exec('a', ['ping', '-c', '1', '-W', '2', lab.host('b').address]);
    expect(r.exitCode).toBe(0);
    const rootAddrs = execFileSync('ip', ['-o', 'addr'], { encoding: 'utf8' });
    expect(rootAddrs).not.toContain(lab.host('a').address);
  });

  it('cuts a host off when its link goes down, and kills its processes on crash', async () => {
    const before = await lab.exec('a', ['ping', '-c', '1', '-W', '2', lab.host('b').address], { reject: false });
    expect(before.exitCode).toBe(0);
    const sleeper = lab.spawn('b', ['sleep', '60']);
    for (let i = 0; i < 100 && !lab.pids('b').includes(sleeper.pid!); i++) await new Promise((r) => setTimeout(r, 100));
    expect(lab.pids('b')).toContain(sleeper.pid);
    await lab.crash('b');
    const r = await lab.exec('a', ['ping', '-c', '1', '-W', '1', lab.host('b').address], { reject: false });
    expect(r.exitCode).toBe(1); // 1 = no reply; 2 would be an error running ping
    for (let i = 0; i < 100 && lab.pids('b').length > 0; i++) await new Promise((r) => setTimeout(r, 100));
    expect(lab.pids('b')).toEqual([]);
    await lab.setLink('b', true);
  });

  it('removes every namespace it made', async () => {
    const names = lab.namespaces();
    await lab.destroy();
    const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const n of names) expect(list).not.toContain(n);
  });
});
