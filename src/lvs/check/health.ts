/**
 * One health checker's state machine, as keepalived 2.2.7 runs it: pure, no
 * clock (times come in, "next check at" goes out), no I/O.
 *
 * Sources (keepalived v2.2.7, keepalived/check/):
 * - check_data.c, validate_check_config(): defaults; warmup defaults to the
 *   delay_loop; alpha sets a checker down before it runs; at start-up
 *   `retry_it = retry`, so the very first failure is decisive ("For non alpha
 *   mode, one failure is enough initially").
 * - check_api.c, register_checkers_thread(): first check after
 *   BOOTSTRAP_DELAY (1 s) + warmup × random()/RAND_MAX.
 * - check_tcp.c, tcp_epilog(): TCP_CHECK's retries and delays, also while down.
 * - check_http.c, epilog() and timeout_epilog(): HTTP_GET/SSL_GET; a down
 *   server is not retried but re-checked every max(delay_before_retry,
 *   delay_loop), and comes back after two successes (the first clears the
 *   failed url, the second marks it up).
 * - check_misc.c, misc_check_child_thread(): MISC_CHECK; the next run is
 *   timed from the start of the last one; misc_dynamic exit codes.
 * - ipwrapper.c, update_svr_checker_state(): a checker's up/down.
 */

export type CheckerKind = 'TCP_CHECK' | 'HTTP_GET' | 'SSL_GET' | 'MISC_CHECK';

/** The timing settings one checker runs with (milliseconds). */
export interface CheckerTiming {
  retry: number;
  delayBeforeRetryMs: number;
  delayLoopMs: number;
  warmupMs: number;
  alpha: boolean;
}

/** Names the log lines use: FMT_CHK (`[10.0.0.2]:tcp:80`), FMT_VS, the MISC script's argv[0]. */
export interface CheckerNames {
  chk: string;
  vs?: string;
  script?: string;
}

export interface CheckerState {
  /** keepalived's checker->is_up. */
  up: boolean;
  /** checker->has_run. */
  hasRun: boolean;
  /** checker->retry_it. */
  retryIt: number;
  /** HTTP/SSL: a url has failed and must pass once before the server can be marked up. */
  failedUrl: boolean;
  /** MISC_CHECK with misc_dynamic: the weight the last exit code gave (exit code - 2). */
  weight?: number;
}

/** What one probe found. */
export type CheckResult =
  | { ok: true; urls?: { path: string; digest: boolean }[] }
  | { ok: false; why: string }
  | { exit: number }
  | { signal: number; timedOut: boolean }
  /** The local address (bindto/bind_port) could not be bound: not a check at all. */
  | { bindFailed: true };

export interface StepOutput {
  state: CheckerState;
  /** When to run the next check (same time base as the input). */
  nextAt: number;
  /** The checker's up/down or dynamic weight changed. */
  changed: boolean;
  /** Lines to log, in keepalived's words. */
  log: string[];
}

/** The state before the first check (not a reload). */
export function initialState(t: CheckerTiming): CheckerState {
  return { up: !t.alpha, hasRun: false, retryIt: t.retry, failedUrl: false };
}

/**
 * When the first check runs after start: a random delay of up to `warmup`
 * (`random` in [0, 1], injected so tests and the simulator are reproducible).
 * keepalived adds BOOTSTRAP_DELAY (1 s) on top; belay does not.
 */
export function firstCheckAt(start: number, t: CheckerTiming, random: number): number {
  return start + (t.warmupMs > 0 ? Math.floor(t.warmupMs * Math.min(1, Math.max(0, random))) : 0);
}

/**
 * Feed one check's result. `startedAt` is when the check began, `finishedAt`
 * when its result came (TCP/HTTP time the next check from the end, MISC from
 * the start of the script, as keepalived does).
 */
export function step(
  kind: CheckerKind,
  t: CheckerTiming,
  names: CheckerNames,
  s: CheckerState,
  r: CheckResult,
  startedAt: number,
  finishedAt: number,
  dynamic = false,
): StepOutput {
  if ('bindFailed' in r) {
    // tcp_connect_thread()/http_connect_thread(): no verdict, try again a delay_loop later.
    const log = [kind === 'TCP_CHECK' ? 'TCP socket bind failed. Rescheduling.' : 'WEB socket bind failed. Rescheduling'];
    return { state: s, nextAt: finishedAt + t.delayLoopMs, changed: false, log };
  }
  switch (kind) {
    case 'TCP_CHECK':
      return tcpStep(t, names, s, isOk(r), finishedAt);
    case 'HTTP_GET':
    case 'SSL_GET':
      return httpStep(t, names, s, r, finishedAt);
    case 'MISC_CHECK':
      return miscStep(t, names, s, r, startedAt, finishedAt, dynamic);
  }
}

function isOk(r: CheckResult): boolean {
  return 'ok' in r ? r.ok : 'exit' in r ? r.exit === 0 : false;
}

/** check_tcp.c tcp_epilog(). */
function tcpStep(t: CheckerTiming, n: CheckerNames, s0: CheckerState, ok: boolean, now: number): StepOutput {
  const s = { ...s0 };
  const log: string[] = [];
  let delay: number;
  if (ok || s.retryIt >= t.retry) {
    delay = t.delayLoopMs;
    s.retryIt = 0;
    if (ok && (!s.up || !s.hasRun)) {
      log.push(`TCP connection to ${n.chk} success.`);
      s.up = true;
    } else if (!ok && (s.up || !s.hasRun)) {
      log.push(
        t.retry && s.hasRun ? `TCP_CHECK on service ${n.chk} failed after ${t.retry} retries.` : `TCP_CHECK on service ${n.chk} failed.`,
      );
      s.up = false;
    }
  } else {
    delay = t.delayBeforeRetryMs;
    s.retryIt++;
  }
  s.hasRun = true;
  return { state: s, nextAt: now + delay, changed: s.up !== s0.up, log };
}

