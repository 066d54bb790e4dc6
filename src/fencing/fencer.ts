/**
 * The fencer's decisions, as Pacemaker's pacemaker-fenced makes them, as a
 * pure core: which devices can fence a target (pcmk_host_list, pcmk_host_map,
 * pcmk_host_check), in which order (fencing_topology levels, or each capable
 * device by priority), with which agent action, parameters, delay and
 * timeout. `FenceOperation` walks one request through its devices; the shell
 * (src/daemon/fencer-shell.ts) runs the agents and feeds the results back.
 * No I/O, no clock, no randomness of its own (the request carries it).
 */
import { expandConfiguration } from '../cib/template.js';
import { parseDurationMs } from '../cib/duration.js';
import type { Configuration, Primitive, RawElement, TopResource } from '../cib/model.js';
import { nvValues } from '../controller/resource-info.js';
import { clusterProperty } from '../controller/cluster-options.js';
import type { FenceRequestAction } from './history.js';

/** Pacemaker's scheduler errors when fencing is enabled and no device exists (crm_verify and crm_mon print them). */
export const NO_DEVICE_ERRORS = [
  'Resource start-up disabled since no STONITH resources have been defined',
  'Either configure some or disable STONITH with the stonith-enabled option',
  'NOTE: Clusters with shared data need STONITH to ensure data integrity',
];

/** The configuration errors fencing gives: fencing enabled without any device. */
export function fencingConfigErrors(cfg: Configuration): string[] {
  const enabled = !/^(false|off|no|n|0)$/i.test((clusterProperty(cfg, 'fencing-enabled', 'stonith-enabled') ?? 'true').trim());
  return enabled && fenceDevices(cfg).length === 0 ? [...NO_DEVICE_ERRORS] : [];
}

export interface FenceDevice {
  id: string;
  /** The agent's name, e.g. fence_dummy. */
  agent: string;
  /** Instance attributes, pcmk_* included. */
  params: Record<string, string>;
  /** Meta attribute priority: higher is tried first. */
  priority: number;
  /** target-role=Stopped: not used. */
  disabled: boolean;
}

export interface FencingOptions {
  /** stonith-action / fencing-action: what the cluster asks for. */
  action: FenceRequestAction;
  timeoutMs: number;
  maxAttempts: number;
  priorityFencingDelayMs: number;
}

export function fencingOptions(cfg: Configuration): FencingOptions {
  const raw = (clusterProperty(cfg, 'fencing-action', 'stonith-action') ?? 'reboot').toLowerCase();
  const action: FenceRequestAction = raw === 'off' || raw === 'poweroff' ? 'off' : 'reboot';
  const ms = (v: string | undefined, d: number) => {
    const x = parseDurationMs(v, d);
    return Number.isFinite(x) && x >= 0 ? x : d;
  };
  const attempts = Number.parseInt(clusterProperty(cfg, 'fencing-max-attempts', 'stonith-max-attempts') ?? '10', 10);
  return {
    action,
    timeoutMs: ms(clusterProperty(cfg, 'fencing-timeout', 'stonith-timeout'), 60_000) || 60_000,
    maxAttempts: Number.isFinite(attempts) && attempts > 0 ? attempts : 10,
    priorityFencingDelayMs: ms(clusterProperty(cfg, 'priority-fencing-delay'), 0),
  };
}

