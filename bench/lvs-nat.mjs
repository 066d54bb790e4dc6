// Data-plane overhead of the LVS nftables NAT path: HTTP requests from a
// client through `belay keepalived`'s virtual server (director DNAT, the
// director is the real servers' gateway) next to the same requests sent
// straight to the real server, and routed through the director without NAT
// (to tell the extra hop from the NAT), in the same run, rounds interleaved.
// The virtual server has that one real server, so every path ends at the
// same nginx.
// nginx closes every connection (keepalive_timeout 0), so each request is a
// new connection: the path through conntrack/DNAT is taken every time.
// Each path has its own client address (direct: the lab address, routed:
// FRONT.3, NAT: FRONT.2). With one address for routed and NAT, a client port
// reused after the ephemeral range wraps gives the real server a SYN for a
// 4-tuple it holds in TIME_WAIT from the other path, whose TCP timestamp and
// sequence were drawn for another destination (VIP vs the real server's own
// address): PAWS rejects it (TcpExtPAWSTimewait), the client resets and
// retries the SYN a second later, and both paths slowed down round after
// round (1814 -> 142 req/s with --connections 1) while the director's
// conntrack filled with both paths' TIME_WAIT entries.
// --pin places the work on the two CPUs the same way for every path, as if
// the real server were a machine of its own: nginx (master and worker) and
// the real server's receive processing (RPS on its eth0) on CPU 1; wrk (one
// thread), the client's and the director's receive processing on CPU 0.
// Without it everything floats over both CPUs. Each round also prints how
// busy each CPU was (from /proc/stat), to see which side was the limit.
// Needs root, nft, nginx, wrk. Run after `npm run build`:
// The NAT table has the nftables flowtable fast path where the kernel has
// it (the run says whether it did); --no-flowtable leaves it out.
//   node bench/lvs-nat.mjs [--rounds 5] [--seconds 5] [--connections 16] [--pin] [--no-flowtable]
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const pin = process.argv.includes('--pin');
if (process.argv.includes('--no-flowtable')) process.env.BELAY_LVS_FLOWTABLE = 'off';
const threads = pin ? 1 : Math.min(2, connections);

const { Lab, requireCommands } = await import(join(root, 'dist/lab/netns.js'));
const { startNginx, startDaemon, stopDaemon, hasVip, makeWorkDir, waitFor } = await import(join(root, 'dist/lab/keepalived-demo.js'));
requireCommands('bench/lvs-nat.mjs', { nft: 'nftables', nginx: 'nginx', wrk: 'wrk' });

