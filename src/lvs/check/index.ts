/**
 * Run the health checkers of one real server (the shell around health.ts):
 * timers, probes, and the real server's health, up only when every checker
 * is up. keepalived runs each checker on its own timer; so does this.
 */
import { accessSync, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import { splitCommand } from '../../vrrp/keepalived-conf.js';
import { lookupUser } from '../../vrrp/script-security.js';
import { firstCheckAt, formatChecker, initialState, step, type CheckerState, type CheckerTiming, type CheckResult } from './health.js';
import { httpProbe, miscProbe, tcpProbe } from './probe.js';
import type { CheckSpec, CheckTarget, CheckerHandle, CheckerHooks, MiscCheckSpec, RealServerHealth, StartRealServerChecks } from './spec.js';

export { failureDetectionMs } from './health.js';

export interface CheckerOptions {
  /** FMT_VS of the virtual server, for MISC_CHECK's lines (`[10.0.0.100]:tcp:80`). */
  vs?: string;
  /** The virtual server's protocol as FMT_CHK spells it (default `tcp`). */
  protocol?: string;
  /** [0, 1): the warmup draw (keepalived's random()); inject for reproducible starts. */
  random?: () => number;
}

/** The longest setTimeout Node honours. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Runner {
  spec: CheckSpec;
  state: CheckerState;
}

function timingOf(c: CheckSpec): CheckerTiming {
  return { retry: c.retry, delayBeforeRetryMs: c.delayBeforeRetryMs, delayLoopMs: c.delayLoopMs, warmupMs: c.warmupMs, alpha: c.alpha };
}

/** argv[0] as keepalived finds it (check_script_secure): a path, or the first executable on PATH. */
function findExecutable(cmd: string): string | null {
  const candidates = cmd.includes('/')
    ? [cmd]
    : (process.env['PATH'] ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').map((d) => path.join(d, cmd));
  for (const p of candidates) {
    try {
      accessSync(p, fsConstants.X_OK);
      return p;
    } catch {
      /* next */
    }
  }
  return null;
}

interface MiscPlan {
  argv: string[];
  cred?: { uid: number; gid: number };
}

/** Prepare a MISC_CHECK as keepalived's configuration pass does; null (and a log line) drops the checker. */
function planMisc(spec: MiscCheckSpec, log: (l: string) => void): MiscPlan | null {
  const where = `${spec.file}:${spec.line}`;
  let argv: string[];
  try {
    argv = splitCommand(spec.path);
  } catch (err) {
    log(`${where}: misc_path '${spec.path}': ${(err as Error).message} - skipping`);
    return null;
  }
  if (!argv.length) {
    log(`${where}: No script path has been specified for MISC_CHECKER - skipping`);
    return null;
  }
  if (!findExecutable(argv[0]!)) {
    log(`Disabling misc script ${spec.path} since not found/accessible`);
    return null;
  }
  if (!spec.user) return { argv };
  if (process.getuid?.() !== 0) {
    log(`${where}: user ${spec.user}: not running as root, misc script ${spec.path} runs as uid ${process.getuid?.()}`);
    return { argv };
  }
  const cred = lookupUser(spec.user, spec.group);
  if (!cred) {
    log(`Failed to set uid/gid for misc checker script ${spec.path} - removing`);
    return null;
  }
  return { argv, cred: { uid: cred.uid, gid: cred.gid } };
}

export function makeStartRealServerChecks(opts: CheckerOptions = {}): StartRealServerChecks {
  const random = opts.random ?? Math.random;
  return (realServer: CheckTarget, checks: CheckSpec[], hooks: CheckerHooks): CheckerHandle => {
    const chk = formatChecker(realServer.ip, realServer.port, opts.protocol);
    const names = { chk, ...(opts.vs ? { vs: opts.vs } : {}) };
    let stopped = false;
    const ac = new AbortController();
    const timers = new Set<NodeJS.Timeout>();
    // A hook that throws must not stop the checks: its error is dropped (log) or logged (onChange).
    const log = (l: string) => {
      try {
        if (!stopped) hooks.log(l);
      } catch {
        /* nowhere left to say it */
      }
    };

    const runners: Runner[] = [];
    const plans = new Map<Runner, MiscPlan>();
    for (const spec of checks) {
      const r: Runner = { spec, state: initialState(timingOf(spec)) };
      if (spec.kind === 'MISC_CHECK') {
        const plan = planMisc(spec, log);
        if (!plan) continue;
        plans.set(r, plan);
      }
      runners.push(r);
    }

    const aggregate = (reason: string): RealServerHealth => {
      const up = runners.every((r) => r.state.up);
      // misc_dynamic: the last checker (in configuration order) that set a weight.
      const w = runners.reduce<number | undefined>((acc, r) => r.state.weight ?? acc, undefined);
      return { up, ...(w !== undefined ? { dynamicWeight: w } : {}), reason };
    };
    let current = aggregate(
      runners.every((r) => r.state.up) ? `${chk}: no check has run yet` : `${chk}: alpha - down until the first successful check`,
    );

    const schedule = (fn: () => void, at: number) => {
      if (stopped) return;
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now())));
      timers.add(t);
    };

    const probe = async (r: Runner): Promise<{ result: CheckResult; note?: string }> => {
      const s = r.spec;
      if (s.kind === 'MISC_CHECK') return miscProbe(plans.get(r)!.argv, s, plans.get(r)!.cred, ac.signal);
      const dst = { ip: s.connectIp ?? realServer.ip, port: s.connectPort ?? realServer.port };
      return { result: s.kind === 'TCP_CHECK' ? await tcpProbe(dst, s, ac.signal) : await httpProbe(dst, s, ac.signal) };
    };

    const run = async (r: Runner) => {
      if (stopped) return;
      const startedAt = Date.now();
      let got: { result: CheckResult; note?: string };
      try {
        got = await probe(r);
      } catch (err) {
        got = { result: { ok: false, why: (err as Error).message } };
      }
      if (stopped) return;
      const out = step(
        r.spec.kind,
        timingOf(r.spec),
        r.spec.kind === 'MISC_CHECK' ? { ...names, script: plans.get(r)!.argv[0]! } : names,
        r.state,
        got.result,
        startedAt,
        Date.now(),
        r.spec.kind === 'MISC_CHECK' && r.spec.dynamic,
      );
      r.state = out.state;
      schedule(() => launch(r), out.nextAt);
      if (got.note) log(got.note);
      for (const l of out.log) log(l);
      if (out.changed) {
        const next = aggregate(out.log.at(-1) ?? `${chk}: misc_dynamic weight ${out.state.weight ?? 'as configured'}`);
        if (next.up !== current.up || next.dynamicWeight !== current.dynamicWeight) {
          current = next;
          try {
            if (!stopped) hooks.onChange(current);
          } catch (err) {
            log(`${chk}: onChange: ${(err as Error).message}`);
          }
        }
      }
    };
    // Anything thrown before the next check was scheduled: try again a delay_loop later.
    const launch = (r: Runner) =>
      void run(r).catch((err: unknown) => {
        log(`${chk}: checker error: ${(err as Error).message}`);
        schedule(() => launch(r), Date.now() + r.spec.delayLoopMs);
      });

    const start = Date.now();
    for (const r of runners) schedule(() => launch(r), firstCheckAt(start, timingOf(r.spec), random()));

    return {
      health: () => current,
      stop: () => {
        stopped = true;
        ac.abort();
        for (const t of timers) clearTimeout(t);
        timers.clear();
      },
    };
  };
}

/** The contract's entry point (spec.ts), with keepalived's defaults for names and a random warmup. */
export const startRealServerChecks: StartRealServerChecks = makeStartRealServerChecks();
