/**
 * belay's haproxy, nginx and FloatIP agents with the real programs, driven
 * through the executor inside a lab host: start, serve, reload, a kill -9
 * found by monitor (rc 7), stop leaving no process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import { Executor } from '../../src/executor/executor.js';
import { haproxyCfg, nginxConf } from './helpers.js';

let lab: Lab;
let ex: Executor;
let dir: string;

beforeAll(async () => {
  requireCommands('service agent tests', { haproxy: 'haproxy', nginx: 'nginx', curl: 'curl' });
  lab = await Lab.create();
  await lab.addHost('lb');
  await lab.addHost('client');
  ex = new Executor({ prefix: ['ip', 'netns', 'exec', lab.host('lb').netns] });
  dir = mkdtempSync(join(tmpdir(), `belay-svc-${process.pid}-`));
});

afterAll(async () => {
  ex?.close();
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function procs(name: string): number[] {
  return lab.pids('lb').filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === name && stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
    } catch {
      return false;
    }
  });
}

/** Body of a GET from a lab host (execa strips the final newline). */
async function get(url: string, from = 'client'): Promise<string> {
  const r = await lab.exec(from, ['curl', '-s', '--max-time', '3', url], { reject: false });
  return r.exitCode === 0 ? String(r.stdout) : `curl exit ${r.exitCode}`;
}

async function waitFor(what: string, cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('haproxy agent with real haproxy', () => {
  it('starts, serves, reloads, detects kill -9 (rc 7), and stops leaving no process', async () => {
    const lbAddr = lab.host('lb').address;
    // The tutorial's shape: nginx app server behind haproxy.
    const app = nginxConf(dir, 'app', '127.0.0.1', 18200);
    const cfg = haproxyCfg(dir, 'hap', '0.0.0.0', 18201, '127.0.0.1:18200');
    const params = {
      conffile: cfg,
      pidfile: join(dir, 'hap', 'haproxy.pid'),
      status_url: 'http://127.0.0.1:18201/health',
      stats_socket: join(dir, 'hap', 'admin.sock'),
    };
    const op = (action: string, intervalMs = 0) =>
      ex.execute({ rscId: 'haproxy', agent: 'ocf:heartbeat:haproxy', action, params, intervalMs });
    expect((await ex.execute({ rscId: 'app', agent: 'ocf:belay:nginx', action: 'start', params: { conffile: app } })).rc).toBe(0);

    expect((await op('monitor')).rc).toBe(7);
    const start = await op('start');
    expect(start.rc, start.stderr).toBe(0);
    expect(start.path).toContain('resource.d/belay/haproxy'); // the tutorial's name resolves to ours
    expect(start.stderr).toMatch(/started haproxy \(pid \d+\)/);
    expect((await op('start')).rc).toBe(0); // idempotent
    expect((await op('monitor', 15_000)).rc).toBe(0);
    await waitFor('haproxy to reach the app', async () => (await get(`http://${lbAddr}:18201/`)) === 'app');

    const pid1 = Number(readFileSync(params.pidfile, 'utf8'));
    const reload = await op('reload');
    expect(reload.rc, reload.stderr).toBe(0);
    const pid2 = Number(readFileSync(params.pidfile, 'utf8'));
    expect(pid2).not.toBe(pid1);
    expect(await get(`http://${lbAddr}:18201/health`)).toContain('200');

    // A broken configuration is refused before anything is touched.
    const good = readFileSync(cfg, 'utf8');
    writeFileSync(cfg, good + '\nthis is not haproxy syntax\n');
    const bad = await op('reload');
    expect(bad.rc).toBe(6);
    expect(bad.exitReason).toMatch(/haproxy -c rejects/);
    expect((await op('monitor', 15_000)).rc).toBe(0);
    writeFileSync(cfg, good);

    for (const pid of procs('haproxy')) process.kill(pid, 'SIGKILL');
    await waitFor('haproxy to die', () => procs('haproxy').length === 0);
    const mon = await op('monitor', 15_000);
    expect(mon.rc).toBe(7);
    expect(mon.result.ok).toBe(false);

    expect((await op('start')).rc).toBe(0); // recovery: start again
    expect((await op('stop')).rc).toBe(0);
    expect(procs('haproxy')).toEqual([]);
    expect((await op('stop')).rc).toBe(0); // idempotent
    expect((await op('monitor')).rc).toBe(7);
    expect((await ex.execute({ rscId: 'app', agent: 'ocf:belay:nginx', action: 'stop', params: { conffile: app } })).rc).toBe(0);
    expect(procs('nginx')).toEqual([]);
  });

  it('works with no parameters: validates /etc/haproxy/haproxy.cfg (the tutorial primitive)', async () => {
    const r = await ex.execute({ rscId: 'haproxy', agent: 'ocf:heartbeat:haproxy', action: 'validate-all' });
    expect(r.rc, r.stderr).toBe(0);
    const probe = await ex.execute({ rscId: 'haproxy', agent: 'ocf:heartbeat:haproxy', action: 'monitor' });
    expect(probe.rc).toBe(7);
  });

  it('auto_reload picks up a changed configuration on monitor', async () => {
    const cfg = haproxyCfg(dir, 'auto', '127.0.0.1', 18210);
    const params = { conffile: cfg, pidfile: join(dir, 'auto', 'haproxy.pid'), auto_reload: 'true' };
    const op = (action: string, intervalMs = 0) => ex.execute({ rscId: 'auto', agent: 'ocf:belay:haproxy', action, params, intervalMs });
    expect((await op('start')).rc).toBe(0);
    expect(await get('http://127.0.0.1:18210/', 'lb')).toBe('auto');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('string auto', 'string changed'));
    const mon = await op('monitor', 15_000);
    expect(mon.rc, mon.stderr).toBe(0);
    expect(mon.stderr).toMatch(/reloaded haproxy/);
    await waitFor('the new configuration', async () => (await get('http://127.0.0.1:18210/', 'lb')) === 'changed');
    expect((await op('stop')).rc).toBe(0);
    expect(procs('haproxy')).toEqual([]);
  });
});

