/**
 * Running a fence agent as Pacemaker's fencer does: the agent's own
 * parameters, `action=` and the target (`plug=`/`port=`, `nodename=`) go to
 * its stdin as key=value lines, never onto a command line (where `ps` shows
 * passwords) nor into the environment. The agent leads its own process
 * group; on timeout the whole group is killed.
 *
 * Agents are the fence-agents package's (/usr/sbin/fence_*) and belay's own
 * (agents/fence/, e.g. fence_belay_lab, the lab's power switch).
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { BELAY_OCF_ROOT } from '../executor/resolve.js';
import { DEFAULT_AGENT_PATH } from '../executor/env.js';
import { parseMetadata, type AgentMetadata, type ParameterMeta } from '../executor/metadata.js';
import { runAgentProcess } from '../executor/run.js';

export type FenceAction = 'reboot' | 'off' | 'on' | 'status' | 'list' | 'monitor' | 'metadata';

export const FENCE_ACTIONS: readonly FenceAction[] = ['reboot', 'off', 'on', 'status', 'list', 'monitor', 'metadata'];

export interface FenceAgentResult {
  /**
   * The agent's exit code (fence-agents: 0 success, 1 error, 2 for `status`
   * of a plug that is off). 127: no such agent; 126: it could not be run or
   * a parameter could not be passed; 128+N: killed by signal N. Meaningless
   * when timedOut.
   */
  rc: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

/** belay's own fence agents: agents/fence/ beside the OCF agents. */
export const BELAY_FENCE_DIR = join(BELAY_OCF_ROOT, 'fence');
/** Where the fence-agents package installs its agents (Pacemaker's RH_STONITH_DIR). */
export const SYSTEM_FENCE_DIR = '/usr/sbin';

/** Exit code of fence-agents for `status` of a plug that is powered off. */
export const FENCE_RC_OFF = 2;
export const FENCE_RC_NOT_FOUND = 127;
export const FENCE_RC_CANNOT_RUN = 126;

const AGENT_NAME_RE = /^fence_[A-Za-z0-9_.+-]+$/;
/** Parameter names as fence-agents read them from stdin. */
const PARAM_NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** After a timeout's SIGTERM, the group gets this long before SIGKILL. */
const KILL_GRACE_MS = 1000;

/**
 * The directories searched for fence agents, in order: belay's own first,
 * then the system's. BELAY_FENCE_DIRS (colon-separated) replaces them.
 */
export function fenceAgentDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.BELAY_FENCE_DIRS;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.split(':').filter(Boolean).map((d) => resolvePath(d));
  return [BELAY_FENCE_DIR, SYSTEM_FENCE_DIR];
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function isFenceAgentName(agent: string): boolean {
  return AGENT_NAME_RE.test(agent);
}

/** 'fence_dummy' -> '/usr/sbin/fence_dummy'; 'fence_belay_lab' -> agents/fence/fence_belay_lab; unknown -> undefined. */
export function fenceAgentPath(agent: string): string | undefined {
  if (!isFenceAgentName(agent)) return undefined;
  for (const dir of fenceAgentDirs()) {
    const path = join(dir, agent);
    if (isExecutableFile(path)) return path;
  }
  return undefined;
}

/** Every fence agent installed (`crm ra list stonith`), sorted, each name once. */
export function listFenceAgents(): string[] {
  const names = new Set<string>();
  for (const dir of fenceAgentDirs()) {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of entries) if (isFenceAgentName(name) && isExecutableFile(join(dir, name))) names.add(name);
  }
  return [...names].sort();
}

/**
 * The stdin text for one run: `action=` first, then the parameters in the
 * order given. A value holding a line break would smuggle a second
 * parameter in, so it is refused, as are names that are not names.
 * `action` among the parameters is dropped: the action asked for wins.
 */
export function fenceAgentInput(action: string, params: Record<string, string>): string {
  const lines = [`action=${action}`];
  for (const [name, value] of Object.entries(params)) {
    if (name === 'action') continue;
    if (!PARAM_NAME_RE.test(name)) throw new Error(`bad fence agent parameter name '${name}'`);
    if (/[\r\n\0]/.test(value)) throw new Error(`fence agent parameter '${name}' holds a line break or NUL`);
    lines.push(`${name}=${value}`);
  }
  return `${lines.join('\n')}\n`;
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/** Run one action of a fence agent and wait for it (never rejects). */
export async function runFenceAgent(
  agent: string,
  action: FenceAction,
  params: Record<string, string>,
  opts: { timeoutMs: number },
): Promise<FenceAgentResult> {
  const started = Date.now();
  const fail = (rc: number, why: string): FenceAgentResult => ({ rc, stdout: '', stderr: `${why}\n`, timedOut: false, durationMs: Date.now() - started });
  const path = fenceAgentPath(agent);
  if (path === undefined) {
    return fail(FENCE_RC_NOT_FOUND, `fence agent '${agent}' not found (looked in ${fenceAgentDirs().join(', ')})`);
  }
  let input: string;
  try {
    input = fenceAgentInput(action, params);
  } catch (e) {
    return fail(FENCE_RC_CANNOT_RUN, (e as Error).message);
  }
  const r = await runAgentProcess({
    file: path,
    args: [],
    // Nothing of the device's configuration here: only what any daemon has.
    env: { PATH: DEFAULT_AGENT_PATH, LANG: 'C.UTF-8' },
    input,
    timeoutMs: opts.timeoutMs,
    killGraceMs: KILL_GRACE_MS,
  });
  let rc: number;
  if (r.spawnError !== undefined) rc = r.spawnError === 'ENOENT' ? FENCE_RC_NOT_FOUND : FENCE_RC_CANNOT_RUN;
  else if (r.exitCode !== null) rc = r.exitCode;
  else rc = 128 + (r.signal ? (SIGNAL_NUMBERS[r.signal] ?? 0) : 0);
  const stderr = r.spawnError !== undefined ? `${r.stderr}cannot run ${path}: ${r.spawnError}\n` : r.stderr;
  return { rc, stdout: r.stdout, stderr, timedOut: r.timedOut, durationMs: r.durationMs };
}

export interface FenceListEntry {
  /** What the agent wants as plug= (a VM name, an outlet number, a host). */
  plug: string;
  alias?: string;
  /** From `list-status`: ON, OFF or UNKNOWN. */
  status?: string;
}

/**
 * The output of `list` (or `list-status`): one "plug,alias[,status]" line
 * per target, as fence-agents print it. Lines that are an agent's notices
 * or errors rather than targets are skipped.
 */
export function parseFenceList(stdout: string): FenceListEntry[] {
  const out: FenceListEntry[] = [];
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '' || line === 'N/A' || /^(NOTICE|WARNING|ERROR|Failed|Success|Status)\b/i.test(line)) continue;
    if (/\binvalid\b|\bvariable\b/i.test(line)) continue; // Pacemaker skips these too
    const [plug, alias, status] = line.split(',').map((f) => f.trim());
    if (!plug || /\s/.test(plug)) continue;
    const e: FenceListEntry = { plug };
    if (alias) e.alias = alias;
    if (status) e.status = status.toUpperCase();
    out.push(e);
  }
  return out;
}

