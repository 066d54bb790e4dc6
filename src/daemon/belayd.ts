/**
 * belayd, the shell around the controller core: totem in and out, the local
 * executor, the admin socket, the CIB on disk, timers. Every decision is the
 * core's (src/controller/core.ts); this file only carries things across.
 */
import { availableParallelism } from 'node:os';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { copyFile, rename } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { emptyCib, type Cib, type Configuration } from '../cib/model.js';
import { cibToXml, parseCibXml } from '../cib/xml.js';
import { ControllerCore, needsSafeDelivery, type ClusterMessage, type CoreOutput, type LocalExec, type LocalResult, type SchedulePort, type ScheduleResult } from '../controller/core.js';
import { fragment, Reassembler } from '../controller/fragment.js';
import { checkConfiguration, validateClusterMessage } from '../controller/message-schema.js';
import { compareVersions, versionOf, type CibVersion } from '../controller/replica.js';
import type { ResolvedAction } from '../controller/resource-info.js';
import type { Executor, OperationRequest, OperationResult } from '../executor/executor.js';
import { atomicWriteFile } from '../lib/atomic-write.js';
import { unpack } from '../scheduler/index.js';
import { AdminError, AdminServer, type AdminConnection, type AdminRequest } from '../admin/socket.js';
import type { ClusterConfig, ClusterNode } from './config.js';
import { StepTimer } from './step-timer.js';
import { VipManager, type VipOpResult } from './vip-manager.js';
import { FencerShell } from './fencer-shell.js';
import { BelaydMetrics, type DaemonSnapshot } from '../metrics/daemon.js';
import { AlertDispatcher } from '../alerts/daemon.js';
import { fencingRecords, type FenceHistoryLike } from '../alerts/events.js';
import { tlsFiles, WebConsole } from '../web/server.js';

/** What belayd needs from totem: agreed-order broadcast, membership and quorum. */
export interface ClusterTransport {
  /** Largest payload one send may carry. */
  readonly maxPayload: number;
  start(handlers: {
    /** transitional: delivered in a transitional configuration (EVS), not known to have reached every member. */
    deliver(from: number, payload: Uint8Array, transitional: boolean): void;
    /** A regular configuration change, with the quorum it gives. */
    membership(ringId: string, members: number[], quorate: boolean): void;
  }): Promise<void>;
  /** safe: deliver only once every member holds it (configuration changes). */
  send(payload: Uint8Array, safe: boolean): void;
  /** Ring status (as `belay ring status` shows it), with its quorum part. */
  status(): { quorum?: unknown } & Record<string, unknown>;
  stop(): Promise<void>;
}

/** The scheduler run off the event loop (src/daemon/scheduler-thread.ts). */
export interface AsyncScheduler {
  run(id: number, cib: Cib, nowSeconds: number): Promise<ScheduleResult>;
  /** The CIB as XML, off the event loop too. */
  toXml?(cib: Cib): Promise<string>;
  close(): Promise<void>;
}

export interface BelaydDeps {
  transport: ClusterTransport;
  executor: Executor;
  /** The scheduler: on a thread of its own (the daemon), or called in line (tests, tools). */
  schedule: SchedulePort | AsyncScheduler;
  log?: (line: string) => void;
  /** Seconds since the epoch (a seam for tests; the core never reads a clock). */
  now?: () => number;
}

/** Largest cluster message after reassembly. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** Compress messages above this size (a configuration compresses ~10×). */
const COMPRESS_ABOVE = 1024;
/** How many earlier CIB versions are kept beside cib.xml. */
const KEEP_VERSIONS = 5;
/** A synchronous step longer than this is logged: it holds totem's token too. */
const SLOW_STEP_MS = 50;
/**
 * Totem's deliveries wait in an inbox and are applied in slices of about
 * this long, with the event loop free in between: a burst (hundreds of
 * results after a big transition) never holds totem's own packets (the
 * token) for longer than one slice, so the ring does not re-form under load.
 */
const DRAIN_SLICE_MS = 10;
/** Tick the core this often: it re-runs the scheduler when cluster-recheck-interval or a failure-timeout is due. */
const RECHECK_MS = 1_000;

