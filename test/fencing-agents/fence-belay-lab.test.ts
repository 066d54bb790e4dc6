/**
 * fence_belay_lab against a real lab: two cluster nodes running belayd, the
 * agent run inside n1 (as n1's fencer would run it) powers n2 off, on and
 * through a reboot; n2's processes really die, its belayd comes back, the
 * lab counts the power cycles. And what the agent refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { belaydArgv, hostIsOn, labDown, labExec, labHeal, labPartition, labUp, loadLabState, type ClusterLabState } from '../../src/lab/cluster-lab.js';
import { Lab } from '../../src/lab/netns.js';
import { fenceAgentPath, listFenceAgents, parseFenceList, parseFenceMetadata, runFenceAgent } from '../../src/fencing/agent.js';

const AGENT = fileURLToPath(new URL('../../agents/fence/fence_belay_lab', import.meta.url));

function requireBuilt(): void {
  const entry = fileURLToPath(new URL('../../dist/cli/fence-belay-lab.js', import.meta.url));
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
}

describe('fence_belay_lab outside a lab', () => {
  beforeAll(requireBuilt);

  it('is found beside the system agents and prints fence-agents metadata', async () => {
    expect(fenceAgentPath('fence_belay_lab')).toBe(AGENT);
    expect(listFenceAgents()).toContain('fence_belay_lab');
    const r = await runFenceAgent('fence_belay_lab', 'metadata', {}, { timeoutMs: 30_000 });
    expect(r.rc).toBe(0);
    const meta = parseFenceMetadata(r.stdout);
    expect(meta.name).toBe('fence_belay_lab');
    expect(meta.shortdesc).toMatch(/power switch of a belay lab/);
    expect(meta.hostArgument).toBe('port');
    expect(meta.parameters.find((p) => p.name === 'socket')?.default).toBe('/run/belay-lab/switch/switch.sock');
    expect(meta.actions.map((a) => a.name)).toEqual(expect.arrayContaining(['on', 'off', 'reboot', 'status', 'list', 'monitor', 'metadata']));
  });

  it('fails with rc 1 and says why when it is not on a lab node, or is asked nonsense', async () => {
    const r = await runFenceAgent('fence_belay_lab', 'list', { key_file: '/nonexistent/key' }, { timeoutMs: 30_000 });
    expect(r.rc).toBe(1);
    expect(r.stderr).toContain("cannot read this host's key");
    const bad = await runFenceAgent('fence_belay_lab', 'off', {}, { timeoutMs: 30_000 });
    expect(bad.rc).toBe(1);
    expect(bad.stderr).toContain('You have to enter plug');
  });
});

describe('fence_belay_lab in a lab of two cluster nodes', () => {
  let state: ClusterLabState;
  const name = `fa${process.pid % 100000}`;
  /** Run the agent inside a lab host, parameters on stdin as a fencer passes them. */
  const agent = async (host: string, lines: string[]) => {
    const r = await labExec(state, host, ['sh', '-c', 'printf "%s\\n" "$@" | "$0"', AGENT, ...lines]);
    return { rc: r.exitCode ?? -1, out: String(r.stdout), err: String(r.stderr) };
  };
  const belaydPids = (host: string) => {
    const lab = Lab.attach(state.lab);
    return lab.pids(host).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('daemon');
      } catch {
        return false;
      }
    });
  };

  beforeAll(async () => {
    requireBuilt();
    state = await labUp({ name, nodes: 2, apps: 1, daemonArgv: belaydArgv() });
  }, 120_000);
  afterAll(async () => {
    if (state) await labDown(state);
  });

  it('lists the lab\'s cluster nodes, with no parameters at all', async () => {
    const r = await agent('n1', ['action=list']);
    expect(r.rc, r.err).toBe(0);
    expect(parseFenceList(r.out).map((e) => e.plug)).toEqual(['n1', 'n2']);
    expect((await agent('n1', ['action=monitor'])).rc).toBe(0);
    const st = await agent('n1', ['action=status', 'port=n2', 'nodename=n2']);
    expect(st.rc).toBe(0);
    expect(st.out).toContain('Status: ON');
  });

  it('off kills every process of the host, status is OFF (rc 2), on boots it with its belayd; the lab counts the cycle', async () => {
    const lab = Lab.attach(state.lab);
    await waitFor(async () => belaydPids('n2').length > 0, 20_000);
    const before = lab.pids('n2');
    expect(before.length).toBeGreaterThan(0);
    const off = await agent('n1', ['action=off', 'plug=n2']);
    expect(off.rc, off.err).toBe(0);
    expect(off.out).toContain('Success: Powered OFF');
    // Every process that ran on n2 is gone (zombies not yet reaped aside), and nothing runs there now.
    for (const pid of before) expect(existsSync(`/proc/${pid}`) ? readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]![0] : 'gone').toMatch(/^(gone|Z)$/);
    expect(lab.pids('n2')).toEqual([]);
    expect(loadLabState(name).powerCycles?.n2).toBe(1);
    const st = await agent('n1', ['action=status', 'plug=n2']);
    expect(st.rc).toBe(2);
    expect(st.out).toContain('Status: OFF');
    expect((await agent('n1', ['action=off', 'plug=n2'])).out).toContain('Already OFF');
    const on = await agent('n1', ['action=on', 'plug=n2']);
    expect(on.rc, on.err).toBe(0);
    expect(hostIsOn(loadLabState(name), 'n2')).toBe(true);
    await waitFor(async () => belaydPids('n2').length > 0, 20_000);
    expect(loadLabState(name).powerCycles?.n2).toBe(1);
  });

  it('reboot power-cycles the host: new processes, belayd again, the count rises', async () => {
    const before = belaydPids('n2');
    expect(before.length).toBeGreaterThan(0);
    const r = await agent('n1', ['action=reboot', 'port=n2', 'power_wait=0.5']);
    expect(r.rc, r.err).toBe(0);
    expect(r.out).toContain('Success: Rebooted');
    expect(loadLabState(name).powerCycles?.n2).toBe(2);
    const after = await waitFor(async () => {
      const p = belaydPids('n2');
      return p.length > 0 ? p : undefined;
    }, 20_000);
    expect(after.some((p) => before.includes(p))).toBe(false);
    // A fresh machine: its /run is empty of the old belayd's socket until the new one makes it.
    expect(String((await labExec(state, 'n2', ['hostname'])).stdout)).toBe('n2');
    expect(loadLabState(name).powerCycles?.n1 ?? 0).toBe(0);
  });

  it('refuses a key of another lab, another host\'s name, and plugs that are not cluster nodes', async () => {
    // A key this lab never issued (as a host of another lab holds).
    await labExec(state, 'n1', ['sh', '-c', 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \\n" > /run/other.key']);
    const foreign = await agent('n1', ['action=status', 'plug=n2', 'key_file=/run/other.key']);
    expect(foreign.rc).toBe(1);
    expect(foreign.err).toContain('authentication failed');
    // n1's own key presented under n2's name (hostname inside n1 changed for one command).
    const spoof = await labExec(state, 'n1', ['unshare', '--uts', 'sh', '-c', 'hostname n2 && printf "action=off\\nplug=n1\\n" | "$0"', AGENT]);
    expect(spoof.exitCode).toBe(1);
    expect(String(spoof.stderr)).toContain('authentication failed');
    expect(hostIsOn(loadLabState(name), 'n1')).toBe(true);
    const app = await agent('n1', ['action=off', 'plug=app1']);
    expect(app.rc).toBe(1);
    expect(app.err).toContain("no plug 'app1'");
    expect(hostIsOn(loadLabState(name), 'app1')).toBe(true);
    // A node cut off together with its line to the switch cannot fence; healed, it can again.
    await labPartition(name, 'n1', { cutSwitch: true });
    const cut = await agent('n1', ['action=status', 'plug=n2']);
    expect(cut.rc).toBe(1);
    expect(cut.err).toContain('cannot reach the power switch');
    expect((await agent('n2', ['action=status', 'plug=n1'])).rc).toBe(0);
    await labHeal(name);
    expect((await agent('n1', ['action=status', 'plug=n2'])).rc).toBe(0);
    // The switch logged who asked for what.
    const log = readFileSync(`${state.dir}/power-switch.log`, 'utf8');
    expect(log).toMatch(/n1 reboot n2: Rebooted/);
    expect(log).toMatch(/refused: authentication failed/);
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 150));
  }
}
