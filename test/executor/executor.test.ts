/**
 * The executor against real processes: test agents written to a temporary
 * OCF root, plus belay's own Dummy for recurring monitors.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Executor, type OperationResult } from '../../src/executor/executor.js';
import { BELAY_OCF_ROOT } from '../../src/executor/resolve.js';
import { groupMembers } from '../../src/executor/run.js';

let dir: string;
let root: string;
let initd: string;

const NEEDS_META = `<?xml version="1.0"?>
<resource-agent name="needs"><version>1.1</version><longdesc>t</longdesc><shortdesc>t</shortdesc>
<parameters>
<parameter name="req" required="1"><longdesc>r</longdesc><shortdesc>r</shortdesc><content type="string"/></parameter>
<parameter name="mark"><longdesc>m</longdesc><shortdesc>m</shortdesc><content type="string"/></parameter>
<parameter name="opt"><longdesc>o</longdesc><shortdesc>o</shortdesc><content type="string" default="dflt"/></parameter>
</parameters><actions><action name="start" timeout="20s"/></actions></resource-agent>`;

const AGENTS: Record<string, string> = {
  hang: `#!/bin/sh
[ "$1" = meta-data ] && exit 3
echo $$ > "$OCF_RESKEY_dir/hang.pid"
sleep 300 &
echo $! > "$OCF_RESKEY_dir/hang.child"
sleep 300
`,
  stubborn: `#!/bin/sh
[ "$1" = meta-data ] && exit 3
trap '' TERM
sh -c 'trap "" TERM; while :; do sleep 1; done' &
echo $! > "$OCF_RESKEY_dir/stubborn.child"
while :; do sleep 1; done
`,
  garbage: `#!/bin/sh
[ "$1" = meta-data ] && { head -c 5000 /dev/urandom; exit 0; }
head -c 100000 /dev/urandom
printf '\\377\\376\\000 not utf-8\\n'
head -c 1000 /dev/urandom >&2
exit 0
`,
  huge: `#!/bin/sh
[ "$1" = meta-data ] && exit 3
yes 'this line is repeated until the output is fifty megabytes' | head -c 50000000
exit 0
`,
  rc: `#!/bin/sh
[ "$1" = meta-data ] && exit 3
exit "$OCF_RESKEY_code"
`,
  dumpenv: `#!/bin/sh
[ "$1" = meta-data ] && exit 3
env > "$OCF_RESKEY_out"
exit 0
`,
  echoparam: `#!/bin/sh
[ "$1" = meta-data ] && exit 3
printf '%s' "$OCF_RESKEY_v" > "$OCF_RESKEY_out"
exit 0
`,
  needs: `#!/bin/sh
if [ "$1" = meta-data ]; then cat <<'XML'
${NEEDS_META}
XML
exit 0; fi
[ -n "$OCF_RESKEY_mark" ] && printf '%s' "$OCF_RESKEY_opt" > "$OCF_RESKEY_mark"
exit 0
`,
  slow: `#!/bin/sh
[ "$1" = meta-data ] && exit 3
echo "begin $OCF_RESOURCE_INSTANCE $1" >> "$OCF_RESKEY_log"
sleep 0.3
echo "end $OCF_RESOURCE_INSTANCE $1" >> "$OCF_RESKEY_log"
exit 0
`,
};

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), `belay-exec-${process.pid}-`));
  root = join(dir, 'ocf');
  initd = join(dir, 'init.d');
  mkdirSync(join(root, 'resource.d', 'test'), { recursive: true });
  mkdirSync(initd);
  for (const [name, text] of Object.entries(AGENTS)) {
    const p = join(root, 'resource.d', 'test', name);
    writeFileSync(p, text);
    chmodSync(p, 0o755);
  }
  writeFileSync(join(root, 'resource.d', 'test', 'notexec'), '#!/bin/sh\nexit 0\n');
  writeFileSync(
    join(initd, 'fakesvc'),
    `#!/bin/sh\ncase "$1" in start) touch "${dir}/fakesvc.on"; exit 0;; stop) rm -f "${dir}/fakesvc.on"; exit 0;; status) [ -e "${dir}/fakesvc.on" ] && exit 0; exit 3;; *) exit 3;; esac\n`,
  );
  chmodSync(join(initd, 'fakesvc'), 0o755);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function executor(extra: ConstructorParameters<typeof Executor>[0] = {}): Executor {
  return new Executor({ search: { ocfRoots: [root, BELAY_OCF_ROOT], lsbDirs: [initd] }, killGraceMs: 500, ...extra });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // A zombie (dead, not yet reaped) does not count.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('timeouts', () => {
  it('kills an agent that hangs past its timeout, with its whole process group, and reports a timeout', async () => {
    const t0 = Date.now();
    const r = await executor().execute({ rscId: 'h', agent: 'ocf:test:hang', action: 'start', params: { dir }, timeoutMs: 400 });
    expect(r.status).toBe('timeout');
    expect(r.result.ok).toBe(false);
    expect(r.result.recovery).toBe('soft');
    expect(r.exitReason).toMatch(/timed out/);
    expect(Date.now() - t0).toBeLessThan(3000);
    const pid = Number(readFileSync(join(dir, 'hang.pid'), 'utf8'));
    const child = Number(readFileSync(join(dir, 'hang.child'), 'utf8'));
    expect(r.pid).toBe(pid);
    expect(alive(pid)).toBe(false);
    expect(alive(child)).toBe(false);
    expect(groupMembers(pid)).toEqual([]);
  });

  it('follows SIGTERM with SIGKILL when the agent ignores it', async () => {
    const t0 = Date.now();
    const r = await executor().execute({ rscId: 's', agent: 'ocf:test:stubborn', action: 'monitor', intervalMs: 1000, params: { dir }, timeoutMs: 300 });
    const took = Date.now() - t0;
    expect(r.status).toBe('timeout');
    expect(took).toBeGreaterThanOrEqual(300 + 500 - 50); // timeout + grace
    expect(took).toBeLessThan(4000);
    const child = Number(readFileSync(join(dir, 'stubborn.child'), 'utf8'));
    expect(alive(child)).toBe(false);
    expect(groupMembers(r.pid!)).toEqual([]);
  });
});

describe('output and exit codes', () => {
  it('tolerates garbage output, including in meta-data', async () => {
    const r = await executor().execute({ rscId: 'g', agent: 'ocf:test:garbage', action: 'start' });
    expect(r.rc).toBe(0);
    expect(r.result.ok).toBe(true);
    expect(r.stdout.length).toBeGreaterThan(0);
    expect(r.warnings.join(' ')).toMatch(/meta-data/);
  });

  it('keeps memory bounded when an agent prints 50 MB', async () => {
    const cap = 64 * 1024;
    const r = await executor({ maxOutputBytes: cap }).execute({ rscId: 'big', agent: 'ocf:test:huge', action: 'start', timeoutMs: 30_000 });
    expect(r.rc).toBe(0);
    expect(r.status).toBe('done');
    expect(r.outputTruncated).toBe(true);
    expect(Buffer.byteLength(r.stdout)).toBeLessThanOrEqual(cap);
    expect(r.warnings.join(' ')).toMatch(/50000000 bytes/);
  });

  it.each([
    [0, 0, true],
    [7, 7, false],
    [9, 9, false],
    [42, 1, false],
    [255, 1, false],
    [190, 190, true],
  ])('exit %i is recorded as rc %i', async (code, rc, ok) => {
    const r = await executor().execute({ rscId: `rc${code}`, agent: 'ocf:test:rc', action: 'start', params: { code: String(code) } });
    expect(r.exitCode).toBe(code);
    expect(r.rc).toBe(rc);
    expect(r.result.ok).toBe(code === 190 ? true : ok);
    if (rc !== code) expect(r.warnings.join(' ')).toMatch(/outside the OCF range/);
  });

  it('reports a missing agent as rc 5 (not installed), hard recovery', async () => {
    for (const agent of ['ocf:test:nosuch', 'ocf:nosuchprovider:Dummy', 'ocf:test:notexec', 'lsb:nosuch']) {
      const r = await executor().execute({ rscId: 'm', agent, action: 'start' });
      expect(r.rc, agent).toBe(5);
      expect(r.status).toBe('not-installed');
      expect(r.result.recovery).toBe('hard');
      expect(r.exitReason).toMatch(/not found/);
    }
  });
});

describe('parameters', () => {
  it('refuses to start without a required parameter (rc 6, agent not run)', async () => {
    const mark = join(dir, 'needs.mark');
    const r = await executor().execute({ rscId: 'n', agent: 'ocf:test:needs', action: 'start', params: { mark } });
    expect(r.rc).toBe(6);
    expect(r.result.recovery).toBe('fatal');
    expect(r.exitReason).toMatch(/required parameter 'req'/);
    expect(existsSync(mark)).toBe(false);
    const ok = await executor().execute({ rscId: 'n', agent: 'ocf:test:needs', action: 'start', params: { mark, req: 'x' } });
    expect(ok.rc).toBe(0);
    // Not belay's agent: like Pacemaker, only configured parameters are passed.
    expect(readFileSync(mark, 'utf8')).toBe('');
  });

  it("applies meta-data defaults to belay's own agents", async () => {
    const envfile = join(dir, 'dummy.env');
    const state = join(dir, 'defaults.state');
    const r = await executor().execute({ rscId: 'dd', agent: 'ocf:belay:Dummy', action: 'validate-all', params: { state, envfile } });
    expect(r.rc).toBe(0);
    const env = readFileSync(envfile, 'utf8');
    expect(env).toContain('OCF_RESKEY_fake=dummy');
    expect(env).toContain('OCF_RESKEY_op_sleep=0');
  });

  const marker = join(tmpdir(), `belay-pwned-${process.pid}`);
  const nasty = [
    'two words',
    "single ' quote",
    'double " quote',
    `$(touch ${marker})`,
    `\`touch ${marker}\``,
    `; touch ${marker}; echo`,
    'line one\nline two\n',
    '  leading and trailing  ',
    '*',
    '$HOME ${PATH} \\ backslash',
    'ünïcødé ✓',
  ];
  it.each(nasty)('passes %j to the agent unchanged and runs nothing', async (value) => {
    const out = join(dir, 'param.out');
    const r = await executor().execute({ rscId: 'p', agent: 'ocf:test:echoparam', action: 'start', params: { v: value, out } });
    expect(r.rc).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(value);
    expect(existsSync(marker)).toBe(false);
  });

  it('gives the agent the OCF environment', async () => {
    const out = join(dir, 'env.out');
    const r = await executor().execute({
      rscId: 'web:1',
      agent: 'ocf:test:dumpenv',
      action: 'monitor',
      intervalMs: 15000,
      timeoutMs: 7000,
      params: { out },
      meta: { clone: '1', 'clone-max': '2' },
    });
    expect(r.rc).toBe(0);
    const env = Object.fromEntries(
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.includes('='))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(env).toMatchObject({
      OCF_ROOT: root,
      OCF_RA_VERSION_MAJOR: '1',
      OCF_RA_VERSION_MINOR: '1',
      OCF_RESOURCE_INSTANCE: 'web:1',
      OCF_RESOURCE_TYPE: 'dumpenv',
      OCF_RESOURCE_PROVIDER: 'test',
      OCF_RESKEY_CRM_meta_timeout: '7000',
      OCF_RESKEY_CRM_meta_interval: '15000',
      OCF_RESKEY_CRM_meta_clone: '1',
      OCF_RESKEY_CRM_meta_clone_max: '2',
    });
  });

  it('refuses to start a second resource with the same unique parameter value', async () => {
    const ex = executor();
    const state = join(dir, 'uniq.state');
    expect((await ex.execute({ rscId: 'u1', agent: 'ocf:belay:Dummy', action: 'start', params: { state } })).rc).toBe(0);
    const clash = await ex.execute({ rscId: 'u2', agent: 'ocf:belay:Dummy', action: 'start', params: { state } });
    expect(clash.rc).toBe(6);
    expect(clash.exitReason).toMatch(/unique/);
    expect((await ex.execute({ rscId: 'u1', agent: 'ocf:belay:Dummy', action: 'stop', params: { state } })).rc).toBe(0);
    expect((await ex.execute({ rscId: 'u2', agent: 'ocf:belay:Dummy', action: 'start', params: { state } })).rc).toBe(0);
    await ex.execute({ rscId: 'u2', agent: 'ocf:belay:Dummy', action: 'stop', params: { state } });
  });
});

describe('scheduling', () => {
  function intervals(log: string): Map<string, number> {
    // Max number of operations running at once, from begin/end lines in order.
    let cur = 0;
    let max = 0;
    for (const l of log.split('\n').filter(Boolean)) {
      cur += l.startsWith('begin') ? 1 : -1;
      max = Math.max(max, cur);
    }
    return new Map([['max', max]]);
  }

  it('runs operations of one resource one at a time, in order', async () => {
    const log = join(dir, 'serial.log');
    const ex = executor({ maxConcurrent: 4 });
    const actions = ['start', 'monitor', 'stop', 'start'];
    await Promise.all(actions.map((action) => ex.execute({ rscId: 'one', agent: 'ocf:test:slow', action, params: { log } })));
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toEqual(actions.flatMap((a) => [`begin one ${a}`, `end one ${a}`]));
  });

  it('runs different resources in parallel, at most maxConcurrent at once', async () => {
    const log = join(dir, 'parallel.log');
    const ex = executor({ maxConcurrent: 2 });
    const t0 = Date.now();
    await Promise.all(['a', 'b', 'c', 'd'].map((id) => ex.execute({ rscId: id, agent: 'ocf:test:slow', action: 'start', params: { log } })));
    // Exactly two at once: parallel (not 1), bounded (not 4).
    expect(intervals(readFileSync(log, 'utf8')).get('max')).toBe(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2 * 300 - 50);
  });

  it('reports a recurring monitor first and then only on change', async () => {
    const ex = executor();
    const state = join(dir, 'rec.state');
    const failFile = join(dir, 'rec.fail');
    const params = { state, fail_file: failFile };
    expect((await ex.execute({ rscId: 'rec', agent: 'ocf:belay:Dummy', action: 'start', params })).rc).toBe(0);
    const seen: OperationResult[] = [];
    ex.startRecurring({ rscId: 'rec', agent: 'ocf:belay:Dummy', action: 'monitor', intervalMs: 100, params }, (r) => seen.push(r));
    const until = async (n: number) => {
      const end = Date.now() + 10_000;
      while (seen.length < n && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    await until(1);
    await new Promise((r) => setTimeout(r, 600)); // several unchanged runs, none reported
    expect(seen.map((r) => r.rc)).toEqual([0]);
    // Atomically (a monitor reading a half-written file would see no rc, i.e. 1).
    writeFileSync(`${failFile}.tmp`, '7\n');
    renameSync(`${failFile}.tmp`, failFile);
    await until(2);
    await new Promise((r) => setTimeout(r, 400));
    rmSync(failFile);
    await until(3);
    await new Promise((r) => setTimeout(r, 400));
    expect(seen.map((r) => r.rc)).toEqual([0, 7, 0]);
    expect(seen[1]!.result.ok).toBe(false);
    expect(ex.recurringKeys()).toEqual(['rec_monitor_100']);
    // stop cancels the resource's recurring operations
    expect((await ex.execute({ rscId: 'rec', agent: 'ocf:belay:Dummy', action: 'stop', params })).rc).toBe(0);
    expect(ex.recurringKeys()).toEqual([]);
    const n = seen.length;
    await new Promise((r) => setTimeout(r, 400));
    expect(seen.length).toBe(n);
    ex.close();
  });

  it("ends the old role's recurring monitor on promote and demote (Pacemaker's Stateful)", async () => {
    const stateful = '/usr/lib/ocf/resource.d/pacemaker/Stateful';
    if (!existsSync(stateful)) throw new Error(`${stateful} is missing: install the Debian package pacemaker`);
    const ex = executor({ search: { ocfRoots: ['/usr/lib/ocf'], lsbDirs: [] } });
    const params = { state: join(dir, 'st.state') };
    const agent = 'ocf:pacemaker:Stateful';
    expect((await ex.execute({ rscId: 'st', agent, action: 'start', params })).rc).toBe(0);
    ex.startRecurring({ rscId: 'st', agent, action: 'monitor', intervalMs: 4000, params }, () => undefined);
    expect(ex.recurringKeys()).toEqual(['st_monitor_4000']);
    expect((await ex.execute({ rscId: 'st', agent, action: 'promote', params })).rc).toBe(0);
    expect(ex.recurringKeys()).toEqual([]);
    ex.startRecurring({ rscId: 'st', agent, action: 'monitor', intervalMs: 3000, params, expectedRc: 8 }, () => undefined);
    expect((await ex.execute({ rscId: 'st', agent, action: 'demote', params })).rc).toBe(0);
    expect(ex.recurringKeys()).toEqual([]);
    expect((await ex.execute({ rscId: 'st', agent, action: 'stop', params })).rc).toBe(0);
    ex.close();
  });
});

describe('LSB init scripts', () => {
  it('maps monitor to status and LSB status codes to OCF', async () => {
    const ex = executor();
    expect((await ex.execute({ rscId: 'f', agent: 'lsb:fakesvc', action: 'monitor' })).rc).toBe(7);
    expect((await ex.execute({ rscId: 'f', agent: 'lsb:fakesvc', action: 'start' })).rc).toBe(0);
    expect((await ex.execute({ rscId: 'f', agent: 'lsb:fakesvc', action: 'monitor' })).rc).toBe(0);
    expect((await ex.execute({ rscId: 'f', agent: 'lsb:fakesvc', action: 'promote' })).rc).toBe(3);
    expect((await ex.execute({ rscId: 'f', agent: 'lsb:fakesvc', action: 'stop' })).rc).toBe(0);
  });
});
