/**
 * bin/crm_mon and the crm resource / node commands as a user runs them:
 * on a CIB file (CIB_file), with no daemon, and the live view against a real
 * admin socket (AdminServer, the same server belayd runs) that pushes
 * status snapshots the way belayd's `watch` does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminServer, type AdminConnection } from '../../src/admin/socket.js';
import type { Cib } from '../../src/cib/model.js';
import { cibToXml, parseCibXml, parseXmlTree } from '../../src/cib/xml.js';
import { offlineCib } from './cibs.js';

const ROOT = join(import.meta.dirname, '../..');
const REF = join(ROOT, '../shared/reference/pacemaker-2.1.5');
const CRM_MON = join(ROOT, 'bin/crm_mon');
const CRM = join(ROOT, 'bin/crm');

function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist/cli/crm_mon.js'))) throw new Error('belay is not built: run `npm run build` first');
}

function run(bin: string, args: string[], env: Record<string, string | undefined> = {}) {
  const e: Record<string, string | undefined> = { ...process.env, TZ: 'UTC', ...env };
  for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
  const r = spawnSync(process.execPath, [bin, ...args], { env: e as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const normalise = (text: string) => text.replace(/Last updated: .*/, 'Last updated: X').replace(/last_update time="[^"]*"/, 'last_update time="X"');

describe('bin/crm_mon on a CIB file', () => {
  let dir: string;
  let cib: string;
  beforeAll(() => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), `crm_mon-${process.pid}-`));
    cib = join(dir, 'cib.xml');
    copyFileSync(join(REF, 'cibadmin_query.xml'), cib);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const [args, file] of [[['-1'], 'crm_mon-1.txt'], [['-1rfA'], 'crm_mon-1-rfA.txt'], [['-1', '-r', '-f', '-A'], 'crm_mon-1-rfA.txt']] as const) {
    it(`crm_mon ${args.join(' ')} prints what Pacemaker printed (${file}, without its pacemakerd line)`, () => {
      const r = run(CRM_MON, [...args], { CIB_file: cib });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const want = readFileSync(join(REF, file), 'utf8').split('\n').slice(1).join('\n');
      expect(normalise(r.stdout)).toBe(normalise(want));
    });
  }

  it('crm status is crm_mon -1', () => {
    const a = run(CRM, ['status'], { CIB_file: cib });
    expect(a.code).toBe(0);
    expect(normalise(a.stdout)).toBe(normalise(run(CRM_MON, ['-1'], { CIB_file: cib }).stdout));
  });

  it('--output-as=xml is the reference XML (less the pacemakerd element, which needs a daemon)', () => {
    const r = run(CRM_MON, ['-1', '--output-as=xml'], { CIB_file: cib });
    expect(r.code).toBe(0);
    const want = readFileSync(join(REF, 'crm_mon-1.xml'), 'utf8').split('\n').filter((l) => !l.includes('<pacemakerd ')).join('\n');
    expect(normalise(r.stdout)).toBe(normalise(want));
    expect(parseXmlTree(r.stdout).tag).toBe('pacemaker-result');
    const x = run(CRM_MON, ['-X'], { CIB_file: cib }).stdout;
    expect(normalise(x).replace('request="crm_mon -X"', 'request="crm_mon -1 --output-as=xml"')).toBe(normalise(r.stdout));
  });

  it('--output-as=json parses and names the same nodes, resources and history', () => {
    const r = run(CRM_MON, ['--output-as', 'json'], { CIB_file: cib });
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as {
      'pacemaker-result': {
        summary: { current_dc: { name: string; with_quorum: boolean } };
        nodes: { node: Array<{ name: string; resources_running: string }> };
        resources: { resource: Array<{ id: string; node: Array<{ name: string }> }>; clone: Array<{ id: string; resource: unknown[] }> };
        node_history: { node: Array<{ name: string; resource_history: Array<{ id: string; operation_history: Array<{ task: string }> }> }> };
      };
    };
    const p = j['pacemaker-result'];
    expect(p.summary.current_dc).toMatchObject({ name: 'n2', with_quorum: true });
    expect(p.nodes.node.map((n) => `${n.name}:${n.resources_running}`)).toEqual(['n1:2', 'n2:1', 'n3:1']);
    expect(p.resources.resource[0]!.node[0]!.name).toBe('n1');
    expect(p.resources.clone[0]!.resource).toHaveLength(3);
    expect(p.node_history.node[0]!.resource_history[0]!.operation_history.map((o) => o.task)).toEqual(['start', 'monitor']);
  });

  it('-s gives one line and a Nagios exit code', () => {
    const r = run(CRM_MON, ['-s'], { CIB_file: cib });
    expect(r.stdout).toBe('CLUSTER OK: 3 nodes online, 4 resource instances configured\n');
    expect(r.code).toBe(0);
  });

  it('refuses bad options and a missing file with a clear message', () => {
    const a = run(CRM_MON, ['-1', '--bogus'], { CIB_file: cib });
    expect(a.code).toBe(64);
    expect(a.stderr).toContain("unknown option '--bogus'");
    const b = run(CRM_MON, ['--output-as=yaml'], { CIB_file: cib });
    expect(b.code).toBe(64);
    expect(b.stderr).toContain("unknown output format 'yaml'");
    const c = run(CRM_MON, ['-1'], { CIB_file: join(dir, 'nope.xml') });
    expect(c.code).toBe(1);
    expect(c.stderr).toContain('does not exist');
  });

  it('says the cluster is not available when belayd is not running (one-shot and live)', () => {
    const sock = join(dir, 'no-daemon.sock');
    for (const args of [['-1'], []]) {
      const r = run(CRM_MON, args, { CIB_file: undefined, BELAY_ADMIN_SOCKET: sock });
      expect(r.code).toBe(69);
      expect(r.stderr).toContain(`cluster is not available on this node: belayd is not running (no admin socket at ${sock})`);
    }
  });
});