/** Every stonith-class primitive of the configuration (also inside groups and clones). */
export function fenceDevices(cfg: Configuration): FenceDevice[] {
  const out: FenceDevice[] = [];
  const visit = (r: TopResource, parentMeta: Record<string, string>) => {
    if (r.tag === 'primitive') {
      const p = r as Primitive;
      if (p.class !== 'stonith') return;
      const meta = { ...parentMeta, ...nvValues(p.metaAttributes) };
      out.push({
        id: p.id,
        agent: p.type,
        params: nvValues(p.instanceAttributes),
        priority: Number.parseInt(meta['priority'] ?? '0', 10) || 0,
        disabled: /^stopped$/i.test(meta['target-role'] ?? ''),
      });
    } else if (r.tag === 'group' || r.tag === 'clone' || r.tag === 'master') {
      const x = r as { metaAttributes: Primitive['metaAttributes']; children?: TopResource[]; child?: TopResource };
      const meta = { ...parentMeta, ...nvValues(x.metaAttributes) };
      for (const c of x.children ?? (x.child ? [x.child] : [])) visit(c, meta);
    }
  };
  // A device made from a resource template is the template's agent with both parameter sets.
  for (const r of expandConfiguration(cfg).value.resources) visit(r, {});
  return out;
}

/** pcmk_host_map "n1:plug1;n2=plug2 n3:3" as a map. */
export function hostMap(text: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const item of (text ?? '').split(/[;\s,]+/)) {
    const m = /^([^:=]+)[:=](.*)$/.exec(item);
    if (m && m[1]) out.set(m[1], m[2] ?? '');
  }
  return out;
}

function hostList(text: string | undefined): string[] {
  return (text ?? '').split(/[;\s,]+/).filter((x) => x !== '');
}

export type HostCheck = 'static-list' | 'dynamic-list' | 'status' | 'none';

/** pcmk_host_check, with Pacemaker's default: static-list when a list or map is given, else dynamic-list. */
export function hostCheck(dev: FenceDevice): HostCheck {
  const set = dev.params['pcmk_host_check'];
  if (set === 'static-list' || set === 'dynamic-list' || set === 'none' || set === 'status') return set;
  return dev.params['pcmk_host_list'] || dev.params['pcmk_host_map'] ? 'static-list' : 'dynamic-list';
}

/** The device's name for the target (pcmk_host_map), else the node's name. */
export function portFor(dev: FenceDevice, target: string): string {
  return hostMap(dev.params['pcmk_host_map']).get(target) ?? target;
}

/**
 * Can DEV fence TARGET? `list` is the device's `list` output when known (for
 * dynamic-list). 'ask' means: run the list action first.
 */
export function canFence(dev: FenceDevice, target: string, list: readonly string[] | undefined): 'yes' | 'no' | 'ask' {
  if (dev.disabled) return 'no';
  switch (hostCheck(dev)) {
    case 'none':
    case 'status':
      return 'yes';
    case 'static-list':
      return hostList(dev.params['pcmk_host_list']).includes(target) || hostMap(dev.params['pcmk_host_map']).has(target) ? 'yes' : 'no';
    case 'dynamic-list':
      if (list === undefined) return 'ask';
      return list.includes(portFor(dev, target)) || list.includes(target) ? 'yes' : 'no';
  }
}

/** The names a `list` action printed: the first field of each "port,alias" line. */
export function parseList(stdout: string): string[] {
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/[,\s]/)[0] ?? '')
    .filter((x) => x !== '');
}

export interface TopologyLevel {
  index: number;
  devices: string[];
}

/**
 * fencing_topology as stored in the CIB: <fencing-topology><fencing-level
 * id target|target-pattern|target-attribute+target-value index devices/>.
 * The levels for TARGET, lowest index first; none means: no topology for it.
 */
export function topologyFor(cfg: Configuration, target: string, nodeAttrs: Record<string, string> = {}): TopologyLevel[] {
  const levels: TopologyLevel[] = [];
  const sections = cfg.otherSections.filter((s) => s.tag === 'fencing-topology');
  for (const section of sections) {
    for (const lvl of section.children) {
      if (lvl.tag !== 'fencing-level' || !levelMatches(lvl, target, nodeAttrs)) continue;
      const index = Number.parseInt(lvl.attrs['index'] ?? '', 10);
      const devices = (lvl.attrs['devices'] ?? '').split(',').map((d) => d.trim()).filter((d) => d !== '');
      if (Number.isFinite(index) && devices.length > 0) levels.push({ index, devices });
    }
  }
  return levels.sort((a, b) => a.index - b.index);
}

