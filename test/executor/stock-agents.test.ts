/**
 * The executor runs ClusterLabs' own agents (Debian's resource-agents):
 * Dummy, IPaddr2 and nginx, start / monitor / stop, inside a lab host.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import { Executor } from '../../src/executor/executor.js';
import { nginxConf } from '../agents/helpers.js';

let lab: Lab;
let ex: Executor;
let dir: string;

beforeAll(async () => {
  requireCommands('stock agent tests', { nginx: 'nginx', ping: 'iputils-ping', curl: 'curl' });
  if (!existsSync('/usr/lib/ocf/resource.d/heartbeat/IPaddr2')) throw new Error('stock agent tests need Debian package resource-agents');
  lab = await Lab.create();
  await lab.addHost('a');
  await lab.addHost('b');
  ex = new Executor({ prefix: ['ip', 'netns', 'exec', lab.host('a').netns] });
  dir = mkdtempSync(join(tmpdir(), `belay-stock-${process.pid}-`));
});

afterAll(async () => {
  ex?.close();
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function cycle(rscId: string, agent: string, params: Record<string, string>, check?: (running: boolean) => Promise<void>) {
  const op = (action: string, intervalMs = 0) => ex.execute({ rscId, agent, action, params, intervalMs, timeoutMs: 20_000 });
  const probe = await op('monitor');
  expect(probe.rc, probe.stderr).toBe(7);
  const start = await op('start');
  expect(start.rc, start.stderr).toBe(0);
  expect(start.path).toContain('/usr/lib/ocf/resource.d/heartbeat/');
  const mon = await op('monitor', 10_000);
  expect(mon.rc, mon.stderr).toBe(0);
  if (check) await check(true);
  const stop = await op('stop');
  expect(stop.rc, stop.stderr).toBe(0);
  const after = await op('monitor');
  expect(after.rc, after.stderr).toBe(7);
  if (check) await check(false);
}

describe('stock ClusterLabs agents through the executor', () => {
  it('ocf:heartbeat:Dummy', async () => {
    await cycle('sd', 'ocf:heartbeat:Dummy', { state: join(dir, 'dummy.state') });
  });

  it('ocf:heartbeat:IPaddr2 adds a VIP that the other host reaches, and removes it', async () => {
    const vip = `${lab.subnet}.200`;
    await cycle('vip', 'ocf:heartbeat:IPaddr2', { ip: vip, cidr_netmask: '24' }, async (running) => {
      const addrs = (await lab.exec('a', ['ip', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout as string;
      expect(addrs.includes(`${vip}/24`)).toBe(running);
      const ping = await lab.exec('b', ['ping', '-c', '1', '-W', '1', vip], { reject: false });
      expect(ping.exitCode === 0).toBe(running);
    });
  });

  it('ocf:heartbeat:nginx', async () => {
    const conf = nginxConf(dir, 'stock', '127.0.0.1', 18090);
    await cycle('web', 'ocf:heartbeat:nginx', { configfile: conf, httpd: '/usr/sbin/nginx' }, async (running) => {
      const r = await lab.exec('a', ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', 'http://127.0.0.1:18090/'], { reject: false });
      expect(r.stdout === '200').toBe(running);
    });
    const left = lab.pids('a').filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx';
      } catch {
        return false;
      }
    });
    expect(left).toEqual([]);
  });
});