export class Belayd {
  readonly core: ControllerCore;
  private readonly reassembler = new Reassembler(MAX_MESSAGE_BYTES);
  private admin: AdminServer | undefined;
  private readonly pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();
  private readonly watchers = new Set<AdminConnection>();
  private requestSeq = 0;
  private tickQueued = false;
  private recheck: NodeJS.Timeout | undefined;
  private lastChange: { at: number; user?: string; client?: string; origin?: string } = { at: 0 };
  private stopped = false;
  readonly counters = { delivered: 0, sent: 0, badMessages: 0, executed: 0 };
  /** FloatIPs with a vrid: run here on the VRRP engine (src/daemon/vip-manager.ts). */
  private readonly vips: VipManager;
  private builtinCallId = 0;
  private readonly startedWith = new Map<string, ResolvedAction>();
  private readonly steps: StepTimer;
  private readonly scheduler: AsyncScheduler | undefined;
  private lastKind = '';
  /** Messages of a delivered batch not applied yet (they come before the rest of the inbox). */
  private unpacked: Array<{ msg: ClusterMessage; transitional: boolean }> = [];
  private unpackedHead = 0;
  /** Broadcasts of this turn of the event loop, sent together. */
  private readonly outbox: ClusterMessage[] = [];
  /** Deliveries and membership changes from totem, in agreed order, not yet applied. */
  private readonly inbox: InboxItem[] = [];
  private inboxHead = 0;
  private draining = false;
  /** Writes of cib.xml, one after another; the latest configuration is written. */
  private persistChain: Promise<void> = Promise.resolve();
  private persistQueued: Promise<void> | undefined;
  /** Fencing requests, fence devices and stonith_admin (src/daemon/fencer-shell.ts). */
  private readonly fencer: FencerShell;
  /** Prometheus metrics (src/metrics) and Pacemaker alerts (src/alerts): observers of every change. */
  private readonly metrics = new BelaydMetrics();
  private readonly alerts: AlertDispatcher;
  private web: WebConsole | undefined;

  constructor(
    readonly config: ClusterConfig,
    readonly self: ClusterNode,
    private readonly deps: BelaydDeps,
  ) {
    const nodes = config.nodes.map((n) => ({ id: n.id, name: n.name }));
    this.vips = new VipManager(
      { name: self.name, address: self.address },
      config.nodes.filter((n) => n.id !== self.id).map((n) => n.address),
      (line) => this.log(line),
    );
    this.scheduler = typeof deps.schedule === 'function' ? undefined : deps.schedule;
    // This run's tag in its transition keys (as Pacemaker's DC UUID): a restarted belayd numbers its transitions from 1 again.
    const incarnation = randomBytes(4).toString('hex');
    this.core = new ControllerCore({ id: self.id, name: self.name }, nodes, loadStoredCib(config, nodes), typeof deps.schedule === 'function' ? this.metrics.timed(deps.schedule) : undefined, incarnation, availableParallelism());
    this.steps = new StepTimer(SLOW_STEP_MS, (name, ms) => this.log(`slow step: ${name} took ${Math.round(ms)} ms (limit ${SLOW_STEP_MS} ms)`));
    this.fencer = new FencerShell({ log: (l) => this.log(l), core: () => this.core, handle: (out) => this.handle(out), now: () => this.now(), stopSelf: () => void this.stop() });
    // The fencing history (stonith_admin --history), for fencing alerts.
    this.alerts = new AlertDispatcher(new Map(nodes.map((n) => [n.id, n.name])), (line) => this.log(line), () => fencingRecords(this.core.fencingHistory));
  }

  /** The longest synchronous step and the event loop's delay (ring-status shows them). */
  stepStats() {
    return this.steps.stats();
  }

