// Data-plane overhead of the LVS nftables NAT path: HTTP requests from a
// client through `belay keepalived`'s virtual server (director DNAT, the
// director is the real servers' gateway) next to the same requests sent
// straight to the real server, and routed through the director without NAT
// (to tell the extra hop from the NAT), in the same run, rounds interleaved.
// The virtual server has that one real server, so every path ends at the
// same nginx.
// nginx closes every connection (keepalive_timeout 0), so each request is a
// new connection: the path through conntrack/DNAT is taken every time.
// Needs root, nft, nginx, wrk. Run after `npm run build`:
//   node bench/lvs-nat.mjs [--rounds 3] [--seconds 5] [--connections 16]
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const rounds = arg('rounds', 5);
const seconds = arg('seconds', 5);
const connections = arg('connections', 16);

const { Lab, requireCommands } = await import(join(root, 'dist/lab/netns.js'));
const { startNginx, startDaemon, stopDaemon, hasVip, makeWorkDir, waitFor } = await import(join(root, 'dist/lab/keepalived-demo.js'));
requireCommands('bench/lvs-nat.mjs', { nft: 'nftables', nginx: 'nginx', wrk: 'wrk' });

const lab = await Lab.create({ tag: `v-b${process.pid % 1000}` });
const work = makeWorkDir('blv-bench-');
let daemon;
try {
  for (const h of ['dir', 'rs1', 'client']) await lab.addHost(h);
  const front = '10.9.77';
  const vip = `${front}.100`;
  const gw = `${lab.subnet}.254`;
  const sh = (host, cmd) => lab.exec(host, ['sh', '-c', cmd]);
  await sh('client', `ip addr add ${front}.2/24 dev eth0`);
  await sh('dir', `ip addr add ${front}.11/24 dev eth0 && sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0`);
  for (const r of ['rs1']) {
    await sh(r, `sysctl -qw net.ipv4.conf.all.accept_redirects=0 && ip route add ${front}.0/24 via ${gw}`);
    startNginx(lab, r, work);
  }
  const rs1 = lab.host('rs1').address;
  const conf = join(work, 'keepalived.conf');
  writeFileSync(
    conf,
    `vrrp_instance VI_1 {\n  state MASTER\n  interface eth0\n  virtual_router_id 77\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    ${vip}\n    ${gw}\n  }\n}\n` +
      `virtual_server ${vip} 80 {\n  delay_loop 6\n  lb_algo rr\n  lb_kind NAT\n  protocol TCP\n` +
      [rs1].map((ip) => `  real_server ${ip} 80 {\n    TCP_CHECK {\n      connect_timeout 3\n    }\n  }\n`).join('') +
      '}\n',
  );
  daemon = startDaemon(lab, 'dir', 'belay', conf, work);
  await waitFor(() => hasVip(lab, 'dir', vip), 20000, 'the director to hold the VIP');
  await waitFor(async () => (await sh('client', `curl -s -m 2 http://${vip}/`)).stdout.trim().startsWith('rs'), 20000, 'a request through the virtual server');

  const wrk = async (url) => {
    const r = await sh('client', `wrk -t ${Math.min(2, connections)} -c ${connections} -d ${seconds}s ${url}`);
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
    const errors = /Socket errors: (.*)/.exec(r.stdout)?.[1] ?? 'none';
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    return { rps, errors, non2xx };
  };
  const direct = [];
  const routed = [];
  const nat = [];
  const fmt = (r) => `${r.rps.toFixed(0)} req/s${r.errors !== 'none' || r.non2xx ? ` (socket errors: ${r.errors}, non-2xx ${r.non2xx})` : ''}`;
  for (let i = 0; i < rounds; i++) {
    const d = await wrk(`http://${rs1}/`);
    await sh('client', `ip route add ${rs1}/32 via ${front}.11 src ${front}.2`);
    const r = await wrk(`http://${rs1}/`);
    await sh('client', `ip route del ${rs1}/32`);
    const n = await wrk(`http://${vip}/`);
    direct.push(d.rps);
    routed.push(r.rps);
    nat.push(n.rps);
    console.log(`round ${i + 1}: direct ${fmt(d)}; routed through the director ${fmt(r)}; nftables NAT virtual server ${fmt(n)}`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [md, mr, mn] = [median(direct), median(routed), median(nat)];
  const pct = (a, b) => `${((a / b) * 100).toFixed(1)}%`;
  console.log(`median of ${rounds}: direct ${md.toFixed(0)}, routed ${mr.toFixed(0)}, NAT ${mn.toFixed(0)} req/s: NAT at ${pct(mn, md)} of direct, ${pct(mn, mr)} of routed (${wrkLine()})`);
} finally {
  if (daemon) await stopDaemon(daemon, 3000);
  await lab.destroy();
  rmSync(work, { recursive: true, force: true });
}

function wrkLine() {
  return `wrk -t ${Math.min(2, connections)} -c ${connections} -d ${seconds}s, new connection per request, ${rounds} interleaved rounds`;
}
