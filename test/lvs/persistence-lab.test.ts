/**
 * NAT persistence over TCP, live: the client's element in the real server's
 * timeout set is refreshed when its connection ends, so a connection longer
 * than persistence_timeout leaves the client on its real server for the
 * timeout after it closes (an IPVS persistence template lives as long as its
 * connections). A client, a director with belay's nftables NAT table (the
 * text from nftRuleset, no daemon), one nginx real server; namespaces of its
 * own, removed even on failure.
 *
 * Needs root, nft, nginx, bash; fails loudly without them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import { makeWorkDir, startNginx } from '../../src/lab/keepalived-demo.js';
import { nftRuleset, persistenceKeepText } from '../../src/lvs/nft.js';
import { parseConntrack } from '../../src/lvs/conntrack.js';
import type { DesiredService } from '../../src/lvs/pool.js';

let lab: Lab | null = null;
let work = '';

afterEach(async () => {
  await lab?.destroy();
  lab = null;
  if (work) rmSync(work, { recursive: true, force: true });
  work = '';
});

/** A director with a persistent NAT service (rr, one nginx real server) and a client; the client's element in the set, live. */
async function persistentNat(timeoutS: number) {
  requireCommands('the LVS persistence lab test', { nft: 'nftables', nginx: 'nginx', bash: 'bash' });
  lab = await Lab.create({ tag: `vp${process.pid % 10000}` });
  work = makeWorkDir('blv-persist-');
  const l = lab;
  for (const h of ['dir', 'rs1', 'client']) await l.addHost(h);
  const sh = (host: string, cmd: string) => l.exec(host, ['sh', '-c', cmd]);
  const front = `10.9.${(process.pid % 200) + 20}`;
  const vip = `${front}.100`;
  const client = `${front}.2`;
  const rs1 = l.host('rs1').address;
  await sh('client', `ip addr flush dev eth0 && ip addr add ${client}/24 dev eth0`);
  await sh('dir', `ip addr add ${front}.11/24 dev eth0 && ip addr add ${vip}/24 dev eth0 && sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0`);
  await sh('rs1', `sysctl -qw net.ipv4.conf.all.accept_redirects=0 && ip route add ${front}.0/24 via ${l.host('dir').address}`);
  startNginx(l, 'rs1', work);

  const service: DesiredService = {
    id: 'vs0',
    matches: [{ kind: 'addr', ip: vip, port: 80 }],
    protocol: 'TCP',
    lbAlgo: 'rr',
    lbKind: 'NAT',
    persistenceTimeoutS: timeoutS,
    destinations: [{ ip: rs1, port: 80, weight: 1, configuredWeight: 1, up: true, sorry: false, reason: 'ok' }],
    quorumUp: true,
    file: 'k.conf',
    line: 1,
  };
  const rules = nftRuleset([service]);
  const file = path.join(work, 'rules.nft');
  writeFileSync(file, rules.text);
  await l.exec('dir', ['nft', '-f', file]);
  const set = rules.names.natSets[0]!;
  const element = async () => {
    const out = String((await l.exec('dir', ['nft', 'list', 'set', 'ip', 'belay_lvs', set])).stdout);
    return new RegExp(`${client.replace(/\./g, '\\.')}( |,|\\n)`).test(out);
  };

  // nginx up (the real server answers through the virtual service).
  for (let i = 0; ; i++) {
    const r = await sh('client', `curl -s -m 2 http://${vip}/ || true`);
    if (String(r.stdout).trim() === 'rs1') break;
    if (i > 40) throw new Error(`no answer through the virtual service: ${String(r.stdout)}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  // Start clean: the element of that request expires.
  for (let i = 0; (await element()) && i < 40; i++) await new Promise((r) => setTimeout(r, 250));
  expect(await element(), 'the first request\'s element expired').toBe(false);

  return { l, vip, service, element };
}

describe('NAT persistence, nftables data plane', () => {
  it('a connection longer than persistence_timeout keeps its client in the set after it ends', async () => {
    const timeoutS = 4;
    const { l, vip, element } = await persistentNat(timeoutS);

    // One connection held open twice the timeout, then closed by the client.
    const t0 = Date.now();
    await l.exec('client', ['bash', '-c', `exec 3<>/dev/tcp/${vip}/80 && sleep ${2 * timeoutS} && exec 3>&-`]);
    const heldMs = Date.now() - t0;
    // Let the FINs pass (nginx closes its side on the client's FIN).
    await new Promise((r) => setTimeout(r, 300));
    expect(heldMs).toBeGreaterThan(timeoutS * 1000);
    // Set at the connection's start alone, the element would have expired timeoutS s after it; refreshed at its end, it is there.
    expect(await element(), `the client's element ${Date.now() - t0} ms after a ${heldMs} ms connection began (timeout ${timeoutS} s)`).toBe(true);
  }, 120000);

  it('an idle connection longer than persistence_timeout keeps its client while it lives (the periodic refresh from conntrack)', async () => {
    const timeoutS = 4;
    const { l, vip, service, element } = await persistentNat(timeoutS);
    // One connection opened and left idle (nginx waits 60 s for a request), no packet after the handshake.
    const idle = l.spawn('client', ['bash', '-c', `exec 3<>/dev/tcp/${vip}/80 && sleep ${4 * timeoutS}`], { stdio: 'ignore' });
    const t0 = Date.now();
    // What the manager does every half persistence_timeout: conntrack's live connections, then the refresh text.
    let refreshes = 0;
    const refresh = async () => {
      const ct = String((await l.exec('dir', ['cat', '/proc/net/nf_conntrack'])).stdout);
      const text = persistenceKeepText([service], parseConntrack(ct));
      if (text) {
        const file = path.join(work, 'keep.nft');
        writeFileSync(file, text);
        await l.exec('dir', ['nft', '-f', file]);
        refreshes++;
      }
    };
    try {
      while (Date.now() - t0 < 2.5 * timeoutS * 1000) {
        await refresh();
        await new Promise((r) => setTimeout(r, (timeoutS * 1000) / 2));
      }
      // Past twice the timeout since the only packets: still established, and the client still in the set.
      const ct = String((await l.exec('dir', ['cat', '/proc/net/nf_conntrack'])).stdout);
      expect(parseConntrack(ct).some((e) => e.vip === vip && e.state === 'ESTABLISHED'), ct).toBe(true);
      expect(refreshes).toBeGreaterThan(2);
      expect(await element(), `the client's element ${Date.now() - t0} ms into an idle connection (timeout ${timeoutS} s)`).toBe(true);
    } finally {
      idle.kill('SIGKILL');
    }
  }, 120000);
});
