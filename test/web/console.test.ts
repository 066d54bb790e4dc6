/**
 * The web console in real headless Chromium (Debian's, driven by
 * playwright-core over a pipe), on a 3-node lab cluster with web_listen on
 * every node. The browser runs on the lab's client host, so it is a remote
 * user: it must log in. The page shows the cluster, follows a failover as
 * it happens, and an action (node standby / online) works.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { belaydArgv, labDown, labExec, labUp, powerOff, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { writeHostEtc } from '../../src/lab/machine.js';
import { hashPassword } from '../../src/web/auth.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const CRM_MON = fileURLToPath(new URL('../../bin/crm_mon', import.meta.url));
const CHROMIUM = '/usr/lib/chromium/chromium';
/** Screenshots go to docs/ only on request (BELAY_SCREENSHOTS=1), so a test run leaves the tree clean. */
const DOCS = fileURLToPath(new URL('../../docs/', import.meta.url));
const PASSWORD = 'correct horse battery staple';

describe('web console in headless Chromium', () => {
  let lab: ClusterLabState;
  let work = '';
  let browser: Browser | undefined;
  let page: Page;
  let home = '';
  let viewer = '';
  const shots = () => (process.env['BELAY_SCREENSHOTS'] === '1' ? DOCS : work);

  const crm = async (node: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, CRM, ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.exitCode}): ${r.all}`);
    return String(r.stdout);
  };
  const addr = (n: string) => lab.lab.hosts.find((h) => h.name === n)!.address;
  const waitFor = async <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, everyMs = 250): Promise<T> => {
    const start = Date.now();
    let last: T | undefined;
    while (Date.now() - start < timeoutMs) {
      try {
        last = await probe();
        if (ok(last)) return last;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
  };
  /** Where crm_mon on `node` says FloatIP is started. */
  const crmMonFloatIp = async (node: string): Promise<string> => {
    const r = await labExec(lab, node, [process.execPath, CRM_MON, '-1']);
    return /FloatIP\s+\(ocf:belay:FloatIP\):\s+Started (\S+)/.exec(String(r.stdout))?.[1] ?? '';
  };

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (scripts/debian-packages.txt)`);
    work = mkdtempSync(join(tmpdir(), 'belay-web-'));
    chmodSync(work, 0o755);
    lab = await labUp({ name: `w${process.pid % 100000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv(), clusterFileExtra: 'web_listen: ":7630"\n' });
    for (const n of lab.nodes) writeHostEtc(lab.lab.hosts.find((h) => h.name === n)!.netns, { 'belay/web-users': { text: `root:${hashPassword(PASSWORD)}\n`, mode: 0o600 } });
    // Chromium on the client host: entered through the host's init, talking to playwright over a pipe.
    const wrapper = join(work, 'chromium-on-client.sh');
    writeFileSync(wrapper, `#!/bin/sh\nexec nsenter --target=${lab.init[lab.client]} --mount --uts --net -- ${CHROMIUM} "$@"\n`, { mode: 0o755 });
    browser = await chromium.launch({ executablePath: wrapper, args: ['--no-sandbox', '--disable-gpu'], timeout: 60_000 });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    if (lab) await labDown(lab);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('refuses an unauthenticated remote request', async () => {
    const n1 = addr('n1');
    await waitFor('the console to listen', () => labExec(lab, lab.client, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', `http://${n1}:7630/api/status`]), (r) => String(r.stdout) === '401');
    const root = await labExec(lab, lab.client, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code} %{redirect_url}', `http://${n1}:7630/`]);
    expect(String(root.stdout)).toBe(`303 http://${n1}:7630/login`);
    // A POST without a session or CSRF token changes nothing.
    const post = await labExec(lab, lab.client, ['curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-H', 'content-type: application/json', '-d', '{"action":"standby","node":"n1"}', `http://${n1}:7630/api/action`]);
    expect(String(post.stdout)).toBe('401');
  }, 60_000);

  it('logs in and shows the cluster', async () => {
    await crm('n1', 'configure', 'property', 'stonith-enabled=false');
    await crm('n1', 'configure', 'primitive', 'FloatIP', 'ocf:belay:FloatIP', 'params', `ip=${lab.vip}`, 'cidr_netmask=24', 'vrid=50', 'op', 'monitor', 'interval=5s');
    home = await waitFor('FloatIP started', () => crmMonFloatIp('n1'), (n) => n !== '', 60_000);
    viewer = lab.nodes.find((n) => n !== home)!;
    page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (d) => void d.accept());
    const bytes: number[] = [];
    page.on('response', (r) => void r.body().then((b) => bytes.push(b.length), () => undefined));
    await page.goto(`http://${addr(viewer)}:7630/`);
    expect(page.url()).toMatch(/\/login$/);
    await page.fill('input[name=user]', 'root');
    await page.fill('input[name=password]', 'wrong');
    await page.click('button');
    await page.waitForSelector('text=Login failed');
    await page.screenshot({ path: join(shots(), 'web-console-login.png') });
    await page.fill('input[name=user]', 'root');
    await page.fill('input[name=password]', PASSWORD);
    await page.click('button');
    await page.waitForSelector('#conn:text("live")');
    await page.waitForSelector(`#vips tr[data-rsc="FloatIP"] .where:text("${home}")`);
    for (const n of lab.nodes) await page.waitForSelector(`#nodes tr[data-node="${n}"] .state:text("online")`);
    await page.waitForSelector('#config:has-text("primitive FloatIP ocf:belay:FloatIP")');
    expect(await page.textContent('#quorum')).toBe('quorate');
    const weight = bytes.reduce((a, b) => a + b, 0);
    expect(weight).toBeLessThan(300 * 1024);
    console.log(`page weight: ${weight} bytes`);
  }, 120_000);

  it('reflects a failover as crm_mon shows it', async () => {
    const t0 = Date.now();
    const pageSaw = page
      .waitForSelector(`#vips tr[data-rsc="FloatIP"] .where:not(:text("${home}")):not(:text("nowhere"))`, { timeout: 90_000 })
      .then(() => Date.now());
    await powerOff(lab, home);
    const monTo = await waitFor('crm_mon to show FloatIP elsewhere', () => crmMonFloatIp(viewer), (n) => n !== '' && n !== home, 90_000, 50);
    const monSaw = Date.now();
    const pageAt = await pageSaw;
    const to = await page.textContent('#vips tr[data-rsc="FloatIP"] .where');
    expect(to).toBe(monTo);
    const lag = pageAt - monSaw;
    console.log(`failover ${home} -> ${monTo}: page ${pageAt - t0} ms, crm_mon ${monSaw - t0} ms after the power loss (page - crm_mon = ${lag} ms)`);
    expect(lag).toBeLessThanOrEqual(1000);
    await page.waitForSelector(`#nodes tr[data-node="${home}"] .state:text("OFFLINE")`);
    mkdirSync(shots(), { recursive: true });
    await page.screenshot({ path: join(shots(), 'web-console.png'), fullPage: true });
  }, 150_000);

  it('puts a node in standby and back online, moves a resource and clears the move, with confirmation', async () => {
    const target = lab.nodes.find((n) => n !== home && n !== viewer)!;
    await page.click(`#nodes tr[data-node="${target}"] button[data-action="standby"]`);
    await page.waitForSelector(`#nodes tr[data-node="${target}"] .state:text("standby")`, { timeout: 30_000 });
    expect(await crm(viewer, 'node', 'show', target)).toMatch(/standby=on/);
    await page.click(`#nodes tr[data-node="${target}"] button[data-action="online"]`);
    await page.waitForSelector(`#nodes tr[data-node="${target}"] .state:text("online")`, { timeout: 30_000 });
    // Move FloatIP to the third node and clear the move again.
    await page.click(`#actions div[data-rsc="FloatIP"] button[data-args*='"node":"${target}"']`);
    await page.waitForSelector(`#vips tr[data-rsc="FloatIP"] .where:text("${target}")`, { timeout: 30_000 });
    expect(await crm(viewer, 'configure', 'show')).toMatch(new RegExp(`location cli-prefer-FloatIP FloatIP .*inf: ${target}`));
    await page.click('#actions div[data-rsc="FloatIP"] button[data-action="clear"]');
    await page.waitForSelector('#config:not(:has-text("cli-prefer-FloatIP"))', { timeout: 30_000 });
    // What if: the scheduler's placement with the viewer's node down.
    await page.check(`#whatif-nodes input[value="${viewer}"]`);
    await page.click('#whatif-run');
    await page.waitForSelector('#whatif:has-text("Transition Summary")');
  }, 90_000);
});
