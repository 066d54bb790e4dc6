/**
 * Operating a 3-node lab cluster: belayd serves metrics_listen on every
 * node, a real Prometheus server on the lab's client host scrapes them, and
 * Pacemaker's sample alert agent (alert_file.sh.sample, unchanged) is
 * configured through the CIB's <alerts>. The node holding FloatIP loses
 * power: the alert files record the node loss and the start elsewhere, and
 * the Prometheus query for FloatIP's started instance follows it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { belaydArgv, labDown, labExec, labUp, powerOff, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { machineSpawn } from '../../src/lab/machine.js';
import { promtool } from './promtool.js';
import { waiter } from '../wait.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const SAMPLE = '/usr/share/pacemaker/alerts/alert_file.sh.sample';

interface PromVector {
  status: string;
  data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

describe('metrics, Prometheus and alerts on a 3-node lab cluster', () => {
  let lab: ClusterLabState;
  let work = '';
  let prometheus: ChildProcess | undefined;

  const crm = async (node: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, CRM, ...args]);
    if (r.exitCode !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.exitCode}): ${r.all}`);
    return String(r.stdout);
  };
  const waitFor = waiter(30_000, 250);
  const query = async (q: string): Promise<PromVector> => {
    const r = await labExec(lab, lab.client, ['curl', '-sf', '--get', '--data-urlencode', `query=${q}`, 'http://127.0.0.1:9090/api/v1/query']);
    if (r.exitCode !== 0) throw new Error(`prometheus query failed: ${r.all}`);
    return JSON.parse(String(r.stdout)) as PromVector;
  };
  /** Nodes where Prometheus last saw FloatIP started, by the live targets. */
  const floatIpNodes = async (): Promise<string[]> => {
    const v = await query('ha_cluster_pacemaker_resources{resource="FloatIP",role="started",status="active"} == 1 and on(instance) up == 1');
    return [...new Set(v.data.result.map((r) => r.metric['node']!))].sort();
  };
  const alertLog = (node: string) => {
    const f = join(lab.dir, node, 'var-lib-belay', 'alerts.log');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  };

  beforeAll(async () => {
    if (!existsSync(SAMPLE)) throw new Error(`${SAMPLE} is missing: apt-get install pacemaker-common (scripts/debian-packages.txt)`);
    if (!existsSync('/usr/bin/prometheus')) throw new Error('prometheus is missing: apt-get install prometheus (scripts/debian-packages.txt)');
    work = mkdtempSync(join(tmpdir(), 'belay-ops-'));
    chmodSync(work, 0o755);
    lab = await labUp({ name: `m${process.pid % 100000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv(), clusterFileExtra: 'metrics_listen: ":9664"\n' });
  }, 120_000);

  afterAll(async () => {
    if (prometheus?.pid) {
      try {
        process.kill(prometheus.pid, 'SIGTERM');
      } catch {
        /* gone with its host */
      }
    }
    if (lab) await labDown(lab);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('serves metrics that promtool accepts, and a Prometheus server scrapes every node', async () => {
    const n1 = `${lab.lab.hosts.find((h) => h.name === 'n1')!.address}:9664`;
    const scrape = await waitFor('n1 metrics with 3 quorate members', () => labExec(lab, lab.client, ['curl', '-sf', `http://${n1}/metrics`]), (r) =>
      r.exitCode === 0 && /ha_cluster_corosync_quorate 1/.test(String(r.stdout)) && (String(r.stdout).match(/ha_cluster_corosync_member_votes\{/g) ?? []).length === 3,
    );
    const check = promtool(`${String(scrape.stdout)}\n`);
    expect(check.ok, check.out).toBe(true);

    const targets = lab.nodes.map((n) => `'${lab.lab.hosts.find((h) => h.name === n)!.address}:9664'`);
    const dir = join(work, 'prometheus');
    mkdirSync(join(dir, 'data'), { recursive: true });
    writeFileSync(
      join(dir, 'prometheus.yml'),
      `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: belay\n    static_configs:\n      - targets: [${targets.join(', ')}]\n`,
    );
    prometheus = machineSpawn(
      lab.init[lab.client]!,
      ['/usr/bin/prometheus', `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:9090', '--log.level=warn'],
      join(dir, 'prometheus.log'),
    );
    const up = await waitFor('Prometheus to scrape 3 targets', () => query('up == 1'), (v) => v.data.result.length === 3, 60_000);
    expect(up.status).toBe('success');
  }, 120_000);

  let home = '';
  it('shows where FloatIP runs, in Prometheus', async () => {
    await crm('n1', 'configure', 'property', 'stonith-enabled=false');
    const agent = join(work, 'alert_file.sh');
    copyFileSync(SAMPLE, agent);
    chmodSync(agent, 0o755);
    const alerts = join(work, 'alerts.xml');
    writeFileSync(
      alerts,
      `<cib><configuration><crm_config/><nodes/><resources/><constraints/><alerts>
  <alert id="file" path="${agent}">
    <meta_attributes id="file-meta"><nvpair id="file-meta-fmt" name="timestamp-format" value="%Y-%m-%d %H:%M:%S.%3N"/></meta_attributes>
    <select><select_nodes/><select_resources/></select>
    <recipient id="file-log" value="/var/lib/belay/alerts.log"/>
  </alert>
</alerts></configuration><status/></cib>\n`,
    );
    await crm('n1', 'configure', 'load', 'xml', 'update', alerts);
    await crm('n1', 'configure', 'primitive', 'FloatIP', 'ocf:belay:FloatIP', 'params', `ip=${lab.vip}`, 'cidr_netmask=24', 'vrid=50', 'op', 'monitor', 'interval=5s');
    const nodes = await waitFor('Prometheus to see FloatIP started on one node', floatIpNodes, (n) => n.length === 1, 60_000);
    home = nodes[0]!;
    await waitFor(`the start alert on ${home}`, async () => alertLog(home), (t) => /Resource operation 'start' for 'FloatIP' on '\w+': ok/.test(t));
    expect(alertLog(home)).toMatch(new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}: Resource operation 'start' for 'FloatIP' on '${home}': ok$`, 'm'));
  }, 120_000);

  it('follows a failover: alerts record the node loss and the start elsewhere, the query moves', async () => {
    const t0 = Date.now();
    await powerOff(lab, home);
    const moved = await waitFor('Prometheus to see FloatIP on another node', floatIpNodes, (n) => n.length === 1 && n[0] !== home, 90_000);
    const to = moved[0]!;
    const survivors = lab.nodes.filter((n) => n !== home);
    for (const n of survivors) {
      await waitFor(`the node loss alert on ${n}`, async () => alertLog(n), (t) => t.includes(`Node '${home}' is now 'lost'`));
    }
    await waitFor(`the start alert on ${to}`, async () => alertLog(to), (t) => t.includes(`Resource operation 'start' for 'FloatIP' on '${to}': ok`));
    // The loss comes before the start it caused.
    const log = alertLog(to);
    expect(log.indexOf(`Node '${home}' is now 'lost'`)).toBeLessThan(log.indexOf(`Resource operation 'start' for 'FloatIP' on '${to}': ok`));
    // belayd's own failover histogram saw it on the new holder.
    const instance = `${lab.lab.hosts.find((h) => h.name === to)!.address}:9664`;
    await waitFor('the failover in belay_failover_duration_seconds', () => query(`belay_failover_duration_seconds_count{instance="${instance}"}`), (v) => Number(v.data.result[0]?.value[1] ?? 0) >= 1);
    console.log(`failover ${home} -> ${to}: seen by Prometheus after ${Date.now() - t0} ms`);
  }, 150_000);
});
