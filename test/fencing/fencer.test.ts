import { describe, expect, it } from 'vitest';
import { emptyCib, type Configuration } from '../../src/cib/model.js';
import {
  agentParams, canFence, chooseExecutor, deviceDelayMs, fenceDevices, fencingConfigErrors, fencingOptions, FenceOperation,
  hostMap, priorityDelayMs, topologyFor, type FenceDevice, type FenceStep,
} from '../../src/fencing/fencer.js';

function dev(id: string, params: Record<string, string> = {}, priority = 0): FenceDevice {
  return { id, agent: 'fence_dummy', params, priority, disabled: false };
}

const opts = { action: 'reboot' as const, timeoutMs: 60_000, maxAttempts: 10, priorityFencingDelayMs: 0 };

/** Drive an operation with agents that answer from `rcs` (device id -> rc) and `lists`. */
function drive(op: FenceOperation, rcs: Record<string, number>, lists: Record<string, string> = {}): { steps: string[]; done: Extract<FenceStep, { kind: 'done' }> } {
  const steps: string[] = [];
  for (let i = 0; i < 50; i++) {
    const s = op.next();
    if (s.kind === 'done') return { steps, done: s };
    if (s.kind === 'list') {
      steps.push(`list ${s.device.id}`);
      const out = lists[s.device.id];
      op.onList(s.device.id, out === undefined ? { rc: 1, stdout: '', timedOut: false } : { rc: 0, stdout: out, timedOut: false });
    } else {
      steps.push(`${s.agentAction} ${s.device.id} plug=${s.params['plug']} delay=${s.delayMs}`);
      op.onRun(s.device.id, { rc: rcs[s.device.id] ?? 0, stderr: rcs[s.device.id] ? 'ERROR: it failed' : '', timedOut: false });
    }
  }
  throw new Error('the operation did not finish');
}

function cfgWith(xmlLevels: Array<Record<string, string>>, props: Record<string, string> = {}): Configuration {
  const cfg = emptyCib().configuration;
  cfg.crmConfig.push({ id: 'o', rules: [], nvpairs: Object.entries(props).map(([name, value]) => ({ name, value })) });
  if (xmlLevels.length) cfg.otherSections.push({ tag: 'fencing-topology', attrs: {}, children: xmlLevels.map((attrs) => ({ tag: 'fencing-level', attrs, children: [] })) });
  return cfg;
}

