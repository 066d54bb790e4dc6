/**
 * The scheduler on a worker thread, so a long scheduler run never holds up
 * the event loop that carries totem (a stalled loop misses the token and
 * the ring re-forms). The controller core asks for a run (scheduleRequest);
 * this hands the CIB to the worker and the graph back to the core.
 *
 * The same file is the worker's entry point: run as a worker, it answers
 * each {id, cib, nowSeconds} with {id, result}.
 */
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import type { Cib } from '../cib/model.js';
import type { ScheduleResult } from '../controller/core.js';
import { schedulerPort } from '../controller/schedule-port.js';

interface Request {
  id: number;
  cib: Cib;
  nowSeconds: number;
}
interface Reply {
  id: number;
  result: ScheduleResult;
}

/** Runs the scheduler on its own thread; one run at a time (the core asks for no more). */
export class SchedulerThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (r: ScheduleResult) => void>();
  private closed = false;

  constructor(private readonly log: (line: string) => void) {}

  run(id: number, cib: Cib, nowSeconds: number): Promise<ScheduleResult> {
    if (this.closed) return Promise.resolve({ error: 'the scheduler thread is closed' });
    const worker = this.worker ?? this.spawn();
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      const req: Request = { id, cib, nowSeconds };
      worker.postMessage(req);
    });
  }

  private spawn(): Worker {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { belaySchedulerWorker: true } });
    worker.on('message', (reply: Reply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply.result);
    });
    // A worker that dies fails its runs; the next run starts a new one.
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.closed) this.log(`scheduler thread: ${why}`);
      for (const resolve of this.waiting.values()) resolve({ error: `scheduler thread ${why}` });
      this.waiting.clear();
    };
    worker.on('error', (err) => fail(`failed: ${err.message}`));
    worker.on('exit', (code) => fail(`exited (${code})`));
    worker.unref();
    this.worker = worker;
    return worker;
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = undefined;
    for (const resolve of this.waiting.values()) resolve({ error: 'the scheduler thread is closed' });
    this.waiting.clear();
    await w?.terminate();
  }
}

if (!isMainThread && parentPort) {
  const port = parentPort;
  // belayd may run at a raised priority (belay daemon --nice); a long
  // scheduler run must not compete with it, so this thread runs at the
  // normal one (on Linux a thread's nice value is its own).
  try {
    setPriority(0);
  } catch {
    /* not permitted: keep the daemon's */
  }
  port.on('message', (req: Request) => {
    let result: ScheduleResult;
    try {
      result = schedulerPort(req.cib, req.nowSeconds);
    } catch (err) {
      result = { error: (err as Error).message };
    }
    port.postMessage({ id: req.id, result } satisfies Reply);
  });
}