describe('crm resource and crm node on a CIB file', () => {
  let dir: string;
  let cib: string;
  const crm = (...args: string[]) => run(CRM, args, { CIB_file: cib });
  const load = (): Cib => parseCibXml(readFileSync(cib, 'utf8'), cib);
  beforeAll(() => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), `crm-resource-${process.pid}-`));
    cib = join(dir, 'cib.xml');
    copyFileSync(join(REF, 'cibadmin_query.xml'), cib);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('status says where a resource runs, as crm_resource --locate', () => {
    expect(crm('resource', 'status', 'FloatIP').stdout).toBe('resource FloatIP is running on: n1\n');
    expect(crm('resource', 'status', 'nginx-clone').stdout).toBe(
      'resource nginx-clone is running on: n1\nresource nginx-clone is running on: n2\nresource nginx-clone is running on: n3\n',
    );
    const bad = crm('resource', 'status', 'nope');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('resource "nope" does not exist');
  });

  it('move adds cli-prefer-RSC at INFINITY, ban adds cli-ban-RSC-on-NODE at -INFINITY, clear removes both', () => {
    expect(crm('resource', 'move', 'FloatIP', 'n3').code).toBe(0);
    expect(crm('resource', 'ban', 'FloatIP', 'n1').code).toBe(0);
    const cs = load().configuration.constraints.map((c) => ({ ...c }));
    expect(cs.find((c) => c.id === 'cli-prefer-FloatIP')).toMatchObject({ rsc: 'FloatIP', node: 'n3', score: 'INFINITY' });
    expect(cs.find((c) => c.id === 'cli-ban-FloatIP-on-n1')).toMatchObject({ rsc: 'FloatIP', node: 'n1', score: '-INFINITY' });
    // Moving again replaces the preference rather than adding a second one.
    expect(crm('resource', 'migrate', 'FloatIP', 'n2').code).toBe(0);
    expect(load().configuration.constraints.filter((c) => c.id === 'cli-prefer-FloatIP').map((c) => (c as { node?: string }).node)).toEqual(['n2']);
    expect(crm('resource', 'move', 'FloatIP', 'n9').stderr).toContain('node "n9" does not exist');
    expect(crm('resource', 'unmove', 'FloatIP').code).toBe(0);
    expect(load().configuration.constraints.map((c) => c.id)).toEqual(['FloatIP-nginx']);
  });

  it('move without a node bans the resource from where it runs', () => {
    expect(crm('resource', 'move', 'FloatIP').stdout).toContain('Ban constraint created for FloatIP on n1');
    expect(load().configuration.constraints.map((c) => c.id)).toContain('cli-ban-FloatIP-on-n1');
    crm('resource', 'clear', 'FloatIP');
  });

  it('failcount shows the sum of a resource\'s fail counts on a node; delete and cleanup forget them and the history', () => {
    const c = load();
    const n1 = c.status!.find((s) => s.uname === 'n1')!;
    n1.transientAttributes[0]!.nvpairs.push({ name: 'fail-count-FloatIP#monitor_15000', value: '2' }, { name: 'fail-count-FloatIP#start_0', value: '1' });
    writeFileSync(cib, cibToXml(c));
    expect(crm('resource', 'failcount', 'FloatIP', 'show', 'n1').stdout).toBe('scope=status  name=fail-count-FloatIP value=3\n');
    expect(crm('resource', 'failcount', 'FloatIP', 'delete', 'n1').code).toBe(0);
    expect(crm('resource', 'failcount', 'FloatIP', 'show', 'n1').stdout).toBe('scope=status  name=fail-count-FloatIP value=0\n');
    // The history of FloatIP on n1 is gone (the cluster would probe again); n2's is kept.
    const after = load();
    expect(after.status!.find((s) => s.uname === 'n1')!.lrm!.resources.map((r) => r.id)).toEqual(['nginx']);
    expect(after.status!.find((s) => s.uname === 'n2')!.lrm!.resources.map((r) => r.id)).toEqual(['FloatIP', 'nginx']);
    const all = crm('resource', 'cleanup', 'nginx-clone');
    expect(all.stdout).toBe('Cleaned up nginx on n1\nCleaned up nginx on n2\nCleaned up nginx on n3\n');
    expect(load().status!.flatMap((s) => s.lrm!.resources.map((r) => r.id))).toEqual(['FloatIP', 'FloatIP']);
  });

  it('restart on a file leaves the resource Started', () => {
    expect(crm('resource', 'restart', 'FloatIP').code).toBe(0);
    expect(crm('resource', 'meta', 'FloatIP', 'show', 'target-role').stdout).toBe('Started\n');
  });

  it('crm node list is crm_node -l', () => {
    expect(crm('node', 'list').stdout).toBe(readFileSync(join(REF, 'crm_node-l.txt'), 'utf8'));
  });
});


