/**
 * The seed tutorial end to end on a belay cluster: the tutorial's crm
 * commands verbatim, a reboot of the active load balancer under a client's
 * load, the floating IP moving, crm_mon showing the new placement.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { belaydArgv, labDown, labExec, labUp } from '../../src/lab/cluster-lab.js';
import { runTutorialDemo, tutorialCommands } from '../../src/lab/tutorial-demo.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const CRM_MON = fileURLToPath(new URL('../../bin/crm_mon', import.meta.url));

describe('the tutorial on belay with fencing (2 load balancers, haproxy clone, FloatIP on VRRP, 2 nginx app servers, fence_belay_lab)', () => {
  it('fences the active load balancer when its cable is pulled, then moves the floating IP: never two holders', async () => {
    const lines: string[] = [];
    const r = await runTutorialDemo({ name: `tu${process.pid % 100000}`, print: (l) => lines.push(l) });
    console.log(`tutorial partition: gap ${r.gapMs} ms, ${r.failed} failed requests, ${r.from} -> ${r.to}, ${r.samples} samples, ${r.twoHolderSamples} with two holders`);
    expect(r.to).not.toBe(r.from);
    // The cut-off balancer was powered off through the lab's switch (a reboot: one power cycle).
    expect(r.powerCycles).toBe(1);
    // The client was served by one balancer at a time: the old one (while the
    // cut takes effect, if it answered at all after it), then the survivor, never back.
    expect([[r.to], [r.from, r.to]]).toContainEqual(r.answeredBy);
    expect(r.samples).toBeGreaterThan(20);
    expect(r.twoHolderSamples).toBe(0);
    expect(Object.keys(r.byApp).sort()).toEqual(['app-1', 'app-2']);
    expect(r.holdersAfter).toEqual([r.to]);
    expect(r.crmMonAfter).toMatch(new RegExp(`FloatIP\\s+\\(ocf:belay:FloatIP\\):\\s+Started ${r.to}`));
    expect(r.crmMonAfter).toMatch(/Online: \[ n1 n2 \]/);
    expect(r.crmMonAfter).toMatch(new RegExp(`reboot of ${r.from} successful: delegate=${r.to}`));
    expect(lines.join('\n')).toContain('crm configure primitive fence-lab stonith:fence_belay_lab');
  }, 240_000);
});

describe('the tutorial: "stop haproxy on the active load balancer and it starts again within 15 seconds"', () => {
  it('the haproxy clone instance is restarted by its monitor, the floating IP stays', async () => {
    const state = await labUp({ name: `hs${process.pid % 100000}`, nodes: 2, apps: 2, daemonArgv: belaydArgv() });
    try {
      const crm = async (node: string, args: string[]) => {
        const r = await labExec(state, node, [process.execPath, CRM, ...args]);
        if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')}: ${r.all}`);
        return String(r.stdout);
      };
      await waitFor(async () => (await crm('n1', ['configure', 'show'])).includes('node 2: n2'), 20_000);
      for (const args of tutorialCommands(state.vip)) await crm('n1', args);
      const holder = await waitFor(async () => {
        for (const n of state.nodes) if (String((await labExec(state, n, ['ip', '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).stdout).includes(` ${state.vip}/`)) return n;
        return undefined;
      }, 30_000);
      const pidfile = '/run/resource-agents/haproxy-haproxy.pid';
      const pidOf = async () => Number(String((await labExec(state, holder, ['sh', '-c', `head -n1 ${pidfile} 2>/dev/null`])).stdout).trim()) || 0;
      const before = await waitFor(async () => (await pidOf()) || undefined, 30_000);
      // "sudo service haproxy stop": the process goes away behind the cluster's back.
      await labExec(state, holder, ['kill', String(before)]);
      const t0 = Date.now();
      const after = await waitFor(async () => {
        const pid = await pidOf();
        return pid && pid !== before && (await labExec(state, holder, ['kill', '-0', String(pid)])).exitCode === 0 ? pid : undefined;
      }, 25_000);
      console.log(`haproxy stopped on ${holder}: running again (pid ${before} -> ${after}) after ${Date.now() - t0} ms (monitor interval 15 s)`);
      const r = await labExec(state, 'client', ['curl', '-s', '-m', '2', `http://${state.vip}/`]);
      expect(String(r.stdout)).toMatch(/^Droplet: app-[12]/);
      const mon = String((await labExec(state, holder, [process.execPath, CRM_MON, '-1', '-f'])).all);
      expect(mon).toMatch(new RegExp(`FloatIP\\s+\\(ocf:belay:FloatIP\\):\\s+Started ${holder}`));
      expect(mon).toMatch(/haproxy.*fail-count=1/s);
    } finally {
      await labDown(state);
    }
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