function levelMatches(lvl: RawElement, target: string, nodeAttrs: Record<string, string>): boolean {
  const a = lvl.attrs;
  if (a['target'] !== undefined) return a['target'] === target;
  if (a['target-pattern'] !== undefined) {
    try {
      return new RegExp(a['target-pattern']).test(target);
    } catch {
      return false;
    }
  }
  if (a['target-attribute'] !== undefined) return nodeAttrs[a['target-attribute']] === a['target-value'];
  return false;
}

/** The agent action a request runs on DEV (pcmk_reboot_action and friends). */
export function agentAction(dev: FenceDevice, action: FenceRequestAction | 'monitor' | 'list' | 'status'): string {
  return dev.params[`pcmk_${action}_action`] || action;
}

/** The device's timeout for ACTION: pcmk_<action>_timeout, else stonith-timeout. */
export function actionTimeoutMs(dev: FenceDevice, action: string, stonithTimeoutMs: number): number {
  const ms = parseDurationMs(dev.params[`pcmk_${action}_timeout`], stonithTimeoutMs);
  return Number.isFinite(ms) && ms > 0 ? ms : stonithTimeoutMs;
}

/** pcmk_delay_base + a random share of (pcmk_delay_max - base), in ms. */
export function deviceDelayMs(dev: FenceDevice, random: number): number {
  const base = parseDurationMs(dev.params['pcmk_delay_base'], 0) || 0;
  const max = parseDurationMs(dev.params['pcmk_delay_max'], 0) || 0;
  if (max <= base) return base;
  return base + Math.floor(random * (max - base + 1));
}

/**
 * The parameters an agent gets on stdin: the device's own (pcmk_* are the
 * fencer's, not the agent's), plus the target as `plug` (or the name
 * pcmk_host_argument gives, "none" for no such argument) and `nodename`.
 */
export function agentParams(dev: FenceDevice, target: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(dev.params)) if (!k.startsWith('pcmk_')) out[k] = v;
  if (target !== undefined) {
    const arg = dev.params['pcmk_host_argument'] ?? 'plug';
    if (arg !== 'none') out[arg] = portFor(dev, target);
    out['nodename'] = target;
  }
  return out;
}

/**
 * Pacemaker's node_priority_fencing_delay: delay fencing of TARGET by
 * priority-fencing-delay when it holds the most resource priority, and its
 * partition is not a majority and not all nodes are equal. `priorities` is
 * each node's summed resource priority, `online` whether the node is in our
 * partition.
 */
export function priorityDelayMs(
  target: string,
  nodes: ReadonlyArray<{ name: string; online: boolean; priority: number }>,
  delayMs: number,
): number {
  if (delayMs <= 0) return 0;
  const t = nodes.find((n) => n.name === target);
  if (!t || t.online) return 0;
  const online = nodes.filter((n) => n.online).length;
  if (online > Math.floor(nodes.length / 2)) return 0;
  const top = Math.max(...nodes.map((n) => n.priority));
  const low = Math.min(...nodes.map((n) => n.priority));
  if (top === low || t.priority < top) return 0;
  return delayMs;
}

/** One request walked through its devices: list, then run, level by level. */
export type FenceStep =
  | { kind: 'list'; device: FenceDevice; timeoutMs: number }
  | { kind: 'run'; device: FenceDevice; agentAction: string; params: Record<string, string>; timeoutMs: number; delayMs: number }
  | { kind: 'done'; ok: boolean; devices: string[]; reason?: string };

export interface FenceRequestSpec {
  target: string;
  action: FenceRequestAction;
  /** In [0, 1): pcmk_delay_max's share. */
  random: number;
  priorityDelayMs: number;
}

export class FenceOperation {
  private readonly devices: Map<string, FenceDevice>;
  private readonly lists = new Map<string, string[] | 'failed'>();
  private readonly levels: string[][];
  private readonly topology: boolean;
  private level = 0;
  /** Index of the next device to run in the current level. */
  private pos = 0;
  private delayed = false;
  private readonly used: string[] = [];
  private readonly failures: string[] = [];
  private finished: Extract<FenceStep, { kind: 'done' }> | undefined;

