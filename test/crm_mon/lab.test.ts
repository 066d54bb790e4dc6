/**
 * crm_mon on a real 3-node belay cluster (belay lab: network namespaces,
 * one belayd per node, real haproxy): the seed tutorial's commands, then
 * crm_mon -1 on the nodes, a crash of the FloatIP holder, and the live view
 * redrawing as belayd pushes changes. Needs root (network namespaces).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { belaydArgv, labDown, labExec, labUp, powerOff, type ClusterLabState } from '../../src/lab/cluster-lab.js';

const ROOT = join(import.meta.dirname, '../..');
const CRM = join(ROOT, 'bin/crm');
const CRM_MON = join(ROOT, 'bin/crm_mon');
const CLEAR = '\x1b[H\x1b[2J';

describe('crm_mon on a live 3-node cluster', () => {
  let lab: ClusterLabState;
  const log: string[] = [];
  let view: ChildProcessWithoutNullStreams | undefined;

  const run = async (node: string, bin: string, ...args: string[]) => {
    const r = await labExec(lab, node, [process.execPath, bin, ...args]);
    // execa strips the final newline; put it back so texts compare as printed.
    const out = String(r.stdout);
    return { code: r.exitCode ?? -1, out: out === '' ? out : `${out}\n`, all: String(r.all) };
  };
  const crm = async (node: string, ...args: string[]) => {
    const r = await run(node, CRM, ...args);
    if (r.code !== 0) throw new Error(`crm ${args.join(' ')} on ${node} failed (${r.code}): ${r.all}`);
    return r.out;
  };
  const mon = (node: string, ...args: string[]) => run(node, CRM_MON, '-1', ...args).then((r) => r.out);
  const waitFor = async <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000, everyMs = 200): Promise<T> => {
    const t0 = Date.now();
    let last: T | undefined;
    while (Date.now() - t0 < timeoutMs) {
      try {
        last = await probe();
        if (ok(last)) return last;
      } catch {
        /* not yet */
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
    throw new Error(`timed out waiting for ${what}; last:\n${String(last)}`);
  };

  beforeAll(async () => {
    if (process.getuid?.() !== 0) throw new Error('crm_mon lab test needs root (network namespaces)');
    lab = await labUp({ name: `m${process.pid % 100000}`, nodes: 3, apps: 1, daemonArgv: belaydArgv() });
  });
  afterAll(async () => {
    if (view && view.exitCode === null) view.kill('SIGKILL');
    if (lab) await labDown(lab);
    if (log.length) console.log(log.join('\n'));
  });

  it('shows the three nodes online and a DC with quorum once the ring forms', async () => {
    const text = await waitFor('ring of 3', () => mon('n1'), (t) => t.includes('* Online: [ n1 n2 n3 ]') && t.includes('partition with quorum'));
    expect(text).toMatch(/^Status of belayd: 'belayd is running' \(last updated \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(Z| [+-]\d\d:\d\d)\)\nCluster Summary:\n {2}\* Stack: belay\n {2}\* Current DC: n\d \(version belay-[^)]+\) - partition with quorum\n/);
    expect(text).toContain('  * 3 nodes configured\n  * 0 resource instances configured\n');
  });

  let home = '';
  it("runs the tutorial's commands and shows FloatIP on one node, the haproxy clone on all", async () => {
    await crm('n1', 'configure', 'property', 'stonith-enabled=false');
    await crm('n1', 'configure', 'primitive', 'FloatIP', 'ocf:belay:FloatIP', 'params', 'ip=198.18.0.50', 'cidr_netmask=24');
    await crm('n1', 'configure', 'primitive', 'haproxy', 'ocf:heartbeat:haproxy', 'op', 'monitor', 'interval=15s');
    await crm('n1', 'configure', 'clone', 'haproxy-clone', 'haproxy');
    await crm('n1', 'configure', 'colocation', 'FloatIP-haproxy', 'inf:', 'FloatIP', 'haproxy-clone');
    const text = await waitFor('all started', () => mon('n2'), (t) => /\* FloatIP\t\(ocf:belay:FloatIP\):\t Started n\d\n/.test(t) && t.includes('    * Started: [ n1 n2 n3 ]'));
    home = /FloatIP\t\(ocf:belay:FloatIP\):\t Started (n\d)/.exec(text)![1]!;
    expect(text).toContain('  * 4 resource instances configured\n');
    expect(text).toContain('\nActive Resources:\n');
    expect(text).toContain('  * Clone Set: haproxy-clone [haproxy]:\n    * Started: [ n1 n2 n3 ]\n');
    // Every node tells the same story.
    for (const n of ['n1', 'n3']) expect(await mon(n)).toContain(`* FloatIP\t(ocf:belay:FloatIP):\t Started ${home}\n`);
    expect(await crm('n3', 'resource', 'status', 'FloatIP')).toBe(`resource FloatIP is running on: ${home}\n`);
    const xml = await mon('n3', '--output-as=xml');
    expect(xml).toContain(`<resource id="FloatIP" resource_agent="ocf:belay:FloatIP" role="Started" active="true"`);
    const json = JSON.parse(await mon('n3', '--output-as=json')) as { 'pacemaker-result': { nodes: { node: Array<{ online: boolean }> } } };
    expect(json['pacemaker-result'].nodes.node.map((n) => n.online)).toEqual([true, true, true]);
  });

  let frames: string[] = [];
  /** When each frame arrived (ms). */
  const frameTimes: number[] = [];
  const frameCount = () => frames.length;
  it('the live view draws a frame at once and redraws when a node crashes', async () => {
    const watcher = ['n1', 'n2', 'n3'].find((n) => n !== home)!;
    // A live crm_mon on another node: no -1, no interval; stdout is a pipe.
    const child = spawn('nsenter', [`--target=${lab.init[watcher]}`, '--mount', '--uts', '--net', '--', process.execPath, CRM_MON], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    view = child;
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      frames = out.split(CLEAR).filter((f) => f !== '');
      while (frameTimes.length < frames.length) frameTimes.push(Date.now());
    });
    await waitFor('first frame', async () => frameCount(), (c) => c >= 1, 10_000);
    expect(frames[0]).toContain('* Online: [ n1 n2 n3 ]');
    const before = frameCount();
    const t0 = Date.now();
    await powerOff(lab, home);
    const last = () => frames[frames.length - 1] ?? '';
    await waitFor('offline frame', async () => last(), (f) => f.includes(`* OFFLINE: [ ${home} ]`) && /FloatIP\t\(ocf:belay:FloatIP\):\t Started n\d/.test(f) && !f.includes(`Started ${home}`));
    log.push(`crash of ${home}: the live view on ${watcher} showed it OFFLINE with FloatIP moved after ${Date.now() - t0} ms (${frameCount() - before} frames)`);
    expect(frameCount()).toBeGreaterThan(before);
  });

  it('crm_mon -1 on a surviving node shows the crashed node OFFLINE and FloatIP started elsewhere', async () => {
    const survivor = ['n1', 'n2', 'n3'].find((n) => n !== home)!;
    const text = await mon(survivor);
    const others = ['n1', 'n2', 'n3'].filter((n) => n !== home);
    expect(text).toContain(`  * Online: [ ${others.join(' ')} ]\n  * OFFLINE: [ ${home} ]\n`);
    const now = /FloatIP\t\(ocf:belay:FloatIP\):\t Started (n\d)/.exec(text)?.[1];
    expect(others).toContain(now);
    expect(text).toContain(`    * Started: [ ${others.join(' ')} ]\n`);
    expect(text).not.toContain('Stopped: [');
    expect(await run(survivor, CRM_MON, '-1', '-r').then((r) => r.out)).toContain(`    * Stopped: [ ${home} ]\n`);
  });

  it('the live view redraws within a second of a configuration change, without polling', async () => {
    const survivor = ['n1', 'n2', 'n3'].find((n) => n !== home)!;
    const before = frameCount();
    // Frames while idle are belayd's own pushes (logged); crm_mon has no timer of its own here.
    await new Promise((r) => setTimeout(r, 1500));
    const idle = frameCount() - before;
    const start = frameCount();
    const issued = Date.now();
    await crm(survivor, 'resource', 'stop', 'FloatIP');
    // The change is committed when crm returns; belayd pushes it to watchers as it applies it.
    const committed = Date.now();
    await waitFor('disabled frame', async () => frames.slice(start).join(''), (f) => f.includes('resource instances configured (1 DISABLED)'), 5000, 5);
    const i = frames.findIndex((f, k) => k >= start && f.includes('(1 DISABLED)'));
    const ms = Math.max(0, frameTimes[i]! - committed);
    log.push(
      `crm resource stop FloatIP: live view redrawn ${frameTimes[i]! - issued} ms after crm started, ${frameTimes[i]! - committed} ms after it returned (crm took ${committed - issued} ms); frames while idle for 1.5 s: ${idle}`,
    );
    expect(ms).toBeLessThan(1000);
    await crm(survivor, 'resource', 'start', 'FloatIP');
    await waitFor('FloatIP back', async () => frames[frames.length - 1] ?? '', (f) => /FloatIP\t\(ocf:belay:FloatIP\):\t Started n\d/.test(f) && !f.includes('DISABLED'));
    const exit = new Promise<number | null>((r) => view!.once('exit', (code) => r(code)));
    view!.stdin.write('q');
    expect(await exit).toBe(0);
  });

  it('crm resource move, clear, restart, cleanup and failcount work against the live cluster', async () => {
    const [a, b] = ['n1', 'n2', 'n3'].filter((n) => n !== home) as [string, string];
    const where = async () => (await crm(a, 'resource', 'status', 'FloatIP')).trim();
    const target = (await where()).endsWith(a) ? b : a;
    await crm(a, 'resource', 'move', 'FloatIP', target);
    expect(await crm(b, 'configure', 'show')).toContain(`location cli-prefer-FloatIP FloatIP role=Started inf: ${target}`);
    await waitFor(`FloatIP on ${target}`, where, (t) => t === `resource FloatIP is running on: ${target}`);
    await crm(b, 'resource', 'clear', 'FloatIP');
    expect(await crm(a, 'configure', 'show')).not.toContain('cli-prefer');
    const t0 = Date.now();
    const out = await crm(b, 'resource', 'restart', 'FloatIP');
    expect(out).toContain('INFO: ordering FloatIP to stop\nINFO: ordering FloatIP to start\n');
    const back = await waitFor('FloatIP restarted', where, (t) => t.startsWith('resource FloatIP is running on: '));
    log.push(`crm resource restart FloatIP: running again (${back}) after ${Date.now() - t0} ms`);
    expect(await crm(a, 'resource', 'cleanup', 'haproxy-clone', b)).toBe(`Cleaned up haproxy on ${b}\n`);
    expect(await crm(a, 'resource', 'failcount', 'haproxy', 'show', b)).toBe('scope=status  name=fail-count-haproxy value=0\n');
    // After the cleanup the cluster probes again and finds haproxy still running.
    await waitFor('haproxy re-probed', () => mon(a), (t) => t.includes(`    * Started: [ ${[a, b].sort().join(' ')} ]\n`));
  });

  it('shows a node put in standby as "Node NAME: standby", its resources elsewhere, and online again', async () => {
    const [a, b] = ['n1', 'n2', 'n3'].filter((n) => n !== home) as [string, string];
    await crm(a, 'node', 'standby', b);
    const text = await waitFor(`${b} in standby`, () => mon(a), (t) => t.includes(`  * Node ${b}: standby\n`) && t.includes(`Started ${a}\n`));
    expect(text).toContain(`  * Node ${b}: standby\n  * Online: [ ${a} ]\n  * OFFLINE: [ ${home} ]\n`);
    expect(text).toContain(`* FloatIP\t(ocf:belay:FloatIP):\t Started ${a}\n`);
    const xml = await mon(a, '--output-as=xml');
    expect(xml).toMatch(new RegExp(`<node name="${b}" id="\\d+" online="true" standby="true" [^>]* resources_running="0" type="member"/>`));
    await crm(a, 'node', 'online', b);
    await waitFor(`${b} online`, () => mon(a), (t) => t.includes(`  * Online: [ ${[a, b].sort().join(' ')} ]\n`));
  });
});