describe('fencer: which device can fence which node', () => {
  it('reads pcmk_host_list, pcmk_host_map and pcmk_host_check as Pacemaker does', () => {
    expect(canFence(dev('a', { pcmk_host_list: 'n1 n2' }), 'n2', undefined)).toBe('yes');
    expect(canFence(dev('a', { pcmk_host_list: 'n1,n2' }), 'n3', undefined)).toBe('no');
    expect(canFence(dev('a', { pcmk_host_map: 'n1:plug1;n2:plug2' }), 'n2', undefined)).toBe('yes');
    expect(hostMap('n1:1;n2=2 n3:3')).toEqual(new Map([['n1', '1'], ['n2', '2'], ['n3', '3']]));
    // No list and no map: dynamic-list, answered by the agent's list action (by plug or name).
    expect(canFence(dev('a'), 'n1', undefined)).toBe('ask');
    expect(canFence(dev('a'), 'n1', ['n1', 'n2'])).toBe('yes');
    expect(canFence(dev('a', { pcmk_host_map: 'n3:vm3', pcmk_host_check: 'dynamic-list' }), 'n3', ['vm3'])).toBe('yes');
    expect(canFence(dev('a'), 'n9', ['n1'])).toBe('no');
    expect(canFence(dev('a', { pcmk_host_check: 'none' }), 'anything', undefined)).toBe('yes');
    expect(canFence({ ...dev('a', { pcmk_host_check: 'none' }), disabled: true }, 'n1', undefined)).toBe('no');
  });

  it('gives the agent its own parameters, the plug from pcmk_host_map and the node name, never pcmk_*', () => {
    const d = dev('a', { pcmk_host_map: 'n1:outlet-7', pcmk_delay_max: '5s', ipaddr: '10.0.0.9', login: 'admin' });
    expect(agentParams(d, 'n1')).toEqual({ ipaddr: '10.0.0.9', login: 'admin', plug: 'outlet-7', nodename: 'n1' });
    expect(agentParams(dev('b', { pcmk_host_argument: 'none' }), 'n1')).toEqual({ nodename: 'n1' });
    expect(agentParams(dev('c', { pcmk_host_argument: 'port' }), 'n2')).toEqual({ port: 'n2', nodename: 'n2' });
  });

  it('delays by pcmk_delay_base plus a share of pcmk_delay_max', () => {
    expect(deviceDelayMs(dev('a', { pcmk_delay_base: '2s' }), 0.7)).toBe(2000);
    expect(deviceDelayMs(dev('a', { pcmk_delay_max: '10s' }), 0)).toBe(0);
    expect(deviceDelayMs(dev('a', { pcmk_delay_max: '10s' }), 0.5)).toBe(5000);
    expect(deviceDelayMs(dev('a', { pcmk_delay_base: '1s', pcmk_delay_max: '3s' }), 0.99)).toBeLessThanOrEqual(3000);
  });

  it('reads the fencing options and the no-device error', () => {
    expect(fencingOptions(cfgWith([], { 'stonith-action': 'off', 'stonith-timeout': '90s', 'stonith-max-attempts': '3', 'priority-fencing-delay': '15s' }))).toEqual({
      action: 'off', timeoutMs: 90_000, maxAttempts: 3, priorityFencingDelayMs: 15_000,
    });
    expect(fencingOptions(cfgWith([]))).toEqual({ action: 'reboot', timeoutMs: 60_000, maxAttempts: 10, priorityFencingDelayMs: 0 });
    // The names of Pacemaker 3 (fencing-*) are read as well, and win over the stonith-* ones.
    expect(fencingOptions(cfgWith([], { 'fencing-action': 'off', 'fencing-timeout': '30s', 'fencing-max-attempts': '4', 'stonith-max-attempts': '2' }))).toEqual({
      action: 'off', timeoutMs: 30_000, maxAttempts: 4, priorityFencingDelayMs: 0,
    });
    expect(fencingConfigErrors(cfgWith([]))[0]).toBe('Resource start-up disabled since no STONITH resources have been defined');
    expect(fencingConfigErrors(cfgWith([], { 'stonith-enabled': 'false' }))).toEqual([]);
  });

  it('finds stonith primitives, also inside groups, with their priority', () => {
    const cfg = cfgWith([]);
    cfg.resources.push(
      { tag: 'primitive', id: 'f1', class: 'stonith', type: 'fence_ipmilan', instanceAttributes: [{ id: 'i', rules: [], nvpairs: [{ name: 'ip', value: '1.2.3.4' }] }], metaAttributes: [{ id: 'm', rules: [], nvpairs: [{ name: 'priority', value: '5' }] }], utilization: [], operations: [] },
      { tag: 'primitive', id: 'web', class: 'ocf', provider: 'heartbeat', type: 'nginx', instanceAttributes: [], metaAttributes: [], utilization: [], operations: [] },
    );
    expect(fenceDevices(cfg)).toEqual([{ id: 'f1', agent: 'fence_ipmilan', params: { ip: '1.2.3.4' }, priority: 5, disabled: false }]);
  });
});

