/**
 * Totem on its own thread, as Corosync is a process of its own: belayd's
 * main thread applies large messages (a 1,000-resource node-state or CIB
 * offer takes hundreds of ms on a loaded host), and a token that waits
 * behind such a step is lost, the ring re-forms, every node sends its state
 * again, and the next steps are as long: the ring never settles. On its own
 * event loop, totem answers the token whatever the main thread is doing.
 *
 * The worker runs the same totem node (src/totem/udp.ts) and posts its
 * stack's output in the stack's order: one list per turn of its loop, so
 * deliveries and configuration changes reach the main thread exactly in
 * the order the simulator and the in-thread shell see them.
 *
 * The same file is the worker's entry point.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { ringKey, startTotem, type RingStatus, type TotemConfig, type TotemNode } from '../totem/udp.js';

/** What the worker posts: events in the stack's order. */
export type TotemThreadEvent =
  | { kind: 'deliver'; from: number; payload: Uint8Array; transitional: boolean }
  | { kind: 'membership'; ringId: string; members: number[]; quorate: boolean }
  | { kind: 'status'; status: RingStatus }
  | { kind: 'log'; line: string }
  | { kind: 'started' }
  | { kind: 'failed'; error: string }
  | { kind: 'stopped' };

/** What the main thread posts. */
export type TotemThreadCommand = { kind: 'send'; payload: Uint8Array; safe: boolean } | { kind: 'stop' };

interface ThreadData {
  belayTotemWorker: true;
  config: Omit<TotemConfig, 'log'>;
  key: Uint8Array;
  statusFile: string;
}

export interface TotemThreadHandlers {
  deliver(from: number, payload: Uint8Array, transitional: boolean): void;
  membership(ringId: string, members: number[], quorate: boolean): void;
  log(line: string): void;
  /** The thread died: the node is no longer in the cluster. */
  failed(why: string): void;
}

/** The main thread's side: start, send, status, stop. */
export class TotemThread {
  private worker: Worker | undefined;
  private lastStatus: RingStatus | undefined;
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly config: TotemConfig,
    private readonly key: Uint8Array,
    private readonly statusFile: string,
  ) {}

  start(handlers: TotemThreadHandlers): Promise<void> {
    const { log: _log, ...config } = this.config;
    const data: ThreadData = { belayTotemWorker: true, config, key: this.key, statusFile: this.statusFile };
    const worker = new Worker(fileURLToPath(import.meta.url), { workerData: data });
    this.worker = worker;
    return new Promise((resolve, reject) => {
      let started = false;
      worker.on('message', (batch: TotemThreadEvent[]) => {
        for (const e of batch) {
          switch (e.kind) {
            case 'deliver':
              handlers.deliver(e.from, e.payload, e.transitional);
              break;
            case 'membership':
              handlers.membership(e.ringId, e.members, e.quorate);
              break;
            case 'status':
              this.lastStatus = e.status;
              break;
            case 'log':
              handlers.log(e.line);
              break;
            case 'started':
              started = true;
              resolve();
              break;
            case 'failed':
              if (!started) reject(new Error(e.error));
              else handlers.failed(e.error);
              break;
            case 'stopped':
              break;
          }
        }
      });
      const died = (why: string) => {
        if (this.worker !== worker) return;
        this.worker = undefined;
        if (!started) reject(new Error(`totem thread ${why}`));
        else if (!this.stopping) handlers.failed(`totem thread ${why}`);
      };
      worker.on('error', (err) => died(`failed: ${err.message}`));
      worker.on('exit', (code) => died(`exited (${code})`));
    });
  }

  send(payload: Uint8Array, safe: boolean): void {
    this.worker?.postMessage({ kind: 'send', payload, safe } satisfies TotemThreadCommand);
  }

  /** The ring as of the thread's last report (at most a second old, fresh after every change). */
  status(): RingStatus | undefined {
    return this.lastStatus;
  }

  stop(): Promise<void> {
    const worker = this.worker;
    if (!worker) return Promise.resolve();
    this.stopping ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => void worker.terminate(), 5000);
      worker.once('exit', () => {
        clearTimeout(timer);
        this.worker = undefined;
        resolve();
      });
      worker.on('message', (batch: TotemThreadEvent[]) => {
        if (batch.some((e) => e.kind === 'stopped')) void worker.terminate();
      });
      worker.postMessage({ kind: 'stop' } satisfies TotemThreadCommand);
    });
    return this.stopping;
  }
}

// ---------------------------------------------------------------- the worker

if (!isMainThread && parentPort && (workerData as ThreadData | undefined)?.belayTotemWorker) {
  const port = parentPort;
  const data = workerData as ThreadData;
  let batch: TotemThreadEvent[] = [];
  let flushQueued = false;
  // One message per turn of this loop: the stack's events keep their order
  // and the main thread is not woken once per delivery.
  const post = (e: TotemThreadEvent) => {
    batch.push(e);
    if (flushQueued) return;
    flushQueued = true;
    setImmediate(() => {
      flushQueued = false;
      const out = batch;
      batch = [];
      port.postMessage(out);
    });
  };
  let node: TotemNode | undefined;
  const writeStatus = () => {
    if (!node) return;
    const status = node.status();
    post({ kind: 'status', status });
    try {
      mkdirSync(dirname(data.statusFile), { recursive: true, mode: 0o755 });
      atomicWriteFileSync(data.statusFile, JSON.stringify(status));
    } catch (err) {
      post({ kind: 'log', line: `cannot write ${data.statusFile}: ${(err as Error).message}` });
    }
  };
  let statusTimer: NodeJS.Timeout | undefined;
  port.on('message', (cmd: TotemThreadCommand) => {
    if (cmd.kind === 'send') node?.send(cmd.payload, { safe: cmd.safe });
    else if (cmd.kind === 'stop') {
      clearInterval(statusTimer);
      void (node?.stop() ?? Promise.resolve()).then(() => {
        port.postMessage([...batch, { kind: 'stopped' }]);
        batch = [];
      });
    }
  });
  startTotem({ ...data.config, log: (line) => post({ kind: 'log', line }) }, data.key).then(
    (n) => {
      node = n;
      // A compact copy: posting a view would copy the whole packet buffer behind it.
      n.on('deliver', (d) => post({ kind: 'deliver', from: d.origin, payload: d.payload.slice(), transitional: d.transitional }));
      n.on('confchg', (c, quorum) => {
        if (c.kind === 'regular') post({ kind: 'membership', ringId: ringKey(c.ring), members: c.members, quorate: quorum?.quorate === true });
        writeStatus();
      });
      n.on('error', (err) => post({ kind: 'log', line: `totem: ${err.message}` }));
      statusTimer = setInterval(writeStatus, 1000);
      writeStatus();
      post({ kind: 'started' });
    },
    (err: unknown) => post({ kind: 'failed', error: err instanceof Error ? err.message : String(err) }),
  );
}
