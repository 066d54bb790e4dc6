// Operations figures on a 3-node lab cluster with metrics_listen and
// web_listen on: belayd's idle RSS per node (target: under 80 MB), the
// size and render time of one /metrics scrape, and the console page
// weight. Needs root. Run after `npm run build`:  node bench/ops-idle.mjs
// With --off: the same cluster with neither on (the baseline).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const { labUp, labDown, labExec, belaydArgv } = await import(join(root, 'dist/lab/cluster-lab.js'));
const { Lab } = await import(join(root, 'dist/lab/netns.js'));
const CRM = join(root, 'bin/crm');

const off = process.argv.includes('--off');
const extra = off ? '' : 'metrics_listen: ":9664"\nweb_listen: ":7630"\n';
const lab = await labUp({ name: `oi${process.pid % 1000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv(), clusterFileExtra: extra });
async function measure() {
  const n1 = lab.lab.hosts.find((h) => h.name === 'n1').address;
  const until = Date.now() + (off ? 15_000 : 60_000);
  while (!off && Date.now() < until) {
    const r = await labExec(lab, lab.client, ['curl', '-sf', `http://${n1}:9664/metrics`]);
    if (r.exitCode === 0 && /ha_cluster_corosync_quorate 1/.test(String(r.stdout))) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  if (off) await new Promise((r) => setTimeout(r, 15_000));
  await labExec(lab, 'n1', [process.execPath, CRM, 'configure', 'property', 'stonith-enabled=false']);
  await labExec(lab, 'n1', [process.execPath, CRM, 'configure', 'primitive', 'FloatIP', 'ocf:belay:FloatIP', 'params', `ip=${lab.vip}`, 'cidr_netmask=24', 'vrid=50', 'op', 'monitor', 'interval=5s']);
  // Idle: let start-up garbage settle.
  await new Promise((r) => setTimeout(r, 20_000));
  const attached = Lab.attach(lab.lab);
  for (const n of lab.nodes) {
    const pid = attached.pids(n).find((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes('daemon');
      } catch {
        return false;
      }
    });
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    console.log(`${n}: belayd idle RSS ${(Number(rss) / 1024).toFixed(1)} MB (metrics and web console ${off ? 'off' : 'on'})`);
  }
  if (off) return;
  const times = [];
  let size = 0;
  for (let i = 0; i < 20; i++) {
    const r = await labExec(lab, lab.client, ['curl', '-sf', '-o', '/dev/null', '-w', '%{time_total} %{size_download}', `http://${n1}:9664/metrics`]);
    const [t, s] = String(r.stdout).split(' ');
    times.push(Number(t) * 1000);
    size = Number(s);
  }
  times.sort((a, b) => a - b);
  console.log(`/metrics: ${size} bytes, median ${times[10].toFixed(1)} ms per scrape (curl, 20 scrapes)`);
  const page = await labExec(lab, 'n1', ['curl', '-sf', '-o', '/dev/null', '-w', '%{size_download}', 'http://127.0.0.1:7630/']);
  console.log(`console page: ${page.stdout} bytes`);
}
try {
  await measure();
} finally {
  await labDown(lab);
}
