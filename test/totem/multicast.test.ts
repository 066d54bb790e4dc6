/**
 * transport: udp (multicast), as Corosync's udp transport: three `belay totem
 * run` processes in a network namespace this test makes (loopback with
 * multicast on, so nothing touches the host's own interfaces) form a ring and
 * deliver in one order. Needs root (ip netns) and `npm run build`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BELAY, Proc, ROOT, ringOf } from './proc.js';

const NS = `belay-mc-${process.pid}`;
const ip = (...args: string[]) => {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error?.message}`);
};

describe('multicast transport in a private network namespace', () => {
  let dir = '';
  const procs: Proc[] = [];

  beforeAll(() => {
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      throw new Error('this test needs root (it creates a network namespace with ip netns)');
    }
    if (!existsSync(join(ROOT, 'dist/cli/belay.js'))) throw new Error('belay is not built: run `npm run build` first');
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ip('-n', NS, 'link', 'set', 'lo', 'multicast', 'on');
    ip('-n', NS, 'route', 'add', '224.0.0.0/4', 'dev', 'lo');
    dir = mkdtempSync(join(tmpdir(), `belay-mc-${process.pid}-`));
    const kg = spawnSync(process.execPath, [BELAY, 'keygen', '-o', join(dir, 'authkey')], { encoding: 'utf8' });
    expect(kg.status, kg.stderr).toBe(0);
    writeFileSync(
      join(dir, 'cluster.yaml'),
      [
        'cluster_name: mctest',
        'nodes:',
        ...[1, 2, 3].flatMap((i) => [`  - name: n${i}`, `    id: ${i}`, `    address: 127.0.0.${i}`]),
        'totem:',
        '  port: 5405',
        '  transport: udp',
        '  mcast_addr: 239.192.7.7',
        `key_file: ${join(dir, 'authkey')}`,
        `state_dir: ${join(dir, 'state')}`,
        '',
      ].join('\n'),
    );
  });

  afterAll(async () => {
    for (const p of procs) p.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('forms a ring of three and delivers in one order', async () => {
    for (const i of [1, 2, 3]) {
      procs.push(new Proc(`n${i}`, ['totem', 'run', '-c', join(dir, 'cluster.yaml'), '-n', `n${i}`, '-s', join(dir, `s${i}.json`)], ['ip', 'netns', 'exec', NS]));
    }
    for (const p of procs) await p.waitFor(ringOf(p, [1, 2, 3]), 15_000, 'ring of 3');
    for (let k = 0; k < 10; k++) procs.forEach((p, i) => p.send(`mc${i + 1}-${k}`));
    for (const p of procs) await p.waitFor(() => p.delivered().length >= 30, 10_000, '30 deliveries');
    const orders = procs.map((p) => p.delivered());
    expect(orders[1]).toEqual(orders[0]);
    expect(orders[2]).toEqual(orders[0]);
  });
});