/** The targets a `list` names (plugs and aliases), for pcmk_host_check=dynamic-list. */
export function fenceListTargets(stdout: string): string[] {
  const set = new Set<string>();
  for (const e of parseFenceList(stdout)) {
    set.add(e.plug);
    if (e.alias) set.add(e.alias);
  }
  return [...set];
}

export interface FenceAgentMetadata extends AgentMetadata {
  /** Whether the agent takes a target (a `port` or `plug` parameter); Pacemaker's pcmk_host_argument=none otherwise. */
  hostArgument?: 'port' | 'plug';
}

/**
 * An agent's `metadata` output. fence-agents put shortdesc in an attribute
 * of <resource-agent> and list parameters with <getopt>; the OCF parser
 * reads both shapes.
 */
export function parseFenceMetadata(xml: string): FenceAgentMetadata {
  const meta: FenceAgentMetadata = parseMetadata(xml);
  const names = new Set(meta.parameters.map((p) => p.name));
  if (names.has('port')) meta.hostArgument = 'port';
  else if (names.has('plug')) meta.hostArgument = 'plug';
  return meta;
}

function fencerParam(name: string, type: string, dflt: string | undefined, shortdesc: string, longdesc = ''): ParameterMeta {
  const p: ParameterMeta = { name, required: false, unique: false, reloadable: false, deprecated: false, type, shortdesc, longdesc };
  if (dflt !== undefined) p.default = dflt;
  return p;
}

const perAction = (action: string): ParameterMeta[] => [
  fencerParam(`pcmk_${action}_action`, 'string', action, `Advanced use only: an alternate command to run instead of '${action}'`,
    `For devices that do not support the standard '${action}' command; the agent is run with this action instead.`),
  fencerParam(`pcmk_${action}_timeout`, 'time', '60s', `Advanced use only: timeout for '${action}' instead of stonith-timeout`),
  fencerParam(`pcmk_${action}_retries`, 'integer', '2', `Advanced use only: how many times '${action}' is retried within the timeout`),
];

/**
 * The instance attributes every stonith-class resource has besides its
 * agent's own: those the fencer reads (Pacemaker's pacemaker-fenced
 * metadata), shown by `crm ra info stonith:...`.
 */
export const FENCER_PARAMETERS: readonly ParameterMeta[] = [
  fencerParam('pcmk_host_argument', 'string', 'port', "Advanced use only: the agent parameter that names the target, instead of 'port'",
    "Some devices take the target under another name; 'none' passes no target at all. By default 'port', or 'plug' when the agent's metadata has no 'port'."),
  fencerParam('pcmk_host_map', 'string', undefined, 'Map of node names to the device\'s port names, for devices that do not know node names',
    'Eg. node1:1;node2:2,3 fences node1 through port 1 and node2 through ports 2 and 3.'),
  fencerParam('pcmk_host_list', 'string', undefined, 'Eg. node1,node2,node3', 'The nodes this device can fence (used with pcmk_host_check=static-list).'),
  fencerParam('pcmk_host_check', 'string', 'dynamic-list', 'How to determine which nodes the device can fence',
    "static-list: pcmk_host_list; dynamic-list: ask the device with its 'list' command; status: ask with 'status'; none: every node. Default: static-list when pcmk_host_list or pcmk_host_map is set, else dynamic-list if the agent has 'list'."),
  fencerParam('pcmk_delay_base', 'string', '0s', 'A fixed delay before fencing with this device (or a per-node map: node1:1s;node2:5)',
    'Keeps two nodes that lost each other from fencing each other at the same moment ("death match").'),
  fencerParam('pcmk_delay_max', 'time', '0s', 'A random delay of at most this much before fencing with this device (on top of pcmk_delay_base)'),
  fencerParam('pcmk_action_limit', 'integer', '1', 'How many actions may run on this device at once (-1: no limit)'),
  ...perAction('reboot'),
  ...perAction('off'),
  ...perAction('on'),
  ...perAction('list'),
  ...perAction('monitor'),
  ...perAction('status'),
];
