/**
 * The executor: runs agent actions for resources. Operations on one
 * resource run one at a time, in the order asked; different resources run in
 * parallel up to `maxConcurrent`. Recurring monitors re-run every interval
 * and report the first result and then only changes.
 */
import { BELAY_PROVIDER, formatAgentSpec, parseAgentSpec, type AgentSpec } from './agent-id.js';
import { buildAgentEnv } from './env.js';
import { parseMetadata, prepareParams, uniqueConflicts, type AgentMetadata } from './metadata.js';
import {
  classifyResult,
  lsbToOcf,
  normalizeOcfRc,
  OCF_ERR_CONFIGURED,
  OCF_ERR_GENERIC,
  OCF_ERR_INSTALLED,
  OCF_ERR_PERM,
  OCF_ERR_UNIMPLEMENTED,
  OCF_SUCCESS,
  rcName,
  type ExecStatus,
  type ResultClass,
} from './rc.js';
import { operationKey, shouldReportRecurring } from './recurring.js';
import { defaultSearchPath, resolveAgent, type ResolvedAgent, type SearchPath } from './resolve.js';
import { runAgentProcess, type RunResult } from './run.js';

/** Pacemaker's default operation timeout. */
export const DEFAULT_OP_TIMEOUT_MS = 20_000;
/** Meta-data is small; a megabyte is already absurd. */
const METADATA_MAX_BYTES = 1024 * 1024;

export interface ExecutorOptions {
  search?: SearchPath;
  /** Operations of different resources running at once (default 4). */
  maxConcurrent?: number;
  killGraceMs?: number;
  maxOutputBytes?: number;
  /** Command in front of every agent, e.g. ['ip', 'netns', 'exec', NS]. */
  prefix?: string[];
  /** Extra environment for agents (PATH etc.). */
  baseEnv?: Record<string, string>;
}

export interface OperationRequest {
  rscId: string;
  /** 'ocf:PROVIDER:TYPE', 'lsb:NAME', or a parsed spec. */
  agent: string | AgentSpec;
  action: string;
  params?: Record<string, string>;
  meta?: Record<string, string>;
  timeoutMs?: number;
  intervalMs?: number;
  depth?: number;
  expectedRc?: number;
  /** Check required/unique parameters against meta-data before start (default true). */
  checkParams?: boolean;
}

export interface OperationResult {
  callId: number;
  rscId: string;
  action: string;
  intervalMs: number;
  agent: string;
  /** The file that ran (absent when none was found). */
  path?: string;
  /** OCF rc as Pacemaker records it (0–9, 190, 191). */
  rc: number;
  rcName: string;
  /** The agent's real exit code (null when killed by a signal or not run). */
  exitCode: number | null;
  signal: string | null;
  status: ExecStatus;
  result: ResultClass;
  /** Last `ocf-exit-reason:` line the agent printed, or the executor's own reason. */
  exitReason?: string;
  stdout: string;
  stderr: string;
  outputTruncated: boolean;
  warnings: string[];
  startedAt: number;
  durationMs: number;
  /** Pid (and process group) of the agent process, when one ran. */
  pid?: number;
}

export type RecurringListener = (result: OperationResult) => void;

interface RecurringOp {
  key: string;
  request: OperationRequest;
  listener: RecurringListener;
  timer?: NodeJS.Timeout;
  last?: { rc: number; status: ExecStatus };
  cancelled: boolean;
}

const LSB_ACTIONS = new Set(['start', 'stop', 'restart', 'status', 'monitor', 'force-reload', 'reload']);
/** Actions whose parameters must be complete and valid. */
const CHECKED_ACTIONS = new Set(['start', 'validate-all', 'reload', 'reload-agent', 'promote', 'migrate_from']);

export class Executor {
  private readonly search: SearchPath;
  private readonly maxConcurrent: number;
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly chains = new Map<string, Promise<unknown>>();
  private readonly recurring = new Map<string, RecurringOp>();
  private readonly metadataCache = new Map<string, AgentMetadata | null>();
  /** Parameters of resources this executor started, by agent path (for unique checks). */
  private readonly active = new Map<string, Map<string, Record<string, string>>>();
  private nextCallId = 1;
  private closed = false;

  constructor(private readonly options: ExecutorOptions = {}) {
    this.search = options.search ?? defaultSearchPath();
    this.maxConcurrent = Math.max(1, options.maxConcurrent ?? 4);
  }