const lab = await Lab.create({ tag: `v-b${process.pid % 1000}` });
const work = makeWorkDir('blv-bench-');
let daemon;
try {
  for (const h of ['dir', 'rs1', 'client']) await lab.addHost(h);
  // The lab's switch is a Linux bridge; with br_netfilter every bridged IP frame also ran the switch namespace's
  // netfilter hooks (br_nf_pre_routing, br_nf_forward_ip: ~4% of the CPU in a profile). A switch does not do
  // that, and the routed and NAT paths cross the bridge twice as often as direct, so the bench turns it off there.
  execFileSync('ip', ['netns', 'exec', lab.bridgeNetns, 'sysctl', '-qw', 'net.bridge.bridge-nf-call-iptables=0', 'net.bridge.bridge-nf-call-ip6tables=0', 'net.bridge.bridge-nf-call-arptables=0']);
  const front = '10.9.77';
  const vip = `${front}.100`;
  const gw = `${lab.subnet}.254`;
  const sh = (host, cmd) => lab.exec(host, ['sh', '-c', cmd]);
  await sh('client', `ip addr add ${front}.2/24 dev eth0 && ip addr add ${front}.3/24 dev eth0`);
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
  if (pin) {
    // Receive processing (RPS): the client and the director on CPU 0, the real server on CPU 1.
    for (const [h, mask] of [['client', 1], ['dir', 1], ['rs1', 2]]) await sh(h, `echo ${mask} > /sys/class/net/eth0/queues/rx-0/rps_cpus`);
    await waitFor(() => nginxPids('rs1').length >= 2, 10000, 'nginx on rs1');
    for (const pid of nginxPids('rs1')) await sh('rs1', `taskset -p -c 1 ${pid} >/dev/null`);
  }
  daemon = startDaemon(lab, 'dir', 'belay', conf, work);
  await waitFor(() => hasVip(lab, 'dir', vip), 20000, 'the director to hold the VIP');
  await waitFor(async () => (await sh('client', `curl -s -m 2 http://${vip}/`)).stdout.trim().startsWith('rs'), 20000, 'a request through the virtual server');

  const flowtables = (await sh('dir', 'nft list flowtables')).stdout;
  const refused = readFileSync(daemon.logFile, 'utf8')
    .split('\n')
    .find((l) => /flowtable fast path/.test(l));
  const fastPath = /flowtable ft_/.test(flowtables) ? 'flowtable fast path on' : process.env.BELAY_LVS_FLOWTABLE === 'off' ? 'no flowtable (--no-flowtable)' : `no flowtable: ${refused?.replace(/.*LVS: /, '') ?? 'not in the ruleset'}`;
  console.log(`NAT data plane: ${fastPath}`);

  const wrk = async (url) => {
    const before = cpuTimes();
    const r = await sh('client', `${pin ? 'taskset -c 0 ' : ''}wrk -t ${threads} -c ${connections} -d ${seconds}s ${url}`);
    const busy = cpuBusy(before, cpuTimes());
    const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(r.stdout)?.[1]);
    const errors = /Socket errors: (.*)/.exec(r.stdout)?.[1] ?? 'none';
    const non2xx = Number(/Non-2xx or 3xx responses: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    return { rps, errors, non2xx, busy };
  };
  const direct = [];
  const routed = [];
  const nat = [];
  const fmt = (r) =>
    `${r.rps.toFixed(0)} req/s${r.errors !== 'none' || r.non2xx ? ` (socket errors: ${r.errors}, non-2xx ${r.non2xx})` : ''} [CPU busy ${r.busy.map((b) => `${b}%`).join('/')}]`;
  for (let i = 0; i < rounds; i++) {
    const d = await wrk(`http://${rs1}/`);
    await sh('client', `ip route add ${rs1}/32 via ${front}.11 src ${front}.3`);
    const r = await wrk(`http://${rs1}/`);
    await sh('client', `ip route del ${rs1}/32`);
    const n = await wrk(`http://${vip}/`);
    direct.push(d.rps);
    routed.push(r.rps);
    nat.push(n.rps);
    const tracked = (await sh('dir', 'cat /proc/sys/net/netfilter/nf_conntrack_count')).stdout.trim();
    console.log(`round ${i + 1}: direct ${fmt(d)}; routed through the director ${fmt(r)}; nftables NAT virtual server ${fmt(n)}; director conntrack entries ${tracked}`);
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const [md, mr, mn] = [median(direct), median(routed), median(nat)];
  const pct = (a, b) => `${((a / b) * 100).toFixed(1)}%`;
  // The rounds are interleaved, so each round's ratio compares paths under the same background load.
  const paired = (xs) => median(xs.map((x, i) => x / direct[i])) * 100;
  console.log(`median of ${rounds}: direct ${md.toFixed(0)}, routed ${mr.toFixed(0)}, NAT ${mn.toFixed(0)} req/s: NAT at ${pct(mn, md)} of direct, ${pct(mn, mr)} of routed; median of the rounds' own ratios to direct: routed ${paired(routed).toFixed(1)}%, NAT ${paired(nat).toFixed(1)}% (${wrkLine(fastPath)})`);
} finally {
  if (daemon) await stopDaemon(daemon, 3000);
  await lab.destroy();
  rmSync(work, { recursive: true, force: true });
}

function wrkLine(fastPath) {
  return `wrk -t ${threads} -c ${connections} -d ${seconds}s, new connection per request, ${rounds} interleaved rounds${pin ? ', pinned' : ''}, ${fastPath.replace(/:.*/, '')}`;
}

function nginxPids(host) {
  return lab.pids(host).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'nginx';
    } catch {
      return false;
    }
  });
}

/** Per-CPU [busy, total] jiffies from /proc/stat. */
function cpuTimes() {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const v = l.trim().split(/\s+/).slice(1).map(Number);
      const idle = v[3] + v[4];
      const total = v.reduce((a, b) => a + b, 0);
      return [total - idle, total];
    });
}

function cpuBusy(a, b) {
  return b.map(([busy, total], i) => Math.round((100 * (busy - a[i][0])) / Math.max(1, total - a[i][1])));
}