describe('nginx agent with real nginx', () => {
  it('starts, serves, reloads, detects kill -9 of the master (rc 7), and stop ends the orphaned workers', async () => {
    const lbAddr = lab.host('lb').address;
    const conf = nginxConf(dir, 'web', '0.0.0.0', 18300, false); // no pid directive: pidfile param
    const params = { conffile: conf, pidfile: join(dir, 'web', 'custom.pid'), status_url: 'http://127.0.0.1:18300/nginx_status' };
    const op = (action: string, intervalMs = 0) => ex.execute({ rscId: 'web', agent: 'ocf:belay:nginx', action, params, intervalMs });
    expect((await op('monitor')).rc).toBe(7);
    const start = await op('start');
    expect(start.rc, start.stderr).toBe(0);
    expect((await op('monitor', 10_000)).rc).toBe(0);
    expect(await get(`http://${lbAddr}:18300/`)).toBe('web');

    writeFileSync(conf, readFileSync(conf, 'utf8').replace('return 200 "web\\n"', 'return 200 "reloaded\\n"'));
    const master = Number(readFileSync(params.pidfile, 'utf8'));
    expect((await op('reload')).rc).toBe(0);
    await waitFor('nginx to reload', async () => (await get(`http://${lbAddr}:18300/`)) === 'reloaded');
    expect(Number(readFileSync(params.pidfile, 'utf8'))).toBe(master);

    process.kill(master, 'SIGKILL');
    await waitFor('the master to die', () => !procs('nginx').includes(master));
    expect(procs('nginx').length).toBeGreaterThan(0); // workers live on
    const mon = await op('monitor', 10_000);
    expect(mon.rc).toBe(7);
    expect(mon.stderr).toMatch(/left .* running/);
    const stop = await op('stop');
    expect(stop.rc, stop.stderr).toBe(0);
    expect(procs('nginx')).toEqual([]);
    expect((await op('stop')).rc).toBe(0);
  });

  it('refuses a broken configuration with rc 6 and starts nothing', async () => {
    const conf = nginxConf(dir, 'broken', '127.0.0.1', 18310);
    writeFileSync(conf, readFileSync(conf, 'utf8') + '\nnot_a_directive on;\n');
    const r = await ex.execute({ rscId: 'broken', agent: 'ocf:belay:nginx', action: 'start', params: { conffile: conf } });
    expect(r.rc).toBe(6);
    expect(r.exitReason).toMatch(/nginx -t rejects/);
    expect(procs('nginx')).toEqual([]);
  });
});

describe('FloatIP agent', () => {
  it('adds a VIP the other host reaches, announces it with gratuitous ARP, removes it', async () => {
    const vip = `${lab.subnet}.240`;
    const params = { ip: vip, cidr_netmask: '24', arp_bg: 'false', arp_count: '2', arp_interval: '100' };
    const op = (action: string, intervalMs = 0) => ex.execute({ rscId: 'vip', agent: 'ocf:belay:FloatIP', action, params, intervalMs });
    // Let the client learn addresses from gratuitous ARP (its own namespace only).
    await lab.exec('client', ['sh', '-c', 'echo 1 > /proc/sys/net/ipv4/conf/eth0/arp_accept']);
    expect((await op('monitor')).rc).toBe(7);
    const start = await op('start');
    expect(start.rc, start.stderr).toBe(0);
    expect(start.stderr).toMatch(/sent 2 gratuitous ARP/);
    expect((await op('monitor', 10_000)).rc).toBe(0);
    // Before any traffic: the client knows the VIP's MAC from the announcement alone.
    const lbMac = String((await lab.exec('lb', ['cat', '/sys/class/net/eth0/address'])).stdout).trim();
    const neigh = String((await lab.exec('client', ['ip', 'neigh', 'show', vip])).stdout);
    expect(neigh).toContain(`lladdr ${lbMac}`);
    const ping = await lab.exec('client', ['ping', '-c', '1', '-W', '2', vip], { reject: false });
    expect(ping.exitCode).toBe(0);
    expect((await op('stop')).rc).toBe(0);
    expect(String((await lab.exec('lb', ['ip', '-o', 'addr'])).stdout)).not.toContain(vip);
    expect((await op('monitor')).rc).toBe(7);
    const missingNic = await ex.execute({ rscId: 'vip2', agent: 'ocf:belay:FloatIP', action: 'start', params: { ip: `${lab.subnet}.241`, nic: 'nosuch0' } });
    expect(missingNic.rc).toBe(2);
    expect(missingNic.result.recovery).toBe('hard');
  });
});
