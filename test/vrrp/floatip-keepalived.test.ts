/**
 * A belay FloatIP (belayd's VipManager, the code the cluster runs for a
 * FloatIP with `vrid`) shares its VRID with a stock keepalived box: one
 * VRRP group on the wire (IP protocol 112, multicast, VRRPv2 + PASS, as in
 * keepalived's defaults). The cluster's start claims the address (priority
 * 254: keepalived stays BACKUP); the cluster's stop hands it over with a
 * priority-0 advert (keepalived takes it); a new start takes it back.
 *
 * Needs root and keepalived; run `npm run build` first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../../src/lab/netns.js';
import { hasVip, makeWorkDir, requireKeepalivedLab, startDaemon, stopDaemon, waitFor, type DaemonHandle } from '../../src/lab/keepalived-demo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const vipManagerJs = path.join(root, 'dist', 'daemon', 'vip-manager.js');

let lab: Lab | null = null;
let work = '';
let ka: DaemonHandle | null = null;
let driver: ChildProcess | null = null;

afterEach(async () => {
  driver?.stdin?.end();
  if (driver && driver.exitCode === null) driver.kill('SIGTERM');
  driver = null;
  if (ka) await stopDaemon(ka, 3000);
  ka = null;
  await lab?.destroy();
  lab = null;
  if (work) rmSync(work, { recursive: true, force: true });
  work = '';
});

describe('FloatIP with vrid in one VRRP group with a keepalived box', () => {
  it('claims over keepalived, hands over on stop (priority 0), takes it back', async () => {
    requireKeepalivedLab('the FloatIP/keepalived test');
    if (!existsSync(vipManagerJs)) throw new Error(`run \`npm run build\` first: ${vipManagerJs} is missing`);
    lab = await Lab.create({ tag: `fk${process.pid % 10000}` });
    work = makeWorkDir('belay-floatip-ka-');
    const n1 = await lab.addHost('n1');
    const n2 = await lab.addHost('n2');
    const vip = `${lab.subnet}.77`;

    // The keepalived box: stock keepalived.conf, multicast (the default), v2 + PASS.
    const conf = path.join(work, 'ka.conf');
    writeFileSync(
      conf,
      `vrrp_instance VI_1 {\n  state BACKUP\n  interface eth0\n  virtual_router_id 77\n  priority 100\n  advert_int 1\n` +
        `  authentication {\n    auth_type PASS\n    auth_pass s3cr3t\n  }\n  virtual_ipaddress {\n    ${vip}/24 dev eth0\n  }\n}\n`,
    );
    ka = startDaemon(lab, 'n2', 'keepalived', conf, work);
    await waitFor(() => hasVip(lab!, 'n2', vip), 15_000, 'keepalived alone to take the VIP');

    // The belay node: the cluster's VipManager, driven over stdin as belayd's executor drives it.
    const script = path.join(work, 'driver.mjs');
    writeFileSync(
      script,
      `import { VipManager } from ${JSON.stringify(vipManagerJs)};
import { createInterface } from 'node:readline';
const m = new VipManager({ name: 'n1', address: ${JSON.stringify(n1.address)} }, [], (l) => process.stderr.write(l + '\\n'));
const params = { ip: ${JSON.stringify(vip)}, cidr_netmask: '24', nic: 'eth0', vrid: '77', advert_int: '1',
  vrrp_multicast: 'yes', vrrp_version: '2', vrrp_auth_pass: 's3cr3t' };
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'exit') { await m.close(); process.stdout.write('bye\\n'); process.exit(0); }
  const r = await m.operate('FloatIP', line, params);
  process.stdout.write(line + ' rc=' + r.rc + (r.reason ? ' ' + r.reason : '') + '\\n');
}
`,
    );
    driver = lab.spawn('n1', [process.execPath, script], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    driver.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    driver.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const op = async (task: string) => {
      const before = out.length;
      driver!.stdin!.write(`${task}\n`);
      return waitFor(() => /\n/.test(out.slice(before)) && out.slice(before).trim(), 15_000, `FloatIP ${task}`, 20);
    };
    const kaState = () => [...readFileSync(ka!.logFile, 'utf8').matchAll(/\(VI_1\) Entering (MASTER|BACKUP|FAULT) STATE/g)].at(-1)?.[1];

    try {
      // Cluster start on n1: it claims at once (priority 254), keepalived backs off.
      expect(await op('start')).toBe('start rc=0');
      await waitFor(async () => (await hasVip(lab!, 'n1', vip)) && !(await hasVip(lab!, 'n2', vip)) && kaState() === 'BACKUP', 15_000, 'n1 alone with the VIP, keepalived BACKUP');
      expect(await op('monitor')).toBe('monitor rc=0');

      // Cluster stop: priority 0 on the wire, keepalived takes over without waiting out its master-down timer.
      expect(await op('stop')).toBe('stop rc=0');
      await waitFor(async () => (await hasVip(lab!, 'n2', vip)) && kaState() === 'MASTER', 10_000, 'keepalived to take the VIP after the handover');
      await waitFor(async () => !(await hasVip(lab!, 'n1', vip)), 5_000, 'n1 to drop the VIP');

      // Start again: the FloatIP takes the address back from the keepalived box.
      await new Promise((r) => setTimeout(r, 2_000)); // the stopped instance is gone after its handover window
      expect(await op('start')).toBe('start rc=0');
      await waitFor(async () => (await hasVip(lab!, 'n1', vip)) && !(await hasVip(lab!, 'n2', vip)) && kaState() === 'BACKUP', 15_000, 'n1 to take the VIP back');

      driver.stdin!.write('exit\n');
      await waitFor(() => out.includes('bye'), 10_000, 'the FloatIP node to exit');
      const bad = readFileSync(ka.logFile, 'utf8').split('\n').filter((l) => /invalid|mismatch|bad /i.test(l));
      expect(bad, 'keepalived complained about the FloatIP adverts').toEqual([]);
    } catch (e) {
      process.stderr.write(`--- FloatIP node\n${err}\n--- keepalived\n${readFileSync(ka.logFile, 'utf8')}\n`);
      throw e;
    }
  }, 120_000);
});