  resolve(agent: string | AgentSpec): ResolvedAgent | undefined {
    const spec = typeof agent === 'string' ? parseAgentSpec(agent) : agent;
    return resolveAgent(spec, this.search);
  }

  /** Run one operation (queued behind earlier ones of the same resource). */
  execute(req: OperationRequest): Promise<OperationResult> {
    // A stop ends every recurring operation of the resource; a role change
    // ends the old role's monitor (as Pacemaker cancels it before promote or
    // demote): an Unpromoted monitor on a Promoted instance would see rc 8 as
    // a failure. The transition starts the new role's monitor afterwards.
    if (req.action === 'stop' || req.action === 'promote' || req.action === 'demote') this.cancelRecurring(req.rscId);
    return this.serialise(req.rscId, () => this.withSlot(() => this.runOnce(req)));
  }

  /**
   * Start a recurring operation (monitor with intervalMs > 0). The first
   * run happens at once; `listener` hears the first result and each change.
   * Returns the operation key; starting the same key again replaces it.
   */
  startRecurring(req: OperationRequest, listener: RecurringListener): string {
    const interval = req.intervalMs ?? 0;
    if (interval <= 0) throw new Error(`recurring ${req.action} of ${req.rscId} needs an interval > 0`);
    const key = operationKey(req.rscId, req.action, interval);
    this.cancelKey(key);
    const op: RecurringOp = { key, request: req, listener, cancelled: false };
    this.recurring.set(key, op);
    this.tick(op);
    return key;
  }

  /** Cancel recurring operations of a resource (all, or one action/interval). */
  cancelRecurring(rscId: string, action?: string, intervalMs?: number): number {
    let n = 0;
    for (const op of [...this.recurring.values()]) {
      const r = op.request;
      if (r.rscId !== rscId) continue;
      if (action !== undefined && r.action !== action) continue;
      if (intervalMs !== undefined && (r.intervalMs ?? 0) !== intervalMs) continue;
      this.cancelKey(op.key);
      n++;
    }
    return n;
  }

  recurringKeys(): string[] {
    return [...this.recurring.keys()];
  }

  /** Stop every recurring operation; running ones finish. */
  close(): void {
    this.closed = true;
    for (const key of [...this.recurring.keys()]) this.cancelKey(key);
  }

  /** The agent's parsed meta-data (cached per file), or undefined if it has none usable. */
  async metadata(agent: string | AgentSpec): Promise<AgentMetadata | undefined> {
    const resolved = this.resolve(agent);
    if (!resolved) return undefined;
    return (await this.loadMetadata(resolved)).meta;
  }

  private cancelKey(key: string): void {
    const op = this.recurring.get(key);
    if (!op) return;
    op.cancelled = true;
    clearTimeout(op.timer);
    this.recurring.delete(key);
  }

  private tick(op: RecurringOp): void {
    if (op.cancelled || this.closed) return;
    void this.execute(op.request).then((result) => {
      if (op.cancelled || this.closed) return;
      if (shouldReportRecurring(op.last, result)) {
        op.last = { rc: result.rc, status: result.status };
        try {
          op.listener(result);
        } catch {
          /* a listener's bug must not stop the monitor */
        }
      }
      // Next run one interval after this one finished, as Pacemaker schedules it.
      op.timer = setTimeout(() => this.tick(op), op.request.intervalMs ?? 0);
    });
  }

  private serialise<T>(rscId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.chains.get(rscId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.then(
      () => undefined,
      () => undefined,
    );
    this.chains.set(rscId, tail);
    void tail.then(() => {
      if (this.chains.get(rscId) === tail) this.chains.delete(rscId);
    });
    return next;
  }

  private async withSlot<T>(fn: () => Promise<T>): Promise<T> {
    if (this.running >= this.maxConcurrent) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return await fn();
    } finally {
      const wake = this.waiting.shift();
      if (wake) wake(); // the slot passes straight on
      else this.running--;
    }
  }

