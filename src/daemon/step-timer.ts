/**
 * How long belayd's synchronous steps take. Each entry into the daemon (a
 * totem delivery, a membership change, a tick, an operation result, an admin
 * request) is timed; the longest is kept and a step over the limit is
 * logged, because a step that holds the event loop also holds totem's token.
 * The event loop's own delay (which also counts totem's work and garbage
 * collection) is sampled beside it.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';

export interface StepStats {
  /** The longest synchronous step since start, and what it was. */
  longestStepMs: number;
  longestStep: string;
  /** Steps that took longer than the limit. */
  slowSteps: number;
  limitMs: number;
  /** Event-loop delay (ms): the largest and the 99th percentile since start. */
  loopDelayMaxMs: number;
  loopDelayP99Ms: number;
}

export class StepTimer {
  private longest = { name: '', ms: 0 };
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
    try {
      return fn();
    } finally {
      const ms = performance.now() - t0;
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
      slowSteps: this.slow,
      limitMs: this.limitMs,
      // The histogram is in nanoseconds and counts the sampling interval itself.
      loopDelayMaxMs: round(Math.max(0, this.loop.max / 1e6 - 10)),
      loopDelayP99Ms: round(Math.max(0, this.loop.percentile(99) / 1e6 - 10)),
    };
  }

  stop(): void {
    this.loop.disable();
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
