/** A `belay` child process speaking JSON lines (for the totem process tests). */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BELAY = join(ROOT, 'bin/belay');

export interface Ev {
  event: string;
  [k: string]: unknown;
}

export class Proc {
  child: ChildProcessWithoutNullStreams;
  events: Ev[] = [];
  stderr = '';
  private buf = '';
  private waiters: Array<() => void> = [];
  constructor(
    readonly name: string,
    args: string[],
    /** Run under this wrapper (e.g. ip netns exec NS). */
    prefix: string[] = [],
  ) {
    const argv = [...prefix, process.execPath, BELAY, ...args];
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, i);
        this.buf = this.buf.slice(i + 1);
        try {
          this.events.push(JSON.parse(line) as Ev);
        } catch {
          this.stderr += `bad line: ${line}\n`;
        }
        for (const w of this.waiters.splice(0)) w();
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }
  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }
  async waitFor(pred: (evs: Ev[]) => boolean, ms: number, what: string): Promise<void> {
    const end = Date.now() + ms;
    while (!pred(this.events)) {
      const left = end - Date.now();
      if (left <= 0 || this.child.exitCode !== null) {
        throw new Error(`${this.name}: timed out waiting for ${what}; exit ${this.child.exitCode}; stderr: ${this.stderr.slice(-2000)}`);
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }
  lastRing(): Ev | undefined {
    return [...this.events].reverse().find((e) => e.event === 'confchg' && e.kind === 'regular');
  }
  delivered(): string[] {
    return this.events.filter((e) => e.event === 'deliver').map((e) => String(e.payload));
  }
  kill(sig: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.pid) process.kill(this.child.pid, sig);
  }
}


export const ringOf = (p: Proc, members: number[]) => () => {
  const r = p.lastRing();
  return r !== undefined && JSON.stringify(r.members) === JSON.stringify(members);
};

/** A UDP port free on 127.0.0.1 just now (the kernel picks it), for a test cluster. */
export async function freeUdpPort(): Promise<number> {
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