/**
 * check_http.c epilog()/timeout_epilog(), with the whole url list as one
 * check: a check passes when every url does (keepalived fetches one url per
 * timer, delay_loop apart, and retries only the failing one).
 */
function httpStep(t: CheckerTiming, n: CheckerNames, s0: CheckerState, r: CheckResult, now: number): StepOutput {
  const s = { ...s0 };
  const log: string[] = [];
  let delay: number;
  if (isOk(r)) {
    // http_handle_response(): each url's success is logged while the checker is down.
    if (!s.up && 'ok' in r && r.ok) {
      for (const u of r.urls ?? []) log.push(`${u.digest ? 'MD5 digest' : 'HTTP status code'} success to ${n.chk} url(${u.path})`);
    }
    s.retryIt = 0;
    if (!s.failedUrl) {
      if (!s.up || !s.hasRun) {
        log.push(`Remote Web server ${n.chk} succeed on service.`);
        s.up = true;
        s.hasRun = true;
      }
    } else {
      s.failedUrl = false;
    }
    delay = t.delayLoopMs;
    if (!s.hasRun) s.retryIt = t.retry;
  } else {
    if (s.up || !s.hasRun) {
      s.hasRun = true;
      s.retryIt++;
      if (s.retryIt > t.retry) {
        if (s.up) {
          log.push(
            t.retry ? `HTTP_CHECK on service ${n.chk} failed after ${s.retryIt - 1} retries.` : `HTTP_CHECK on service ${n.chk} failed.`,
          );
          s.up = false;
        }
        s.failedUrl = true;
      }
    }
    // A server known to be down is not retried (REGISTER_CHECKER_FAILED).
    delay = s.failedUrl ? Math.max(t.delayBeforeRetryMs, t.delayLoopMs) : t.delayBeforeRetryMs;
  }
  return { state: s, nextAt: now + delay, changed: s.up !== s0.up, log };
}

/** check_misc.c misc_check_child_thread(). */
function miscStep(
  t: CheckerTiming,
  n: CheckerNames,
  s0: CheckerState,
  r: CheckResult,
  startedAt: number,
  now: number,
  dynamic: boolean,
): StepOutput {
  const s = { ...s0 };
  const log: string[] = [];
  const what = `Misc check for [${n.chk}${n.vs ? ` VS ${n.vs}` : ''}] by [${n.script ?? ''}]`;
  const exit = 'exit' in r ? r.exit : 'ok' in r ? (r.ok ? 0 : 1) : undefined;
  if (exit !== undefined && (exit === 0 || (dynamic && exit >= 2 && exit <= 255))) {
    // The weight is two less than the exit status; exit 0 means the configured weight.
    const w = dynamic && exit ? exit - 2 : undefined;
    if (w === undefined) delete s.weight;
    else s.weight = w;
    if (!s.up || !s.hasRun) {
      log.push(`${what} succeeded.`);
      s.up = true;
    }
    s.retryIt = 0;
  } else if (s.up || !s.hasRun) {
    const timedOut = 'timedOut' in r && r.timedOut;
    const reason = exit !== undefined ? ` (exited with status ${exit})` : 'signal' in r && !timedOut ? ` (due to signal ${r.signal})` : '';
    if (s.retryIt < t.retry) {
      s.retryIt++; // retried silently unless log_all_failures
    } else {
      s.retryIt = 0;
      delete s.weight;
      const tail = t.retry ? ` after ${t.retry} ${t.retry === 1 ? 'retry' : 'retries'}` : ' with retry disabled';
      log.push(`${what} ${timedOut ? 'timed out' : 'failed'}${tail}${reason}.`);
      s.up = false;
    }
  }
  s.hasRun = true;
  const nextAt = Math.max(now, startedAt + (s.retryIt ? t.delayBeforeRetryMs : t.delayLoopMs));
  return { state: s, nextAt, changed: s.up !== s0.up || s.weight !== s0.weight, log };
}

/** keepalived's inet_sockaddrtotrio(): `[10.0.0.2]:tcp:80`. */
export function formatChecker(ip: string, port: number, protocol = 'tcp'): string {
  return `[${ip}]:${protocol}:${port}`;
}

/**
 * How long after its last successful check a server that dies is declared
 * down, at worst, by this state machine: the next check comes a delay_loop
 * later, then every attempt fails after `attemptMs` (0 for a refused
 * connection, connect_timeout for a silent host).
 */
export function failureDetectionMs(kind: CheckerKind, t: CheckerTiming, attemptMs: number): number {
  const names = { chk: '[0.0.0.0]:tcp:0', script: 'probe' };
  let s: CheckerState = { up: true, hasRun: true, retryIt: 0, failedUrl: false };
  const fail: CheckResult = kind === 'MISC_CHECK' ? { exit: 1 } : { ok: false, why: 'down' };
  let at = t.delayLoopMs; // the next check after the last success, which ended at 0
  for (let i = 0; i <= t.retry + 1; i++) {
    const out = step(kind, t, names, s, fail, at, at + attemptMs);
    if (!out.state.up) return at + attemptMs;
    s = out.state;
    at = out.nextAt;
  }
  throw new Error(`${kind}: not down after ${t.retry + 2} failed checks`);
}
