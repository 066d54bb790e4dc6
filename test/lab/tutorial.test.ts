/**
 * The seed tutorial end to end on a belay cluster: the tutorial's crm
 * commands verbatim, a reboot of the active load balancer under a client's
 * load, the floating IP moving, crm_mon showing the new placement.
 */
import { describe, expect, it } from 'vitest';
import { runTutorialDemo } from '../../src/lab/tutorial-demo.js';

describe('the tutorial on belay (2 load balancers, haproxy clone, FloatIP on VRRP, 2 nginx app servers)', () => {
  it('moves the floating IP when the active load balancer reboots, and crm_mon shows it', async () => {
    const lines: string[] = [];
    const r = await runTutorialDemo({ name: `tu${process.pid % 100000}`, print: (l) => lines.push(l) });
    console.log(`tutorial reboot: gap ${r.gapMs} ms, ${r.failed} failed requests, ${r.from} -> ${r.to}`);
    expect(r.to).not.toBe(r.from);
    // Both app servers served the client, through whichever balancer held the address.
    expect(Object.keys(r.byApp).sort()).toEqual(['app-1', 'app-2']);
    // After convergence exactly one machine holds the address: no split brain.
    expect(r.holdersAfter).toEqual([r.to]);
    expect(r.crmMonAfter).toMatch(new RegExp(`FloatIP\\s+\\(ocf:belay:FloatIP\\):\\s+Started ${r.to}`));
    expect(r.crmMonAfter).toMatch(/Clone Set: haproxy-clone \[haproxy\]:\s*\n\s*\* Started: \[ n1 n2 \]/);
    expect(r.crmMonAfter).toMatch(/Online: \[ n1 n2 \]/);
  });
});
