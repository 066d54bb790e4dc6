/**
 * Run one agent process: its own process group, a clean environment, no
 * shell, bounded output capture, and a timeout that kills the whole group
 * (SIGTERM, then SIGKILL after a grace) the way Pacemaker's execd does.
 *
 * node:child_process is used here rather than execa's promise: execa waits
 * for stdout/stderr to close, and a daemon an agent starts (haproxy, nginx,
 * `sleep &`) can hold the pipe open for ever; its maxBuffer also kills the
 * agent instead of just dropping output. Here the operation ends when the
 * agent itself exits, and output beyond the cap is read and discarded.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';

export const DEFAULT_KILL_GRACE_MS = 2000;
export const DEFAULT_MAX_OUTPUT_BYTES = 256 * 1024;
/** How long to keep reading output after the agent exited (daemons keep pipes). */
const DRAIN_AFTER_EXIT_MS = 100;

export interface RunOptions {
  file: string;
  args: string[];
  env: Record<string, string>;
  timeoutMs: number;
  killGraceMs?: number;
  maxOutputBytes?: number;
  /** Command run in front of the agent, e.g. ['ip', 'netns', 'exec', NS] (it must exec in place). */
  prefix?: string[];
  cwd?: string;
  /** Written to the agent's stdin, which is then closed (fence agents read their parameters there). */
  input?: string;
}

export interface RunResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** errno code when the process could not be started (ENOENT, EACCES, ...). */
  spawnError?: string;
  stdout: string;
  stderr: string;
  stdoutBytes: number;
  stderrBytes: number;
  stdoutTruncated: boolean;
  stderrTruncated: boolean;
  durationMs: number;
  pid?: number;
}

class Capture {
  private chunks: Buffer[] = [];
  kept = 0;
  total = 0;
  constructor(private readonly cap: number) {}
  add(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.cap - this.kept;
    if (room <= 0) return;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    this.chunks.push(Buffer.from(part));
    this.kept += part.length;
  }
  text(): string {
    // Invalid UTF-8 becomes U+FFFD: garbage from an agent is tolerated, never fatal.
    return Buffer.concat(this.chunks).toString('utf8');
  }
  get truncated(): boolean {
    return this.total > this.kept;
  }
}

function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Live (non-zombie) members of a process group. Zombies are left out: an
 * orphan is reaped by whatever pid 1 is, which in containers may be slow.
 * Falls back to kill(-pgid, 0) where /proc cannot be read.
 */
export function groupMembers(pgid: number): number[] {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM' ? [pgid] : [];
    }
  }
  const out: number[] = [];
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid pgrp ... ; comm may hold spaces and parentheses.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] !== 'Z' && Number(rest[2]) === pgid) out.push(Number(name));
  }
  return out;
}

export function groupAlive(pgid: number): boolean {
  return groupMembers(pgid).length > 0;
}

export function runAgentProcess(opts: RunOptions): Promise<RunResult> {
  const started = Date.now();
  const cap = opts.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const grace = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  const out = new Capture(cap);
  const err = new Capture(cap);
  const argv = [...(opts.prefix ?? []), opts.file, ...opts.args];

  return new Promise<RunResult>((resolve) => {
    let child;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        env: opts.env,
        cwd: opts.cwd ?? '/',
        detached: true, // setsid: the agent leads its own process group
        stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        shell: false,
      });
    } catch (e) {
      resolve(failed((e as NodeJS.ErrnoException).code ?? 'ESPAWN'));
      return;
    }
    let timedOut = false;
    let exited = false;
    let settled = false;
    let exitCode: number | null = null;
    let exitSignal: NodeJS.Signals | null = null;
    let timer: NodeJS.Timeout | undefined;
    let graceTimer: NodeJS.Timeout | undefined;
    let pollTimer: NodeJS.Timeout | undefined;
    const pid = child.pid;

    const streams: Readable[] = [child.stdout!, child.stderr!];
    child.stdout!.on('data', (c: Buffer) => out.add(c));
    child.stderr!.on('data', (c: Buffer) => err.add(c));
    for (const s of streams) s.on('error', () => {});
    if (opts.input !== undefined && child.stdin) {
      // An agent that exits without reading its stdin closes the pipe: EPIPE is no error of ours.
      child.stdin.on('error', () => {});
      child.stdin.end(opts.input);
    }

    function failed(code: string): RunResult {
      return {
        exitCode: null,
        signal: null,
        timedOut: false,
        spawnError: code,
        stdout: '',
        stderr: '',
        stdoutBytes: 0,
        stderrBytes: 0,
        stdoutTruncated: false,
        stderrTruncated: false,
        durationMs: Date.now() - started,
      };
    }

    const finish = (spawnError?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(graceTimer);
      clearTimeout(pollTimer);
      for (const s of streams) s.destroy();
      const r: RunResult = {
        exitCode,
        signal: exitSignal,
        timedOut,
        stdout: out.text(),
        stderr: err.text(),
        stdoutBytes: out.total,
        stderrBytes: err.total,
        stdoutTruncated: out.truncated,
        stderrTruncated: err.truncated,
        durationMs: Date.now() - started,
      };
      if (pid !== undefined) r.pid = pid;
      if (spawnError !== undefined) r.spawnError = spawnError;
      resolve(r);
    };

    // After a timeout the operation is over only when the whole group is gone.
    const waitGroupGone = () => {
      if (pid === undefined || !groupAlive(pid)) {
        if (exited) finish();
        else pollTimer = setTimeout(waitGroupGone, 50);
        return;
      }
      pollTimer = setTimeout(waitGroupGone, 50);
    };

    child.once('error', (e: NodeJS.ErrnoException) => {
      if (!exited) {
        exited = true;
        finish(e.code ?? 'ESPAWN');
      }
    });
    child.once('exit', (code, signal) => {
      exited = true;
      exitCode = code;
      exitSignal = signal;
      if (timedOut) return; // waitGroupGone finishes
      // Give the pipes a moment to deliver what the agent wrote, then stop
      // listening even if a daemon it started still holds them.
      let closed = 0;
      const onClose = () => {
        if (++closed === streams.length) finish();
      };
      for (const s of streams) {
        if (s.readableEnded || s.destroyed) onClose();
        else s.once('close', onClose);
      }
      setTimeout(() => finish(), DRAIN_AFTER_EXIT_MS).unref();
    });

    if (pid !== undefined && opts.timeoutMs > 0) {
      timer = setTimeout(() => {
        if (exited) return;
        timedOut = true;
        killGroup(pid, 'SIGTERM');
        graceTimer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
        waitGroupGone();
      }, opts.timeoutMs);
    }
  });
}
