import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { heal, labDown, labExec, labUp, partition, powerOff, powerOn, saveLabState, type ClusterLabState } from '../../src/lab/cluster-lab.js';

const BELAY = fileURLToPath(new URL('../../bin/belay', import.meta.url));

/** The tutorial's hosts without the cluster: switch, two load balancers, two app servers, a client. */
describe('belay lab (hosts as machines)', () => {
  let state: ClusterLabState;
  const curl = (host: string, addr: string) => labExec(state, 'client', ['curl', '-s', '-m', '2', `http://${addr}/`]).then((r) => (r.exitCode === 0 ? String(r.stdout) : `FAIL(${r.exitCode})`));

  beforeAll(async () => {
    state = await labUp({ name: `t${process.pid % 100000}`, nodes: 2, apps: 2 });
  });
  afterAll(async () => {
    if (state) await labDown(state);
  });

  it('serves each app server its own page to the client', async () => {
    for (let i = 0; i < 50 && (await curl('client', '198.18.0.22')).startsWith('FAIL'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await curl('client', '198.18.0.21')).toBe('Droplet: app-1, IP Address: 198.18.0.21');
    expect(await curl('client', '198.18.0.22')).toBe('Droplet: app-2, IP Address: 198.18.0.22');
  });

  it('gives each node its own host name, /etc/haproxy and /run, like separate machines', async () => {
    expect((await labExec(state, 'n2', ['hostname'])).stdout).toBe('n2');
    const cfg = await labExec(state, 'n1', ['cat', '/etc/haproxy/haproxy.cfg']);
    expect(String(cfg.stdout)).toContain('server app2 198.18.0.22:80 check');
    await labExec(state, 'n1', ['sh', '-c', 'echo n1 > /run/marker']);
    expect((await labExec(state, 'n2', ['cat', '/run/marker'])).exitCode).not.toBe(0);
    expect(existsSync('/run/marker')).toBe(false);
  });

  it('runs the tutorial haproxy with its default config path, round-robin over the apps', async () => {
    const r = await labExec(state, 'n1', ['haproxy', '-f', '/etc/haproxy/haproxy.cfg', '-D', '-p', '/run/haproxy.pid']);
    expect(r.exitCode).toBe(0);
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) {
      const page = await curl('client', '198.18.0.11');
      if (!page.startsWith('FAIL') && !page.includes('503')) seen.add(page.trim());
      await new Promise((res) => setTimeout(res, 100));
    }
    expect([...seen].sort()).toEqual(['Droplet: app-1, IP Address: 198.18.0.21', 'Droplet: app-2, IP Address: 198.18.0.22']);
  });

  it('power-cycles a host: everything on it dies, /run is fresh, addresses are reset, the network comes back', async () => {
    await labExec(state, 'n1', ['ip', 'addr', 'add', '198.18.0.50/24', 'dev', 'eth0']);
    await powerOff(state, 'n1');
    expect(await curl('client', '198.18.0.11')).toMatch(/^FAIL/);
    await powerOn(state, 'n1');
    expect((await labExec(state, 'n1', ['ls', '/run'])).stdout).not.toContain('haproxy.pid');
    const addrs = String((await labExec(state, 'n1', ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout);
    expect(addrs).toContain('198.18.0.11/24');
    expect(addrs).not.toContain('198.18.0.50');
    const ping = await labExec(state, 'client', ['ping', '-c', '1', '-W', '2', '198.18.0.11']);
    expect(ping.exitCode).toBe(0);
    expect(state.powerCycles).toEqual({ n1: 1 });
  });

  it('runs the power switch and shows power cycles in belay lab status', async () => {
    saveLabState(state);
    const out = execFileSync(process.execPath, [BELAY, 'lab', 'status', '--name', state.name], { encoding: 'utf8' });
    expect(out).toMatch(new RegExp(`power switch: up \\(pid ${state.powerSwitch}\\)`));
    expect(out).toMatch(/n1\s+198\.18\.0\.11\s+cluster node\s+on\s+1\n/);
    expect(out).toMatch(/n2\s+198\.18\.0\.12\s+cluster node\s+on\s+0\n/);
  });

  it('partitions a host while its link stays up, and heals it', async () => {
    await partition(state, 'n2');
    expect((await labExec(state, 'client', ['ping', '-c', '1', '-W', '1', '198.18.0.12'])).exitCode).toBe(1);
    expect((await labExec(state, 'client', ['ping', '-c', '1', '-W', '5', '198.18.0.11'])).exitCode).toBe(0);
    await heal(state);
    expect((await labExec(state, 'client', ['ping', '-c', '1', '-W', '2', '198.18.0.12'])).exitCode).toBe(0);
  });

  it('leaves nothing behind', async () => {
    const namespaces = state.lab.hosts.map((h) => h.netns);
    await labDown(state);
    const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    for (const ns of namespaces) expect(list).not.toContain(ns);
    for (const ns of namespaces) expect(existsSync(`/etc/netns/${ns}`)).toBe(false);
    expect(existsSync(`/proc/${state.powerSwitch}`)).toBe(false);
    expect(existsSync(state.dir)).toBe(false);
    state = undefined as unknown as ClusterLabState;
  });
});
