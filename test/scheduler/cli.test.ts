/**
 * bin/crm_simulate end to end (run `npm run build` first): the four sections
 * in Pacemaker's format, scores with -s, and clear errors on bad input.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { CASES_ROOT, section } from './harness.js';

const root = join(import.meta.dirname, '..', '..');
const bin = join(root, 'bin', 'crm_simulate');

function run(args: string[]) {
  expect(existsSync(join(root, 'dist', 'cli', 'crm_simulate.js')), 'belay is not built: run npm run build').toBe(true);
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
}

describe('crm_simulate', () => {
  it('prints the four sections of a simulation like Pacemaker', () => {
    const file = join(CASES_ROOT, 'tier1', 'group6.xml');
    const r = run(['-x', file, '-S']);
    expect(r.status).toBe(0);
    const lines = r.stdout.split('\n');
    for (const h of ['Current cluster status:', 'Transition Summary:', 'Executing Cluster Transition:', 'Revised Cluster Status:']) expect(lines).toContain(h);
    expect(section(lines, 'Transition Summary:')).toContain('* Move child_rsc1 ( node1 -> node2 )');
    expect(section(lines, 'Revised Cluster Status:')).toContain('* child_rsc6 (ocf:heartbeat:apache): Started node2');
  });
  it('prints allocation scores with -s', () => {
    const r = run(['-x', join(CASES_ROOT, 'tier1', 'group6.xml'), '-S', '-s', '-Q']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/pcmk__primitive_assign: child_rsc2 allocation score on node1: -INFINITY/);
  });
  it('follows 2.1 placement with --compat 2.1 and refuses an unknown release', () => {
    const file = join(CASES_ROOT, 'tier1', 'clone-anon-probe-1.xml');
    const r = run(['-x', file, '-s', '-Q', '--compat', '2.1']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^pcmk__clone_allocate: /m);
    expect(run(['-x', file, '-s', '-Q']).stdout).toMatch(/^pcmk__clone_assign: /m);
    const bad = run(['-x', file, '-S', '--compat', '9']);
    expect(bad.status).toBe(64);
    expect(bad.stderr).toMatch(/--compat: unknown release "9"/);
  });
  it('uses the execution-date of the CIB as now', () => {
    const r = run(['-x', join(CASES_ROOT, 'tier1', 'order-first-probes.xml'), '-S']);
    expect(r.status).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('Using the original execution date of: 2016-10-05 07:32:34Z');
  });
  it('fails clearly on a missing file and on broken XML', () => {
    const missing = run(['-x', '/nonexistent/cib.xml', '-S']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/cannot read \/nonexistent\/cib.xml/);
    const dir = mkdtempSync(join(tmpdir(), `crm-sim-${process.pid}-`));
    try {
      const bad = join(dir, 'bad.xml');
      writeFileSync(bad, '<cib><configuration>\n<resources>\n</configuration></cib>');
      const r = run(['-x', bad, '-S']);
      expect(r.status).not.toBe(0);
      expect(r.stderr).toMatch(/bad\.xml/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('names the constraint with an unknown reference on stderr and still schedules', () => {
    const dir = mkdtempSync(join(tmpdir(), `crm-sim-${process.pid}-`));
    try {
      const f = join(dir, 'cib.xml');
      writeFileSync(f, `<cib admin_epoch="0" epoch="1" num_updates="0" have-quorum="1"><configuration><crm_config><cluster_property_set id="o"><nvpair id="o1" name="stonith-enabled" value="false"/></cluster_property_set></crm_config>
<nodes><node id="1" uname="n1"/></nodes><resources><primitive id="a" class="ocf" provider="pacemaker" type="Dummy"/></resources>
<constraints><rsc_order id="ord-ghost" first="ghost" then="a"/></constraints></configuration>
<status><node_state id="1" uname="n1" in_ccm="true" crmd="online" join="member" expected="member"/></status></cib>`);
      const r = run(['-x', f, '-S']);
      expect(r.status).toBe(0);
      expect(r.stderr).toMatch(/ord-ghost.*ghost/);
      expect(section(r.stdout.split('\n'), 'Transition Summary:')).toContain('* Start a ( n1 )');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
