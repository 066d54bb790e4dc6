/**
 * A client that asks the VIP over HTTP every few milliseconds from a lab
 * host and records every answer: when, whether it worked, which load
 * balancer (X-Served-By header) and which app server (the page) answered.
 * The failover gap and the failed requests are read off these records.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './netns.js';

/** Runs inside the client host: one line per request, "t ok LB PAGE" or "t err REASON". */
const CLIENT = `
import http from 'node:http';
const [url, everyMs, timeoutMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
let stop = false;
process.on('SIGTERM', () => { stop = true; setTimeout(() => process.exit(0), timeoutMs + 50); });
function once() {
  const t = Date.now();
  let done = false;
  const fin = (s) => { if (!done) { done = true; process.stdout.write(t + ' ' + s + '\\n'); } };
  const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
    let body = '';
    res.on('data', (d) => (body += d));
    res.on('end', () => fin(res.statusCode === 200
      ? 'ok ' + (res.headers['x-served-by'] || '-') + ' ' + body.trim().replace(/\\s+/g, ' ')
      : 'err http' + res.statusCode));
    res.on('error', () => fin('err body'));
  });
  req.on('timeout', () => { req.destroy(); fin('err timeout'); });
  req.on('error', (e) => fin('err ' + (e.code || 'error')));
}
const timer = setInterval(() => { if (stop) { clearInterval(timer); return; } once(); }, everyMs);
once();
`;

export interface Answer {
  /** ms since the epoch when the request was sent. */
  t: number;
  ok: boolean;
  /** The load balancer that answered (X-Served-By), or '-'. */
  lb: string;
  /** The page, e.g. "Droplet: app-1, IP Address: 198.18.0.21". */
  page: string;
  /** Why it failed, for failures. */
  error: string;
}

export interface Gap {
  /** From the last answer before the outage to the first one after it. */
  gapMs: number;
  failed: number;
  before: Answer;
  after: Answer;
}

export class HttpPoller {
  readonly answers: Answer[] = [];
  private readonly child: ChildProcess;
  private buffered = '';

  constructor(lab: Lab, clientHost: string, url: string, workDir: string, everyMs = 10, timeoutMs = 100) {
    const file = join(workDir, 'http-client.mjs');
    writeFileSync(file, CLIENT);
    this.child = lab.spawn(clientHost, [process.execPath, file, url, String(everyMs), String(timeoutMs)], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buffered += d.toString();
      let nl: number;
      while ((nl = this.buffered.indexOf('\n')) >= 0) {
        const line = this.buffered.slice(0, nl);
        this.buffered = this.buffered.slice(nl + 1);
        const [t, status, lb, ...rest] = line.split(' ');
        const ok = status === 'ok';
        this.answers.push({ t: Number(t), ok, lb: ok ? lb ?? '-' : '', page: ok ? rest.join(' ') : '', error: ok ? '' : [lb, ...rest].join(' ') });
      }
    });
  }

  lastOk(): Answer | undefined {
    for (let i = this.answers.length - 1; i >= 0; i--) if (this.answers[i]!.ok) return this.answers[i];
    return undefined;
  }

  /**
   * The outage that follows `since`: the first failed request after it, back
   * to the last good answer before that, forward to the first good answer
   * after it. Undefined when nothing failed, or the outage has not ended.
   */
  gapAfter(since: number): Gap | undefined {
    const sorted = [...this.answers].sort((a, b) => a.t - b.t);
    const firstFail = sorted.findIndex((a) => a.t >= since && !a.ok);
    if (firstFail < 0) return undefined;
    let b = firstFail - 1;
    while (b >= 0 && !sorted[b]!.ok) b--;
    const a = sorted.findIndex((x, i) => i > firstFail && x.ok);
    if (b < 0 || a < 0) return undefined;
    const failed = sorted.slice(b + 1, a).filter((x) => !x.ok).length;
    return { gapMs: sorted[a]!.t - sorted[b]!.t, failed, before: sorted[b]!, after: sorted[a]! };
  }

  /** Answers and failures counted by app server page and by load balancer. */
  tally(): { byApp: Map<string, number>; byLb: Map<string, number>; failed: number } {
    const byApp = new Map<string, number>();
    const byLb = new Map<string, number>();
    let failed = 0;
    for (const a of this.answers) {
      if (!a.ok) {
        failed++;
        continue;
      }
      const app = /Droplet: ([^,]+)/.exec(a.page)?.[1] ?? a.page;
      byApp.set(app, (byApp.get(app) ?? 0) + 1);
      byLb.set(a.lb, (byLb.get(a.lb) ?? 0) + 1);
    }
    return { byApp, byLb, failed };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 1000))]);
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/**
 * Which nodes have the VIP on their interface, sampled from outside the
 * hosts every few milliseconds (`ip -n NS addr`): the check that no two
 * machines ever hold the address at once.
 */
export class VipSampler {
  readonly samples: Array<{ t: number; holders: string[] }> = [];
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly lab: Lab,
    private readonly nodes: string[],
    private readonly vip: string,
    private readonly everyMs = 50,
  ) {
    this.loop = this.run();
  }

  private holds(node: string): Promise<boolean> {
    const h = this.lab.host(node);
    return new Promise((resolve) => {
      execFile('ip', ['-n', h.netns, '-4', '-o', 'addr', 'show', 'dev', h.ifname], (err, stdout) => resolve(!err && String(stdout).includes(` ${this.vip}/`)));
    });
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const t = Date.now();
      const held = await Promise.all(this.nodes.map((n) => this.holds(n)));
      this.samples.push({ t, holders: this.nodes.filter((_, i) => held[i]) });
      await new Promise((r) => setTimeout(r, this.everyMs));
    }
  }

  /** Samples where more than one node held the address. */
  twoHolderSamples(since = 0): number {
    return this.samples.filter((s) => s.t >= since && s.holders.length > 1).length;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

/** The load balancers that answered after `since`, in order, each run once: ['n2', 'n1'] is one handover. */
export function answeringRuns(answers: Answer[], since: number): string[] {
  const runs: string[] = [];
  for (const a of [...answers].sort((x, y) => x.t - y.t)) {
    if (a.t < since || !a.ok) continue;
    if (runs[runs.length - 1] !== a.lb) runs.push(a.lb);
  }
  return runs;
}
