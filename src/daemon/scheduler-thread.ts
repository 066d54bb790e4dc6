/**
 * The scheduler on a worker thread, so a long scheduler run never holds up
 * the event loop that carries totem (a stalled loop misses the token and
 * the ring re-forms). The controller core asks for a run (scheduleRequest);
 * this hands the CIB to the worker and the graph back to the core.
 *
 * The same file is the worker's entry point: run as a worker, it answers
 * each {id, cib, nowSeconds} with {id, result}, and each {id, xml: cib}
 * with {id, text} (the CIB as cib.xml holds it: serialising a large
 * configuration is also too long for the loop).
 */
import { setPriority } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import type { Cib } from '../cib/model.js';
import { cibToXml } from '../cib/xml.js';
import type { ScheduleResult } from '../controller/core.js';
import { schedulerPort } from '../controller/schedule-port.js';

type Request = { id: number; cib: Cib; nowSeconds: number } | { id: number; xml: Cib };
type Reply = { id: number; result: ScheduleResult } | { id: number; text?: string; error?: string };

/** Runs the scheduler on its own thread; one run at a time (the core asks for no more). */
export class SchedulerThread {
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  /** Ids of serialisations (negative, apart from the core's schedule ids). */
  private xmlSeq = 0;
  private closed = false;

  constructor(private readonly log: (line: string) => void) {}

  run(id: number, cib: Cib, nowSeconds: number): Promise<ScheduleResult> {
    return this.ask({ id, cib, nowSeconds }).then((r) => ('result' in r ? r.result : { error: r.error ?? 'no result' }));
  }

  /** The CIB as XML, serialised on the thread. */
  toXml(cib: Cib): Promise<string> {
    return this.ask({ id: --this.xmlSeq, xml: cib }).then((r) => {
      if ('text' in r && r.text !== undefined) return r.text;
      throw new Error('error' in r && r.error ? r.error : 'no XML');
    });
  }

  private ask(req: Request): Promise<Reply> {
    if (this.closed) return Promise.resolve({ id: req.id, error: 'the scheduler thread is closed' });
    const worker = this.worker ?? this.spawn();
    return new Promise((resolve) => {
      this.waiting.set(req.id, resolve);
      worker.postMessage(req);
    });
  }

  private spawn(): Worker {
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { belaySchedulerWorker: true } });
    worker.on('message', (reply: Reply) => {
      const resolve = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      resolve?.(reply);
    });
    // A worker that dies fails its runs; the next run starts a new one.
    const fail = (why: string) => {
      if (this.worker !== worker) return;
      this.worker = undefined;
      if (!this.closed) this.log(`scheduler thread: ${why}`);
      for (const [id, resolve] of this.waiting) resolve({ id, error: `scheduler thread ${why}` });
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
    for (const [id, resolve] of this.waiting) resolve({ id, error: 'the scheduler thread is closed' });
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
    if ('xml' in req) {
      try {
        port.postMessage({ id: req.id, text: cibToXml(req.xml) } satisfies Reply);
      } catch (err) {
        port.postMessage({ id: req.id, error: (err as Error).message } satisfies Reply);
      }
      return;
    }
    let result: ScheduleResult;
    try {
      result = schedulerPort(req.cib, req.nowSeconds);
    } catch (err) {
      result = { error: (err as Error).message };
    }
    port.postMessage({ id: req.id, result } satisfies Reply);
  });
}