  private log(line: string): void {
    (this.deps.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(`belayd[${this.self.name}]: ${line}`);
  }

  private now(): number {
    return this.deps.now ? this.deps.now() : Math.floor(Date.now() / 1000);
  }

  async start(): Promise<void> {
    const adminGid = this.config.admin_group === undefined ? undefined : groupId(this.config.admin_group);
    this.admin = new AdminServer(this.config.admin_socket, (req, conn) => this.steps.time(`admin ${req.cmd}`, () => this.handleAdmin(req, conn)), {
      onBadRequest: (reason) => this.log(`admin: refused a request: ${reason}`),
      ...(adminGid === undefined ? {} : { adminGid }),
    });
    await this.admin.listen();
    if (this.config.metrics_listen) {
      const src = { snapshot: () => this.statusSnapshot() as DaemonSnapshot, ring: () => this.deps.transport.status(), counters: this.counters, nodes: this.config.nodes, alertsRun: () => this.alerts.runs };
      const at = await this.metrics.listen(this.config.metrics_listen, src);
      this.log(`metrics on http://${at.host}:${at.port}/metrics`);
    }
    if (this.config.web_listen) {
      const dir = dirname(this.config.file);
      const tls = tlsFiles(dir);
      this.web = new WebConsole({ clusterName: this.config.cluster_name, snapshot: () => this.statusSnapshot() as DaemonSnapshot, passwordFile: join(dir, 'web-users'), log: (l) => this.log(l), ...(tls ? { tls } : {}), ...(this.config.admin_group ? { adminGroup: this.config.admin_group } : {}) });
      const at = await this.web.listen(this.config.web_listen);
      this.log(`web console on ${at.tls ? 'https' : 'http'}://${at.host}:${at.port}/`);
    }
    await this.deps.transport.start({
      deliver: (from, payload, transitional) => this.enqueue({ from, payload, transitional }),
      membership: (ringId, members, quorate) => this.enqueue({ ringId, members, quorate }),
    });
    this.recheck = setInterval(() => this.queueTick(), RECHECK_MS);
    this.log(`started as node ${this.self.id} (${this.config.nodes.length} nodes configured)`);
  }

  /**
   * A clean leave, as Pacemaker's: ask the cluster to move this node's
   * resources away (the `shutdown` node attribute, which the scheduler
   * honours), wait until nothing runs here or `timeoutMs` passes, then stop.
   * Alone, or without quorum, there is nowhere to move to: stop at once.
   */
  async shutdown(timeoutMs = 60_000): Promise<void> {
    if (this.stopped) return;
    const others = this.core.membership.members.filter((id) => id !== this.self.id);
    if (others.length > 0 && this.core.membership.quorate) {
      this.log('shutting down: moving resources away first');
      this.handle(this.core.proposeAttribute(this.self.name, 'shutdown', String(this.now()), 'reboot'));
      const until = Date.now() + timeoutMs;
      while (Date.now() < until && !this.stopped && this.localResources().length > 0) await new Promise((r) => setTimeout(r, 100));
      const left = this.localResources();
      if (left.length > 0) this.log(`shutting down with resources still here after ${timeoutMs} ms: ${left.join(', ')}`);
    }
    if (others.length > 0) {
      // Tell the cluster this is a clean leave, so it is not fenced for it.
      this.handle(this.core.proposeLeave());
      for (const until = Date.now() + 5_000; Date.now() < until && !this.stopped && !this.core.leaveRecorded; ) await new Promise((r) => setTimeout(r, 20));
    }
    await this.stop();
  }

  /** Resources the replica says run on this node. */
  private localResources(): string[] {
    const ws = unpack(this.core.cib, this.now());
    return ws.resources.filter((r) => r.running.some((n) => n.name === this.self.name)).map((r) => r.id);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.recheck);
    this.fencer.close();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new Error('belayd is stopping'));
    }
    this.pending.clear();
    this.flushOutbox(); // a last word (leave) still goes out
    this.deps.executor.close();
    this.steps.stop();
    await this.persistChain;
    await this.scheduler?.close();
    await this.vips.close();
    await this.deps.transport.stop();
    await this.admin?.close();
    await this.metrics.close();
    await this.web?.close();
    await this.alerts.close();
    this.log('stopped');
  }

  // --- totem in -----------------------------------------------------------

  private enqueue(item: InboxItem): void {
    this.inbox.push(item);
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drain());
  }

  /** Apply what totem delivered, in order, a slice at a time. */
  private drain(): void {
    const until = performance.now() + DRAIN_SLICE_MS;
    while ((this.unpackedHead < this.unpacked.length || this.inboxHead < this.inbox.length) && !this.stopped) {
      if (this.unpackedHead < this.unpacked.length) {
        const next = this.unpacked[this.unpackedHead++]!;
        if (this.unpackedHead >= this.unpacked.length) {
          this.unpacked = [];
          this.unpackedHead = 0;
        }
        this.steps.time(() => `deliver ${this.lastKind}`, () => this.applyOne(next.msg, next.transitional));
        if (performance.now() >= until) break;
        continue;
      }
      const item = this.inbox[this.inboxHead]!;
      this.inbox[this.inboxHead++] = undefined as unknown as InboxItem;
      if ('payload' in item) this.steps.time(() => `deliver ${this.lastKind}`, () => this.onPayload(item.from, item.payload, item.transitional));
      else this.steps.time('membership', () => this.onMembership(item.ringId, item.members, item.quorate));
      if (performance.now() >= until) break;
    }
    if (this.inboxHead >= this.inbox.length) {
      this.inbox.length = 0;
      this.inboxHead = 0;
    } else if (this.inboxHead > 1024) {
      this.inbox.splice(0, this.inboxHead);
      this.inboxHead = 0;
    }
    if ((this.unpackedHead < this.unpacked.length || this.inboxHead < this.inbox.length) && !this.stopped) setImmediate(() => this.drain());
    else this.draining = false;
  }

  private onMembership(ringId: string, members: number[], quorate: boolean): void {
    this.reassembler.reset();
    this.handle(this.core.onMembership({ ringId, members: [...members].sort((a, b) => a - b), quorate }));
  }

  private onPayload(from: number, payload: Uint8Array, transitional: boolean): void {
    this.lastKind = 'fragment';
    let whole: Uint8Array | undefined;
    try {
      whole = this.reassembler.push(from, payload);
    } catch (err) {
      this.counters.badMessages++;
      this.log(`dropped a message from node ${from}: ${(err as Error).message}`);
      return;
    }
    if (!whole) return;
    let msgs: ClusterMessage[];
    try {
      msgs = decodeMessages(whole);
    } catch (err) {
      this.counters.badMessages++;
      this.log(`dropped an undecodable message from node ${from}: ${(err as Error).message}`);
      return;
    }
    if (msgs.some((m) => m.from !== from)) {
      this.counters.badMessages++;
      this.log(`dropped a message from node ${from} claiming to be from node ${msgs.find((m) => m.from !== from)!.from}`);
      return;
    }
    // The messages of a batch are applied one per step, before anything
    // totem delivered after the batch, so a slice stays a slice.
    for (const msg of msgs) this.unpacked.push({ msg, transitional });
  }

  private applyOne(msg: ClusterMessage, transitional: boolean): void {
    this.lastKind = msg.kind;
    this.counters.delivered++;
    this.handle(this.core.onDeliver(msg, { transitional }));
  }

  // --- core out -----------------------------------------------------------

  private handle(out: CoreOutput): void {
    for (const line of out.log) this.log(line);
    if (out.scheduleRequest) this.runScheduler(out.scheduleRequest);
    this.fencer.onOutput(out);
    for (const msg of out.broadcast) this.broadcast(msg);
    for (const exec of out.execute) this.runLocal(exec);
    let written: Promise<void> | undefined;
    if (out.persist) {
      written = this.persist();
      // Who changed it, as Pacemaker's "Last change: ... by root via crm on n1".
      const x = this.core.cib.extra ?? {};
      this.lastChange = { at: this.now() };
      if (x['update-user']) this.lastChange.user = x['update-user'];
      if (x['update-client']) this.lastChange.client = x['update-client'];
      if (x['update-origin']) this.lastChange.origin = x['update-origin'];
    }
    if (out.replies.length > 0) {
      // A change is acknowledged once it is on this node's disk.
      const version = versionOf(this.core.cib);
      const reply = () => {
        for (const r of out.replies) {
          const p = this.pending.get(r.requestId);
          if (!p) continue;
          clearTimeout(p.timer);
          this.pending.delete(r.requestId);
          if (r.ok) p.resolve({ version });
          else p.reject(new AdminError(r.error ?? 'rejected'));
        }
      };
      if (written) void written.then(reply);
      else reply();
    }
    this.notifyWatchers();
    this.observe();
    this.queueTick();
  }

  private runScheduler(req: NonNullable<CoreOutput['scheduleRequest']>): void {
    if (!this.scheduler) return;
    const t0 = Date.now();
    this.scheduler.run(req.id, req.cib, req.nowSeconds).then(
      (result) => {
        if (this.stopped) return;
        const ms = Date.now() - t0;
        this.metrics.scheduler.observe(ms / 1000);
        if (ms > 1000) this.log(`scheduler run ${req.id} took ${ms} ms (on its own thread)`);
        this.steps.time('schedule result', () => this.handle(this.core.onScheduleResult(req.id, result, this.now())));
      },
      (err: Error) => {
        if (!this.stopped) this.handle(this.core.onScheduleResult(req.id, { error: err.message }, this.now()));
      },
    );
  }

  private observe(): void {
    const s = this.statusSnapshot() as DaemonSnapshot;
    this.metrics.observe(s);
    this.alerts.observe(s);
    this.web?.changed();
  }

  /**
   * Messages broadcast in one turn of the event loop go as one totem
   * message (a batch, in order): a transition's hundreds of `exec`s or a
   * burst of results cost totem a few packets, not hundreds of messages.
   */
  private broadcast(msg: ClusterMessage): void {
    this.outbox.push(msg);
    this.counters.sent++;
    if (this.outbox.length === 1) setImmediate(() => this.flushOutbox());
  }

  private flushOutbox(): void {
    const msgs = this.outbox.splice(0);
    if (msgs.length === 0) return;
    this.steps.time('send', () => {
      const payload = encodeMessages(msgs);
      const safe = needsSafeDelivery(msgs);
      for (const frag of fragment(payload, this.deps.transport.maxPayload)) this.deps.transport.send(frag, safe);
    });
  }

  private queueTick(): void {
    if (this.tickQueued || this.stopped) return;
    this.tickQueued = true;
    setImmediate(() => {
      this.tickQueued = false;
      if (this.stopped) return;
      this.steps.time('tick', () => {
        const out = this.core.onTick(this.now());
        if (out.broadcast.length || out.execute.length || out.log.length || out.persist || out.replies.length || out.scheduleRequest) this.handle(out);
      });
    });
  }

  private runLocal(exec: LocalExec): void {
    this.counters.executed++;
    // As Pacemaker: a stop uses the definition the resource was started with
    // (its parameters may have changed since, or it may be gone from the
    // configuration), so the old address / state file / process is stopped.
    const startedWith = this.startedWith.get(exec.rscId);
    const r = exec.task === 'stop' && startedWith ? { ...startedWith, timeoutMs: exec.resolved?.timeoutMs ?? startedWith.timeoutMs } : exec.resolved;
    if (!r) {
      this.handle(this.core.onLocalResult(exec, { rc: 6, opStatus: 0, callId: 0, finishedAt: this.now(), execTimeMs: 0, exitReason: `${exec.rscId} is not configured` }));
      return;
    }
    if (FencerShell.handlesAgent(r.agent)) {
      this.fencer.operate(exec, r, (res) => {
        if (this.stopped) return;
        this.rememberStart(exec, r, res.rc);
        this.handle(this.core.onLocalResult(exec, res));
      });
      return;
    }
    if (VipManager.handles(r.agent, r.params)) {
      this.runVip(exec, r);
      return;
    }
    const req: OperationRequest = {
      rscId: exec.rscId,
      agent: r.agent,
      action: exec.task,
      params: r.params,
      meta: r.meta,
      timeoutMs: r.timeoutMs,
      intervalMs: exec.intervalMs,
      expectedRc: exec.targetRc,
    };
    const report = (result: OperationResult) => {
      if (this.stopped) return;
      this.rememberStart(exec, r, result.rc);
      this.steps.time('operation result', () => this.handle(this.core.onLocalResult(exec, toLocalResult(result))));
    };
    if (exec.intervalMs > 0) {
      // Recurring: the executor reports the first result and every change.
      this.deps.executor.startRecurring(req, report);
      return;
    }
    this.deps.executor.execute(req).then(report, (err: Error) => {
      this.handle(this.core.onLocalResult(exec, { rc: 1, opStatus: 4, callId: 0, finishedAt: this.now(), execTimeMs: 0, exitReason: err.message }));
    });
  }

  /** What each local resource was last started with (for its stop). */
  private rememberStart(exec: LocalExec, resolved: ResolvedAction, rc: number): void {
    if ((exec.task === 'start' || exec.task === 'promote') && rc === 0) this.startedWith.set(exec.rscId, resolved);
    if (exec.task === 'stop' && rc === 0) this.startedWith.delete(exec.rscId);
  }

  /** A FloatIP with a vrid: no agent process, the VRRP engine does it. */
  private runVip(exec: LocalExec, resolved: ResolvedAction): void {
    const params = resolved.params;
    const started = Date.now();
    const report = (r: VipOpResult) => {
      if (this.stopped) return;
      this.rememberStart(exec, resolved, r.rc);
      const result: LocalResult = { rc: r.rc, opStatus: 0, callId: ++this.builtinCallId, finishedAt: this.now(), execTimeMs: Date.now() - started };
      if (r.reason) result.exitReason = r.reason;
      this.steps.time('operation result', () => this.handle(this.core.onLocalResult(exec, result)));
    };
    if (exec.task === 'monitor' && exec.intervalMs > 0) {
      this.vips.startMonitor(exec.rscId, exec.intervalMs, params, report);
      return;
    }
    this.vips.operate(exec.rscId, exec.task, params).then(report, (err: Error) => report({ rc: 1, reason: err.message }));
  }

  /**
   * Write the configuration to disk off the step that changed it (the write
   * and its fsyncs run on libuv's threads). Writes queue one behind the
   * other; one queued write covers every change made before it runs.
   */
  private persist(): Promise<void> {
    if (this.persistQueued) return this.persistQueued;
    const next = this.persistChain.then(async () => {
      await new Promise((r) => setImmediate(r));
      this.persistQueued = undefined;
      const { version, ring } = await this.writeCib();
      // Edits are acknowledged once a majority has them on disk.
      if (!this.stopped) this.handle(this.core.onPersisted(version, ring));
    });
    this.persistQueued = next;
    this.persistChain = next.catch((err: Error) => this.log(`cannot write the CIB to ${this.config.state_dir}: ${err.message}`));
    return this.persistChain;
  }

  /** Writes the configuration (temporary file, fsync, rename); returns the version written and the ring it was made in. */
  private async writeCib(): Promise<{ version: CibVersion; ring: string }> {
    const dir = this.config.state_dir;
    mkdirSync(dir, { recursive: true, mode: 0o750 });
    const file = join(dir, 'cib.xml');
    const stored: Cib = { ...this.core.cib, status: [] };
    const ring = this.core.configRing;
    const xml = this.scheduler?.toXml ? await this.scheduler.toXml(stored) : this.steps.time('persist', () => cibToXml(stored));
    if (existsSync(file)) {
      // cib.xml -> cib-1.xml -> ... -> cib-5.xml: the last versions stay at hand.
      for (let i = KEEP_VERSIONS - 1; i >= 1; i--) {
        const from = join(dir, `cib-${i}.xml`);
        if (existsSync(from)) await rename(from, join(dir, `cib-${i + 1}.xml`));
      }
      // Copied, not moved: cib.xml is there at every moment, old or new.
      await copyFile(file, join(dir, 'cib-1.xml'));
    }
    await atomicWriteFile(file, xml, { mode: 0o640 });
    return { version: versionOf(stored), ring };
  }

  // --- admin --------------------------------------------------------------

  private async handleAdmin(req: AdminRequest, conn: AdminConnection): Promise<unknown> {
    const args = req.args ?? {};
    switch (req.cmd) {
      case 'status':
        return this.statusSnapshot();
      case 'cib-query':
        return { xml: cibToXml(this.core.cib), cib: this.core.cib };
      case 'cib-replace':
        return this.replaceConfiguration(args);
      case 'attr':
        return this.setAttribute(args);
      case 'cleanup': {
        const rsc = typeof args['rsc'] === 'string' ? args['rsc'] : undefined;
        const node = typeof args['node'] === 'string' ? args['node'] : undefined;
        if (node !== undefined && !this.config.nodes.some((n) => n.name === node)) throw new AdminError(`no node named '${node}'`);
        this.handle(this.core.proposeCleanup(rsc, node));
        return { rsc: rsc ?? null, node: node ?? null };
      }
      case 'vip-status':
        return { node: this.self, vrrp: this.vips.status() };
      case 'ring-status':
        return { node: this.self, transport: this.deps.transport.status(), counters: this.counters, steps: this.steps.stats() };
      case 'quorum-status':
        return { node: this.self, quorum: this.deps.transport.status().quorum ?? null, nodes: this.config.nodes };
      case 'watch':
        this.watchers.add(conn);
        conn.onClose(() => this.watchers.delete(conn));
        conn.push('status', this.statusSnapshot());
        return new Promise(() => {}); // streams until the client leaves
      default: {
        const fencing = this.fencer.admin(req.cmd, args);
        if (fencing) return fencing;
        throw new AdminError(`unknown command: ${req.cmd}`);
      }
    }
  }

  /** Resolves once the ring's offers and node states are in (or after timeoutMs). */
  private async waitSynced(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.core.synced && Date.now() < until && !this.stopped) await new Promise((r) => setTimeout(r, 20));
  }

  private async replaceConfiguration(args: Record<string, unknown>): Promise<unknown> {
    // Right after a membership change the ring agrees on one configuration
    // first; an edit made meanwhile would be refused.
    await this.waitSynced(5_000);
    const configuration = args['configuration'] as Configuration | undefined;
    const base = args['base'] as CibVersion | undefined;
    const checked = checkConfiguration(configuration);
    if (!checked.ok) throw new AdminError(`cib-replace needs a valid "configuration": ${checked.error}`);
    // Fail fast on a stale client; the cluster-wide check happens in agreed order.
    if (base && compareVersions([base[0], base[1], 0], [this.core.cib.adminEpoch, this.core.cib.epoch, 0]) !== 0) {
      throw new AdminError(`the configuration changed meanwhile (now ${versionOf(this.core.cib).join('.')}); try again`);
    }
    // A membership round that starts between our check and the agreed
    // delivery refuses the edit; the base is still good, so try again.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.proposeOnce(checked.value, args);
      } catch (err) {
        if (!(err instanceof AdminError) || !/synchronising/.test(err.message) || attempt >= 5) throw err;
        await this.waitSynced(5_000);
      }
    }
  }

  private proposeOnce(configuration: Configuration, args: Record<string, unknown>): Promise<unknown> {
    // Pacemaker's cib-last-written format: "Sun Nov 22 02:24:57 2026".
    const at = new Date(this.now() * 1000).toString().replace(/^(\w+ \w+ \d+) (\d+) (\S+).*$/, '$1 $3 $2');
    const by = { client: typeof args['client'] === 'string' ? args['client'] : 'crm', user: typeof args['user'] === 'string' ? args['user'] : 'root', at };
    const requestId = `${this.self.id}-${++this.requestSeq}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(requestId);
        reject(new AdminError('the cluster did not apply the change within 10 s (no quorum or no ring?)'));
      }, 10_000);
      this.pending.set(requestId, { resolve, reject, timer });
      this.handle(this.core.propose(requestId, configuration, by));
    });
  }

  private setAttribute(args: Record<string, unknown>): unknown {
    const node = String(args['node'] ?? '');
    const name = String(args['name'] ?? '');
    const value = args['value'] === undefined || args['value'] === null ? undefined : String(args['value']);
    const lifetime = args['lifetime'] === 'reboot' ? 'reboot' : 'forever';
    if (!this.config.nodes.some((n) => n.name === node)) throw new AdminError(`no node named '${node}'`);
    if (!/^[A-Za-z0-9_#.:-]+$/.test(name)) throw new AdminError(`bad attribute name '${name}'`);
    this.handle(this.core.proposeAttribute(node, name, value, lifetime));
    return { node, name, value: value ?? null, lifetime };
  }

  statusSnapshot(): unknown {
    const dcId = this.core.dc;
    return {
      node: this.self,
      dc: dcId === undefined ? null : this.config.nodes.find((n) => n.id === dcId) ?? null,
      membership: this.core.membership,
      quorate: this.core.membership.quorate,
      synced: this.core.synced,
      transition: this.core.transitionState ?? null,
      lastChange: this.lastChange,
      now: this.now(),
      clusterName: this.config.cluster_name,
      cib: this.core.cib,
      fencing: this.core.fencingHistory,
    };
  }

  private notifyWatchers(): void {
    if (this.watchers.size === 0) return;
    const snapshot = this.statusSnapshot();
    for (const w of this.watchers) w.push('status', snapshot);
  }
}

type InboxItem = { from: number; payload: Uint8Array; transitional: boolean } | { ringId: string; members: number[]; quorate: boolean };

/** A group's id from its name (or a number), as /etc/group has it. */
function groupId(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  for (const line of readFileSync('/etc/group', 'utf8').split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new Error(`admin_group '${group}' is not a group on this host (see /etc/group)`);
}

function toLocalResult(r: OperationResult): LocalResult {
  const opStatus = { done: 0, cancelled: 1, timeout: 2, error: 4, 'not-installed': 7 }[r.status] ?? 4;
  const out: LocalResult = {
    rc: r.rc,
    opStatus,
    callId: r.callId,
    finishedAt: Math.floor((r.startedAt + r.durationMs) / 1000),
    execTimeMs: r.durationMs,
  };
  if (r.exitReason) out.exitReason = r.exitReason;
  return out;
}

/** One byte of framing: 0 = JSON, 1 = raw-deflated JSON. */
export function encodeMessage(msg: ClusterMessage): Uint8Array {
  return encodeMessages([msg]);
}

/** Several messages in one payload (a JSON array), one alone as itself. */
export function encodeMessages(msgs: ClusterMessage[]): Uint8Array {
  const json = Buffer.from(JSON.stringify(msgs.length === 1 ? msgs[0] : msgs), 'utf8');
  if (json.length <= COMPRESS_ABOVE) return Buffer.concat([Buffer.of(0), json]);
  // Level 1: a tenth of the default level's time for a node-state of 1,000
  // resources (about 2 ms against 20), and nearly the same size.
  return Buffer.concat([Buffer.of(1), deflateRawSync(json, { level: 1 })]);
}

export function decodeMessage(payload: Uint8Array): ClusterMessage {
  const msgs = decodeMessages(payload);
  if (msgs.length !== 1) throw new Error(`expected one message, got ${msgs.length}`);
  return msgs[0]!;
}

/** The messages of one payload (one, or a batch); a bad one makes the whole payload bad. */
export function decodeMessages(payload: Uint8Array): ClusterMessage[] {
  if (payload.length < 2) throw new Error('message too short');
  const body = Buffer.from(payload.buffer, payload.byteOffset + 1, payload.length - 1);
  const text = payload[0] === 0 ? body.toString('utf8') : payload[0] === 1 ? inflateRawSync(body, { maxOutputLength: MAX_MESSAGE_BYTES }).toString('utf8') : undefined;
  if (text === undefined) throw new Error(`unknown message framing ${payload[0]}`);
  // A batch of messages (a JSON array) or one. Each is checked against the
  // schema before it reaches the replica; one invalid message drops the whole
  // payload, on every node alike.
  const parsed = JSON.parse(text) as unknown;
  const msgs = Array.isArray(parsed) ? parsed : [parsed];
  if (msgs.length === 0) throw new Error('empty batch');
  return msgs.map((m) => validateClusterMessage(m));
}

/** The stored configuration, or an empty one on a new node. */
function loadStoredCib(config: ClusterConfig, nodes: Array<{ id: number; name: string }>): Cib {
  const file = join(config.state_dir, 'cib.xml');
  let cib: Cib;
  if (existsSync(file)) {
    cib = parseCibXml(readFileSync(file, 'utf8'), file);
  } else {
    cib = emptyCib();
    cib.configuration.crmConfig.push({
      id: 'cib-bootstrap-options',
      rules: [],
      nvpairs: [
        { id: 'cib-bootstrap-options-cluster-infrastructure', name: 'cluster-infrastructure', value: 'belay' },
        { id: 'cib-bootstrap-options-cluster-name', name: 'cluster-name', value: config.cluster_name },
      ],
    });
  }
  // The cluster file is the truth about which nodes exist.
  for (const n of nodes) {
    if (!cib.configuration.nodes.some((x) => x.uname === n.name)) {
      cib.configuration.nodes.push({ id: String(n.id), uname: n.name, instanceAttributes: [], utilization: [] });
    }
  }
  return cib;
}