  private async loadMetadata(resolved: ResolvedAgent): Promise<{ meta?: AgentMetadata; warning?: string }> {
    if (this.metadataCache.has(resolved.path)) {
      const m = this.metadataCache.get(resolved.path);
      return m ? { meta: m } : { warning: `no usable meta-data from ${resolved.path}` };
    }
    if (resolved.spec.class !== 'ocf') return {};
    const env = buildAgentEnv({
      spec: resolved.spec,
      ocfRoot: resolved.root,
      provider: resolved.provider,
      instance: resolved.spec.type,
      params: {},
      timeoutMs: 10_000,
      intervalMs: 0,
      action: 'meta-data',
      base: this.options.baseEnv,
    });
    const run = await runAgentProcess({
      file: resolved.path,
      args: ['meta-data'],
      env,
      timeoutMs: 10_000,
      killGraceMs: this.options.killGraceMs,
      maxOutputBytes: METADATA_MAX_BYTES,
      prefix: this.options.prefix,
    });
    let meta: AgentMetadata | null = null;
    let warning: string | undefined;
    if (run.exitCode === 0 && !run.stdoutTruncated) {
      try {
        meta = parseMetadata(run.stdout);
      } catch (e) {
        warning = `${resolved.path}: ${(e as Error).message}`;
      }
    } else {
      warning = `${resolved.path} meta-data failed (exit ${run.exitCode ?? run.signal ?? run.spawnError})`;
    }
    // Cache successes only: a failure may be transient (timeout, load).
    if (meta) this.metadataCache.set(resolved.path, meta);
    return meta ? { meta } : { warning: warning ?? 'no meta-data' };
  }

  private async runOnce(req: OperationRequest): Promise<OperationResult> {
    const callId = this.nextCallId++;
    const startedAt = Date.now();
    const intervalMs = req.intervalMs ?? 0;
    const timeoutMs = req.timeoutMs ?? DEFAULT_OP_TIMEOUT_MS;
    const warnings: string[] = [];
    let spec: AgentSpec;
    const base = {
      callId,
      rscId: req.rscId,
      action: req.action,
      intervalMs,
      startedAt,
      warnings,
    };
    const early = (rc: number, status: ExecStatus, reason: string, agent: string, path?: string): OperationResult => {
      const r: OperationResult = {
        ...base,
        agent,
        rc,
        rcName: rcName(rc),
        exitCode: null,
        signal: null,
        status,
        result: classifyResult({ action: req.action, intervalMs, rc, status, expectedRc: req.expectedRc }),
        exitReason: reason,
        stdout: '',
        stderr: '',
        outputTruncated: false,
        durationMs: Date.now() - startedAt,
      };
      if (path !== undefined) r.path = path;
      return r;
    };

    try {
      spec = typeof req.agent === 'string' ? parseAgentSpec(req.agent) : req.agent;
    } catch (e) {
      return early(OCF_ERR_CONFIGURED, 'error', (e as Error).message, String(req.agent));
    }
    const agentName = formatAgentSpec(spec);
    const resolved = resolveAgent(spec, this.search);
    if (!resolved) {
      const where = spec.class === 'ocf' ? this.search.ocfRoots.join(', ') : this.search.lsbDirs.join(', ');
      return early(OCF_ERR_INSTALLED, 'not-installed', `agent ${agentName} not found (searched ${where})`, agentName);
    }

    let params = { ...(req.params ?? {}) };
    if (spec.class === 'lsb') {
      if (!LSB_ACTIONS.has(req.action)) {
        return early(OCF_ERR_UNIMPLEMENTED, 'done', `LSB scripts have no '${req.action}' action`, agentName, resolved.path);
      }
    } else if (req.action !== 'meta-data') {
      const { meta, warning } = await this.loadMetadata(resolved);
      if (warning) warnings.push(warning);
      if (meta) {
        // Pacemaker passes only configured parameters, and some stock agents'
        // meta-data defaults are prose (apache's testregex), so meta-data
        // defaults are applied to belay's own agents only.
        const prepared = prepareParams(meta, params, resolved.provider === BELAY_PROVIDER);
        params = prepared.params;
        const check = req.checkParams !== false && CHECKED_ACTIONS.has(req.action);
        if (check) {
          warnings.push(...prepared.warnings);
          const errors = [...prepared.errors];
          if (req.action === 'start') {
            errors.push(...uniqueConflicts(meta, req.rscId, params, this.active.get(resolved.path) ?? new Map()));
          }
          if (errors.length) return early(OCF_ERR_CONFIGURED, 'done', errors.join('; '), agentName, resolved.path);
        }
      }
    }

    let env: Record<string, string>;
    try {
      env = buildAgentEnv({
        spec,
        ocfRoot: resolved.root,
        provider: resolved.provider,
        instance: req.rscId,
        params: spec.class === 'ocf' ? params : {},
        meta: req.meta,
        timeoutMs,
        intervalMs,
        depth: req.depth,
        action: req.action,
        base: this.options.baseEnv,
      });
    } catch (e) {
      return early(OCF_ERR_CONFIGURED, 'done', (e as Error).message, agentName, resolved.path);
    }

    const lsbAction = req.action === 'monitor' ? 'status' : req.action;
    const run = await runAgentProcess({
      file: resolved.path,
      args: [spec.class === 'lsb' ? lsbAction : req.action],
      env,
      timeoutMs,
      killGraceMs: this.options.killGraceMs,
      maxOutputBytes: req.action === 'meta-data' ? METADATA_MAX_BYTES : this.options.maxOutputBytes,
      prefix: this.options.prefix,
    });
    const result = this.interpret(req, spec, agentName, resolved, run, base);
    this.track(req, resolved, params, result);
    return result;
  }

