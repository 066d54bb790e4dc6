/**
 * The fencer's shell in belayd: runs the fencing requests the controller
 * core assigns to this node through real fence agents (src/fencing/agent.ts),
 * step by step as the pure FenceOperation (src/fencing/fencer.ts) decides;
 * runs fence devices as resources (start = register and monitor, recurring
 * monitor, stop); answers stonith_admin's admin requests. Decisions stay in
 * the cores; this file only carries things across.
 */
import type { Configuration } from '../cib/model.js';
import type { ControllerCore, CoreOutput, LocalExec, LocalFence, LocalResult } from '../controller/core.js';
import type { ResolvedAction } from '../controller/resource-info.js';
import { AdminError } from '../admin/socket.js';
import { FENCE_ACTIONS, fenceAgentPath, runFenceAgent, type FenceAction, type FenceAgentResult } from '../fencing/agent.js';
import { agentParams, canFence, fenceDevices, fencingOptions, FenceOperation, parseList, topologyFor } from '../fencing/fencer.js';
import { historyFor, type FenceEvent, type FenceRequestAction } from '../fencing/history.js';

export interface FencerContext {
  log(line: string): void;
  core(): ControllerCore;
  /** Carry a core output out (belayd's handle). */
  handle(out: CoreOutput): void;
  now(): number;
  /** This node was fenced while still running: stop the daemon. */
  stopSelf(): void;
}

interface Waiter {
  resolve(e: FenceEvent): void;
  timer: NodeJS.Timeout;
}

export class FencerShell {
  private readonly waiters = new Map<string, Waiter>();
  /** Fence devices started (registered) here, with their recurring monitor. */
  private readonly registered = new Map<string, { timer?: NodeJS.Timeout; last?: number }>();
  private closed = false;
  private callId = 0;

  constructor(private readonly ctx: FencerContext) {}

  /** Handle the fencing parts of a core output. */
  onOutput(out: CoreOutput): void {
    for (const f of out.fence) void this.carryOut(f);
    for (const e of out.fenceDone) {
      const w = this.waiters.get(e.id);
      if (!w) continue;
      clearTimeout(w.timer);
      this.waiters.delete(e.id);
      w.resolve(e);
    }
    if (out.fencedSelf) this.ctx.stopSelf();
  }

  /** Run one request through its devices and report the outcome to the cluster. */
  private async carryOut(f: LocalFence): Promise<void> {
    const cfg = this.ctx.core().cib.configuration;
    const op = new FenceOperation(f, fenceDevices(cfg), topologyFor(cfg, f.target, this.nodeAttrs(f.target)), fencingOptions(cfg));
    this.ctx.log(`Fencing ${f.target} (${f.action}, request ${f.id})`);
    for (;;) {
      const step = op.next();
      if (this.closed) return;
      if (step.kind === 'done') {
        this.ctx.log(step.ok ? `Fenced ${f.target} with ${step.devices.join(', ')}` : `Fencing of ${f.target} failed: ${step.reason ?? ''}`);
        const result: { ok: boolean; devices: string[]; reason?: string } = { ok: step.ok, devices: step.devices };
        if (step.reason !== undefined) result.reason = step.reason;
        this.ctx.handle(this.ctx.core().onFenceDone(f, result, this.ctx.now()));
        return;
      }
      if (step.kind === 'list') {
        op.onList(step.device.id, await runFenceAgent(step.device.agent, 'list', agentParams(step.device, undefined), { timeoutMs: step.timeoutMs }));
        continue;
      }
      if (step.delayMs > 0) {
        this.ctx.log(`Delaying '${f.action}' targeting ${f.target} using ${step.device.id} for ${step.delayMs} ms`);
        await sleep(step.delayMs);
        if (this.closed) return;
      }
      const action = step.agentAction as FenceAction;
      const result: FenceAgentResult = FENCE_ACTIONS.includes(action)
        ? await runFenceAgent(step.device.agent, action, step.params, { timeoutMs: step.timeoutMs })
        : { rc: 1, stdout: '', stderr: `unknown fence action '${step.agentAction}'`, timedOut: false, durationMs: 0 };
      op.onRun(step.device.id, result);
    }
  }

  private nodeAttrs(node: string): Record<string, string> {
    const cfgNode = this.ctx.core().cib.configuration.nodes.find((n) => n.uname === node);
    const out: Record<string, string> = {};
    for (const set of cfgNode?.instanceAttributes ?? []) for (const p of set.nvpairs) if (p.value !== undefined) out[p.name] = p.value;
    return out;
  }

  // --- fence devices as resources ------------------------------------------

  static handlesAgent(agent: string): boolean {
    return agent.startsWith('stonith:');
  }