  constructor(
    readonly request: FenceRequestSpec,
    devices: FenceDevice[],
    topology: TopologyLevel[],
    private readonly options: FencingOptions,
  ) {
    this.devices = new Map(devices.map((d) => [d.id, d]));
    this.topology = topology.length > 0;
    if (this.topology) {
      this.levels = topology.map((l) => l.devices);
    } else {
      // Without a topology: every device that may fence the target, by priority, one at a time.
      const ordered = [...devices].filter((d) => !d.disabled).sort((a, b) => b.priority - a.priority || (a.id < b.id ? -1 : 1));
      this.levels = ordered.map((d) => [d.id]);
    }
  }

  /** What to do next. */
  next(): FenceStep {
    if (this.finished) return this.finished;
    for (;;) {
      const level = this.levels[this.level];
      if (!level) return this.finish(false, this.failures.length > 0 ? this.failures.join('; ') : `no fence device can fence ${this.request.target}`);
      const id = level[this.pos];
      if (id === undefined) return this.finish(true);
      const dev = this.devices.get(id);
      if (!dev) {
        this.failLevel(`fencing level ${this.level + 1}: device ${id} does not exist`);
        continue;
      }
      const list = this.lists.get(id);
      const can = canFence(dev, this.request.target, list === 'failed' ? undefined : list);
      if (can === 'ask' && list !== 'failed') return { kind: 'list', device: dev, timeoutMs: actionTimeoutMs(dev, 'list', this.options.timeoutMs) };
      // A device whose list cannot be read is tried anyway, as with pcmk_host_check=none.
      if (can === 'no' && !this.topology) {
        this.failLevel('');
        continue;
      }
      if (can === 'no') {
        this.failLevel(`${id} cannot fence ${this.request.target}`);
        continue;
      }
      let delayMs = 0;
      if (!this.delayed) {
        // Once per request, before the first device runs.
        this.delayed = true;
        delayMs = this.request.priorityDelayMs + deviceDelayMs(dev, this.request.random);
      }
      return {
        kind: 'run',
        device: dev,
        agentAction: agentAction(dev, this.request.action),
        params: agentParams(dev, this.request.target),
        timeoutMs: actionTimeoutMs(dev, this.request.action, this.options.timeoutMs),
        delayMs,
      };
    }
  }

  onList(deviceId: string, result: { rc: number; stdout: string; timedOut: boolean }): void {
    this.lists.set(deviceId, result.rc === 0 && !result.timedOut ? parseList(result.stdout) : 'failed');
  }

  onRun(deviceId: string, result: { rc: number; stderr: string; timedOut: boolean }): void {
    if (this.finished) return;
    if (result.rc === 0 && !result.timedOut) {
      this.used.push(deviceId);
      this.pos++;
      return;
    }
    const why = result.timedOut ? 'timed out' : `returned ${result.rc}${lastLine(result.stderr) ? ` (${lastLine(result.stderr)})` : ''}`;
    this.failLevel(`${deviceId} ${why}`);
  }

  private failLevel(reason: string): void {
    if (reason) this.failures.push(reason);
    this.level++;
    this.pos = 0;
    this.used.length = 0;
  }

  private finish(ok: boolean, reason?: string): Extract<FenceStep, { kind: 'done' }> {
    this.finished = ok ? { kind: 'done', ok, devices: [...this.used] } : { kind: 'done', ok, devices: [...this.used], reason: reason ?? 'failed' };
    return this.finished;
  }
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

/** The node that runs the devices: the requester unless it is the target, else the lowest other member. */
export function chooseExecutor(members: readonly number[], requester: number, targetId: number | undefined): number | undefined {
  if (requester !== targetId && members.includes(requester)) return requester;
  return [...members].sort((a, b) => a - b).find((id) => id !== targetId);
}