  private interpret(
    req: OperationRequest,
    spec: AgentSpec,
    agentName: string,
    resolved: ResolvedAgent,
    run: RunResult,
    base: { callId: number; rscId: string; action: string; intervalMs: number; startedAt: number; warnings: string[] },
  ): OperationResult {
    let status: ExecStatus = 'done';
    let rc: number;
    let exitReason = lastExitReason(run.stderr);
    if (run.timedOut) {
      status = 'timeout';
      rc = OCF_ERR_GENERIC;
      exitReason = `${req.action} timed out after ${req.timeoutMs ?? DEFAULT_OP_TIMEOUT_MS}ms; process group killed`;
    } else if (run.spawnError !== undefined) {
      status = run.spawnError === 'ENOENT' ? 'not-installed' : 'error';
      rc = run.spawnError === 'ENOENT' ? OCF_ERR_INSTALLED : run.spawnError === 'EACCES' ? OCF_ERR_PERM : OCF_ERR_GENERIC;
      exitReason = `could not run ${resolved.path}: ${run.spawnError}`;
    } else {
      rc = spec.class === 'lsb' ? lsbToOcf(req.action, run.exitCode) : normalizeOcfRc(run.exitCode);
      if (run.exitCode === null && run.signal) {
        exitReason ??= `agent killed by ${run.signal}`;
      } else if (run.exitCode !== null && spec.class === 'ocf' && rc !== run.exitCode) {
        base.warnings.push(`agent exited with ${run.exitCode}, outside the OCF range; recorded as ${rcName(rc)}`);
      }
    }
    const r: OperationResult = {
      ...base,
      agent: agentName,
      path: resolved.path,
      rc,
      rcName: rcName(rc),
      exitCode: run.exitCode,
      signal: run.signal,
      status,
      result: classifyResult({ action: req.action, intervalMs: base.intervalMs, rc, status, expectedRc: req.expectedRc }),
      stdout: run.stdout,
      stderr: run.stderr,
      outputTruncated: run.stdoutTruncated || run.stderrTruncated,
      durationMs: run.durationMs,
    };
    if (exitReason !== undefined) r.exitReason = exitReason;
    if (run.pid !== undefined) r.pid = run.pid;
    if (r.outputTruncated) {
      base.warnings.push(`output truncated (${run.stdoutBytes} bytes on stdout, ${run.stderrBytes} on stderr)`);
    }
    return r;
  }

  /** Remember which resources are running, for unique-parameter checks. */
  private track(req: OperationRequest, resolved: ResolvedAgent, params: Record<string, string>, r: OperationResult): void {
    let byRsc = this.active.get(resolved.path);
    if (req.action === 'start' && r.status === 'done' && r.rc === OCF_SUCCESS) {
      if (!byRsc) this.active.set(resolved.path, (byRsc = new Map()));
      byRsc.set(req.rscId, params);
    } else if (req.action === 'stop' && r.result.ok) {
      byRsc?.delete(req.rscId);
    }
  }
}

/** Agents explain failures with `ocf-exit-reason:TEXT` on stderr; Pacemaker keeps the last. */
export function lastExitReason(stderr: string): string | undefined {
  let found: string | undefined;
  for (const line of stderr.split('\n')) {
    const i = line.indexOf('ocf-exit-reason:');
    if (i >= 0) found = line.slice(i + 'ocf-exit-reason:'.length).trim();
  }
  return found === '' ? undefined : found;
}
