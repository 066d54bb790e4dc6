/**
 * How long belayd's synchronous steps take. Each entry into the daemon (a
 * totem delivery, a membership change, a tick, an operation result, an admin
 * request) is timed; the longest is kept and a step over the limit is
 * logged, because a step that holds the event loop also holds totem's token.
 * The event loop's own delay (which also counts totem's work and garbage
 * collection) is sampled beside it.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

export interface StepStats {
  /** The longest synchronous step since start (wall clock), and what it was. */
  longestStepMs: number;
  longestStep: string;
  /**
   * The step that used the most CPU time on belayd's main thread, and how
   * much (Linux schedstat): on a loaded machine the wall clock also counts
   * the time the thread waited for a core; this is the work itself.
   * Undefined where /proc/thread-self/schedstat cannot be read.
   */
  longestStepCpuMs?: number;
  longestStepCpu?: string;
  /** Steps that took longer than the limit. */
  slowSteps: number;
  limitMs: number;
  /** Event-loop delay (ms): the largest and the 99th percentile since start. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

/** The main thread's CPU time in ns (first field of schedstat), read through one open descriptor. */
class ThreadCpuClock {
  private readonly buf = Buffer.alloc(96);
  private constructor(private readonly fd: number) {}
  static open(): ThreadCpuClock | undefined {
    try {
      const clock = new ThreadCpuClock(openSync('/proc/thread-self/schedstat', 'r'));
      return clock.nowNs() === undefined ? undefined : clock;
    } catch {
      return undefined;
    }
  }
  nowNs(): number | undefined {
    const n = readSync(this.fd, this.buf, 0, this.buf.length, 0);
    const text = this.buf.toString('latin1', 0, n);
    const ns = Number(text.slice(0, text.indexOf(' ')));
    return Number.isFinite(ns) ? ns : undefined;
  }
  close(): void {
    closeSync(this.fd);
  }
}

export class StepTimer {
  private longest = { name: '', ms: 0 };
  private longestCpu = { name: '', ms: 0 };
  private readonly cpu = ThreadCpuClock.open();
  private slow = 0;
  private readonly loop: IntervalHistogram;

  constructor(
    private readonly limitMs: number,
    private readonly onSlow: (name: string, ms: number) => void,
  ) {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
  }

  /** name: what the step was; a function is asked afterwards (e.g. a message's kind, known once decoded). */
  time<T>(name: string | (() => string), fn: () => T): T {
    const t0 = performance.now();
    const c0 = this.cpu?.nowNs();
    try {
      return fn();
    } finally {
      const ms = performance.now() - t0;
      if (c0 !== undefined) {
        const cpuMs = ((this.cpu!.nowNs() ?? c0) - c0) / 1e6;
        if (cpuMs > this.longestCpu.ms) this.longestCpu = { name: typeof name === 'string' ? name : name(), ms: cpuMs };
      }
      if (ms > this.longest.ms || ms > this.limitMs) {
        const label = typeof name === 'string' ? name : name();
        if (ms > this.longest.ms) this.longest = { name: label, ms };
        if (ms > this.limitMs) {
          this.slow++;
          this.onSlow(label, ms);
        }
      }
    }
  }

  stats(): StepStats {
    return {
      longestStepMs: round(this.longest.ms),
      longestStep: this.longest.name,
      ...(this.cpu ? { longestStepCpuMs: round(this.longestCpu.ms), longestStepCpu: this.longestCpu.name } : {}),
      slowSteps: this.slow,
      limitMs: this.limitMs,
      // The histogram is in nanoseconds and counts the sampling interval itself.
      loopDelayMaxMs: round(Math.max(0, this.loop.max / 1e6 - 10)),
      loopDelayP99Ms: round(Math.max(0, this.loop.percentile(99) / 1e6 - 10)),
    };
  }

  stop(): void {
    this.loop.disable();
    this.cpu?.close();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