describe('fencer: one request through its devices', () => {
  it('without a topology tries capable devices by priority until one succeeds, delaying once', () => {
    const devices = [dev('low', { pcmk_host_list: 'n3', pcmk_delay_base: '1s' }, 1), dev('high', { pcmk_host_list: 'n3', pcmk_reboot_action: 'off' }, 9), dev('other', { pcmk_host_list: 'n1' }, 99)];
    const op = new FenceOperation({ target: 'n3', action: 'reboot', random: 0, priorityDelayMs: 500 }, devices, [], opts);
    const { steps, done } = drive(op, { high: 1 });
    expect(steps).toEqual(['off high plug=n3 delay=500', 'reboot low plug=n3 delay=0']);
    expect(done).toEqual({ kind: 'done', ok: true, devices: ['low'] });
  });

  it('asks a dynamic-list device for its list first', () => {
    const op = new FenceOperation({ target: 'n2', action: 'reboot', random: 0, priorityDelayMs: 0 }, [dev('sw')], [], opts);
    const { steps, done } = drive(op, {}, { sw: 'n1,\nn2,\n' });
    expect(steps).toEqual(['list sw', 'reboot sw plug=n2 delay=0']);
    expect(done.ok).toBe(true);
  });

  it('walks fencing_topology levels in index order; every device of a level must succeed', () => {
    const cfg = cfgWith([
      { id: 'l2', target: 'n1', index: '2', devices: 'pdu-a,pdu-b' },
      { id: 'l1', target: 'n1', index: '1', devices: 'ipmi' },
      { id: 'lx', 'target-pattern': '^n[23]$', index: '1', devices: 'other' },
    ]);
    expect(topologyFor(cfg, 'n1')).toEqual([{ index: 1, devices: ['ipmi'] }, { index: 2, devices: ['pdu-a', 'pdu-b'] }]);
    expect(topologyFor(cfg, 'n3')).toEqual([{ index: 1, devices: ['other'] }]);
    const all = ['ipmi', 'pdu-a', 'pdu-b'].map((id) => dev(id, { pcmk_host_check: 'none' }));
    const ok = drive(new FenceOperation({ target: 'n1', action: 'reboot', random: 0, priorityDelayMs: 0 }, all, topologyFor(cfg, 'n1'), opts), { ipmi: 1 });
    expect(ok.steps.map((s) => s.split(' ')[1])).toEqual(['ipmi', 'pdu-a', 'pdu-b']);
    expect(ok.done).toEqual({ kind: 'done', ok: true, devices: ['pdu-a', 'pdu-b'] });
    // One device of the last level fails: the whole request fails, never counted done.
    const bad = drive(new FenceOperation({ target: 'n1', action: 'reboot', random: 0, priorityDelayMs: 0 }, all, topologyFor(cfg, 'n1'), opts), { ipmi: 1, 'pdu-b': 1 });
    expect(bad.done.ok).toBe(false);
    expect(bad.done.reason).toMatch(/ipmi returned 1 \(ERROR: it failed\); pdu-b returned 1/);
  });

  it('fails when no device can fence the target', () => {
    const { done } = drive(new FenceOperation({ target: 'n3', action: 'reboot', random: 0, priorityDelayMs: 0 }, [dev('a', { pcmk_host_list: 'n1' })], [], opts), {});
    expect(done).toMatchObject({ ok: false, reason: 'no fence device can fence n3' });
  });
});

describe('fencer: who runs it, and the two-node race', () => {
  it('runs the devices on the requester unless it is the target', () => {
    expect(chooseExecutor([1, 2, 3], 1, 3)).toBe(1);
    expect(chooseExecutor([1, 2, 3], 1, 1)).toBe(2);
    expect(chooseExecutor([1], 1, 1)).toBeUndefined();
  });

  it('priority-fencing-delay delays fencing of the node holding more priority, only when no side has a majority', () => {
    // Two nodes split: n1 holds FloatIP (priority 10). Each side fences the other.
    const fromN2 = [{ name: 'n1', online: false, priority: 10 }, { name: 'n2', online: true, priority: 0 }];
    const fromN1 = [{ name: 'n1', online: true, priority: 10 }, { name: 'n2', online: false, priority: 0 }];
    expect(priorityDelayMs('n1', fromN2, 15_000)).toBe(15_000);
    expect(priorityDelayMs('n2', fromN1, 15_000)).toBe(0);
    // Equal priorities: no delay (pcmk_delay_* decide); a majority partition: no delay.
    expect(priorityDelayMs('n1', [{ name: 'n1', online: false, priority: 0 }, { name: 'n2', online: true, priority: 0 }], 15_000)).toBe(0);
    expect(priorityDelayMs('n1', [{ name: 'n1', online: false, priority: 10 }, { name: 'n2', online: true, priority: 0 }, { name: 'n3', online: true, priority: 0 }], 15_000)).toBe(0);
  });
});