/** A stand-in belayd: the real AdminServer answering `status` and streaming `watch` like belayd. */
describe('crm_mon live view', () => {
  let dir: string;
  let server: AdminServer;
  const watchers = new Set<AdminConnection>();
  let snapshot: Record<string, unknown>;
  beforeAll(async () => {
    requireBuild();
    dir = mkdtempSync(join(tmpdir(), `crm_mon-live-${process.pid}-`));
    const cib = parseCibXml(readFileSync(join(REF, 'cibadmin_query.xml'), 'utf8'));
    snapshot = { node: { id: 1, name: 'n1' }, dc: { id: 2, name: 'n2' }, quorate: true, lastChange: { at: 0, by: '' }, cib };
    server = new AdminServer(join(dir, 'admin.sock'), (req, conn) => {
      if (req.cmd === 'status') return snapshot;
      if (req.cmd === 'watch') {
        watchers.add(conn);
        conn.onClose(() => watchers.delete(conn));
        conn.push('status', snapshot);
        return new Promise(() => {});
      }
      throw new Error('unknown');
    });
    await server.listen();
  });
  afterAll(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('draws a frame at once, redraws in place on every pushed change within a second, quits on q', async () => {
    const child = spawn(process.execPath, [CRM_MON], {
      env: { ...process.env, TZ: 'UTC', CIB_file: '', BELAY_ADMIN_SOCKET: join(dir, 'admin.sock') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const frames = () => out.split('\x1b[H\x1b[2J').filter((f) => f !== '');
    const waitFor = async (ok: () => boolean, ms: number) => {
      const t0 = Date.now();
      while (!ok()) {
        if (Date.now() - t0 > ms) throw new Error(`timed out; output so far:\n${out}`);
        await new Promise((r) => setTimeout(r, 10));
      }
      return Date.now() - t0;
    };
    try {
      await waitFor(() => frames().length >= 1, 5000);
      expect(frames()[0]).toContain('* Online: [ n1 n2 n3 ]');
      expect(frames()[0]).toContain("Status of belayd: 'belayd is running'");
      // The cluster changes: n1 goes offline, FloatIP moves to n2.
      snapshot = { ...snapshot, cib: offlineCib() };
      for (const w of watchers) w.push('status', snapshot);
      const ms = await waitFor(() => frames().length >= 2, 1000);
      const second = frames()[1]!;
      expect(second).toContain('* OFFLINE: [ n1 ]');
      expect(second).toContain('* FloatIP\t(ocf:heartbeat:IPaddr2):\t Started n2');
      expect(ms).toBeLessThan(1000);
      // Nothing is drawn without a change (no polling).
      await new Promise((r) => setTimeout(r, 1500));
      expect(frames()).toHaveLength(2);
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.stdin.write('q');
      expect(await exit).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('says so when belayd goes away, resubscribes when it is back, and quits on Ctrl-C (SIGINT)', async () => {
    const child = spawn(process.execPath, [CRM_MON], {
      env: { ...process.env, TZ: 'UTC', CIB_file: '', BELAY_ADMIN_SOCKET: join(dir, 'admin.sock') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const waitFor = async (ok: () => boolean, ms: number) => {
      const t0 = Date.now();
      while (!ok()) {
        if (Date.now() - t0 > ms) throw new Error(`timed out; output so far:\n${out}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    try {
      await waitFor(() => out.includes('Node List:'), 5000);
      await server.close();
      await waitFor(() => out.includes('Connection to belayd lost'), 3000);
      const mark = out.length;
      await server.listen();
      await waitFor(() => out.slice(mark).includes('Node List:'), 5000);
      const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill('SIGINT');
      expect(await exit).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