  /**
   * A fence device's start, stop and monitors, as Pacemaker runs them: start
   * registers the device and checks it with the agent's monitor; a probe
   * says whether it is registered here; a recurring monitor runs the
   * agent's monitor and reports the first result and every change.
   */
  operate(exec: LocalExec, r: ResolvedAction, report: (res: LocalResult) => void): void {
    const agent = r.agent.slice('stonith:'.length);
    const started = Date.now();
    const done = (rc: number, reason?: string) => {
      if (this.closed) return;
      const res: LocalResult = { rc, opStatus: 0, callId: ++this.callId, finishedAt: this.ctx.now(), execTimeMs: Date.now() - started };
      if (reason) res.exitReason = reason;
      report(res);
    };
    if (exec.task === 'stop') {
      this.unregister(exec.rscId);
      done(0);
      return;
    }
    if (exec.task === 'monitor' && exec.intervalMs === 0) {
      done(this.registered.has(exec.rscId) ? 0 : 7);
      return;
    }
    if (!fenceAgentPath(agent)) {
      done(5, `fence agent ${agent} is not installed`);
      return;
    }
    const params = agentParams({ id: exec.rscId, agent, params: r.params, priority: 0, disabled: false }, undefined);
    const check = async (): Promise<{ rc: number; reason?: string }> => {
      const res = await runFenceAgent(agent, 'monitor', params, { timeoutMs: r.timeoutMs });
      if (res.rc === 0 && !res.timedOut) return { rc: 0 };
      const reason = res.timedOut ? 'monitor timed out' : lastLine(res.stderr) || `monitor returned ${res.rc}`;
      return { rc: 1, reason };
    };
    if (exec.task === 'start') {
      void check().then((c) => {
        if (c.rc === 0) this.registered.set(exec.rscId, {});
        done(c.rc, c.reason);
      });
      return;
    }
    if (exec.task === 'monitor') {
      const entry = this.registered.get(exec.rscId) ?? {};
      this.registered.set(exec.rscId, entry);
      if (entry.timer) clearInterval(entry.timer);
      entry.last = undefined;
      const tick = () =>
        void check().then((c) => {
          if (this.registered.get(exec.rscId) !== entry || entry.last === c.rc) return;
          entry.last = c.rc;
          done(c.rc, c.reason);
        });
      entry.timer = setInterval(tick, exec.intervalMs);
      tick();
      return;
    }
    done(3, `fence devices have no '${exec.task}' action`);
  }

  private unregister(id: string): void {
    const e = this.registered.get(id);
    if (e?.timer) clearInterval(e.timer);
    this.registered.delete(id);
  }

  // --- stonith_admin --------------------------------------------------------

  /** The admin socket's fencing commands; undefined when CMD is not one of them. */
  admin(cmd: string, args: Record<string, unknown>): Promise<unknown> | undefined {
    switch (cmd) {
      case 'fence':
        return this.fence(String(args['target'] ?? ''), String(args['action'] ?? 'reboot'), String(args['client'] ?? 'stonith_admin'), Number(args['timeoutMs'] ?? 0));
      case 'fence-confirm':
        return this.confirm(String(args['target'] ?? ''), String(args['client'] ?? 'stonith_admin'));
      case 'fence-history': {
        const target = typeof args['target'] === 'string' ? args['target'] : undefined;
        return Promise.resolve({ history: historyFor(this.ctx.core().fencingHistory, target) });
      }
      case 'fence-devices':
        return this.devices(typeof args['target'] === 'string' ? args['target'] : undefined);
      default:
        return undefined;
    }
  }

  private async fence(target: string, action: string, client: string, timeoutMs: number): Promise<unknown> {
    if (action !== 'reboot' && action !== 'off' && action !== 'on') throw new AdminError(`unknown fencing action '${action}'`);
    const core = this.ctx.core();
    const { out, id, error } = core.proposeFence(target, action as FenceRequestAction, client, this.ctx.now());
    if (!id) throw new AdminError(error ?? 'cannot fence');
    const cfg = core.cib.configuration;
    const wait = timeoutMs > 0 ? timeoutMs : Math.max(120_000, 2 * fencingOptions(cfg).timeoutMs * Math.max(1, fenceDevices(cfg).length));
    const event = this.waitFor(id, wait);
    this.ctx.handle(out);
    const e = await event;
    if (e.state !== 'done') throw new AdminError(`Couldn't fence ${target}: ${e.exitReason ?? 'failed'}`);
    return { event: e };
  }

  private async confirm(target: string, client: string): Promise<unknown> {
    const { out, id, error } = this.ctx.core().proposeConfirm(target, client, this.ctx.now());
    if (!id) throw new AdminError(error ?? 'cannot confirm');
    const event = this.waitFor(id, 30_000);
    this.ctx.handle(out);
    return { event: await event };
  }

  private waitFor(id: string, timeoutMs: number): Promise<FenceEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new AdminError(`no fencing outcome within ${Math.round(timeoutMs / 1000)} s (no quorum or no ring?)`));
      }, timeoutMs);
      this.waiters.set(id, { resolve, timer });
    });
  }

  /** --list-registered (no target) or --list TARGET: the devices, and for a target those that can fence it. */
  private async devices(target: string | undefined): Promise<unknown> {
    const cfg: Configuration = this.ctx.core().cib.configuration;
    const all = fenceDevices(cfg).filter((d) => !d.disabled);
    if (target === undefined) return { devices: all.map((d) => d.id) };
    const out: string[] = [];
    for (const d of all) {
      let can = canFence(d, target, undefined);
      if (can === 'ask') {
        const res = await runFenceAgent(d.agent, 'list', agentParams(d, undefined), { timeoutMs: fencingOptions(cfg).timeoutMs });
        // A device whose list cannot be read is tried anyway when fencing (pcmk_host_check=none).
        can = res.rc === 0 && !res.timedOut ? canFence(d, target, parseList(res.stdout)) : 'yes';
      }
      if (can === 'yes') out.push(d.id);
    }
    return { devices: out };
  }

  close(): void {
    this.closed = true;
    for (const id of [...this.registered.keys()]) this.unregister(id);
    for (const w of this.waiters.values()) clearTimeout(w.timer);
    this.waiters.clear();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}
