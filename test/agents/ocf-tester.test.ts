/**
 * Each of belay's agents passes ocf-tester (Debian's resource-agents),
 * inside a lab host so addresses and ports never touch the root namespace.
 * The agents are first copied into a fresh OCF root (the installed layout,
 * world-readable so ocf-tester's `su nobody` check can read them).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import { BELAY_OCF_ROOT } from '../../src/executor/resolve.js';
import { haproxyCfg, nginxConf } from './helpers.js';

let lab: Lab;
let dir: string;
let root: string;

beforeAll(async () => {
  requireCommands('ocf-tester tests', {
    'ocf-tester': 'resource-agents',
    xmllint: 'libxml2-utils',
    haproxy: 'haproxy',
    nginx: 'nginx',
    arping: 'iputils-arping',
    curl: 'curl',
  });
  lab = await Lab.create();
  await lab.addHost('a');
  await lab.addHost('b');
  // IPv6 on the lab link for the FloatIP IPv6 run (documentation prefix, inside the lab only).
  await lab.exec('a', ['ip', '-6', 'addr', 'add', '2001:db8:18::11/64', 'dev', 'eth0', 'nodad']);
  dir = mkdtempSync(join(tmpdir(), `belay-ocft-${process.pid}-`));
  chmodSync(dir, 0o755);
  root = join(dir, 'ocf');
  cpSync(BELAY_OCF_ROOT, root, { recursive: true });
});

afterAll(async () => {
  await lab?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function ocfTester(agent: string, name: string, params: Record<string, string>): Promise<string> {
  const args = ['ocf-tester', '-n', name];
  for (const [k, v] of Object.entries(params)) args.push('-o', `${k}=${v}`);
  args.push(join(root, 'resource.d', 'belay', agent));
  const r = await lab.exec('a', args, { reject: false, env: { OCF_ROOT: root }, timeout: 120_000 });
  const out = `${r.stdout}\n${r.stderr}`;
  expect(r.exitCode, out).toBe(0);
  expect(out).toMatch(/passed all tests/);
  return out;
}

describe('ocf-tester', () => {
  it('FloatIP (IPv4, label and dotted netmask)', async () => {
    await ocfTester('FloatIP', 'vip4', { ip: `${lab.subnet}.150`, label: 'vip', cidr_netmask: '255.255.255.0', arp_count: '2' });
    const addrs = (await lab.exec('a', ['ip', '-o', 'addr'])).stdout as string;
    expect(addrs).not.toContain(`${lab.subnet}.150`);
  });

  it('FloatIP (IPv6)', async () => {
    await ocfTester('FloatIP', 'vip6', { ip: '2001:db8:18::150' });
  });

  it('Dummy', async () => {
    await ocfTester('Dummy', 'dummy', { state: join(dir, 'dummy.state') });
  });

  it('haproxy', async () => {
    const cfg = haproxyCfg(dir, 'hap', '0.0.0.0', 18100);
    await ocfTester('haproxy', 'hap', {
      conffile: cfg,
      pidfile: join(dir, 'hap', 'haproxy.pid'),
      status_url: 'http://127.0.0.1:18100/health',
      stats_socket: join(dir, 'hap', 'admin.sock'),
    });
  });

  it('nginx', async () => {
    const conf = nginxConf(dir, 'ngx', '0.0.0.0', 18101);
    await ocfTester('nginx', 'ngx', { conffile: conf, status_url: 'http://127.0.0.1:18101/nginx_status' });
  });

  it('leaves no service process behind', () => {
    const comms = lab.pids('a').map((pid) => {
      try {
        return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      } catch {
        return '';
      }
    });
    expect(comms.filter((c) => c === 'haproxy' || c === 'nginx')).toEqual([]);
  });
});
