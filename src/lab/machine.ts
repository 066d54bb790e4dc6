/**
 * A lab host that behaves like a machine, not just a network namespace:
 * its own host name (UTS namespace), its own /run (a tmpfs in a private mount namespace, so pid files and
 * sockets of two hosts never meet and a reboot wipes them), and its own
 * files under /etc (ip netns exec binds /etc/netns/NS/X over /etc/X).
 *
 * An "init" process (sleep) holds the mount namespace; everything else on
 * the host is entered with nsenter through it. Killing every process of the
 * network namespace therefore powers the machine off.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { execa, type Options as ExecaOptions, type Result } from 'execa';
import type { Lab } from './netns.js';

export const NETNS_ETC = '/etc/netns';

/** Files that appear under /etc on one host only, e.g. {'haproxy/haproxy.cfg': text}. */
export function writeHostEtc(netns: string, files: Record<string, string | { text: string | Uint8Array; mode: number }>): void {
  for (const [rel, content] of Object.entries(files)) {
    if (rel.startsWith('/') || rel.split('/').includes('..')) throw new Error(`bad /etc path for a lab host: ${rel}`);
    const path = join(NETNS_ETC, netns, rel);
    mkdirSync(dirname(path), { recursive: true });
    if (typeof content === 'string') writeFileSync(path, content);
    else writeFileSync(path, content.text, { mode: content.mode });
  }
}

export function removeHostEtc(netns: string): void {
  rmSync(join(NETNS_ETC, netns), { recursive: true, force: true });
}

/**
 * Power a host on: start its init, which holds a private mount namespace
 * with a fresh /run. `disks` maps a directory of the host (e.g.
 * /var/lib/belay) to a directory that keeps its content across reboots.
 */
export async function bootMachine(lab: Lab, hostName: string, disks: Record<string, string> = {}): Promise<number> {
  const host = lab.host(hostName);
  // Names and paths arrive as arguments ($1, $2 $3 ...), never inside the script text.
  const script = [
    'hostname "$1" && shift',
    'mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p /run/lock',
    'while [ $# -ge 2 ]; do mkdir -p "$1" "$2" && mount --bind "$2" "$1" || exit 1; shift 2; done',
    'echo ready',
    'exec sleep infinity',
  ].join('\n');
  const diskArgs = Object.entries(disks).flat();
  const init = spawn('ip', ['netns', 'exec', host.netns, 'unshare', '--mount', '--uts', '--propagation', 'private', '--', 'sh', '-c', script, 'init', hostName, ...diskArgs], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`host ${hostName} did not boot: ${err}`)), 10_000);
    init.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    init.stdout!.once('data', () => {
      clearTimeout(timer);
      resolve(init.pid!);
    });
    init.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`host ${hostName} init exited (${code}): ${err.trim()}`));
    });
  });
  init.stdout!.destroy();
  init.stderr!.destroy();
  init.unref();
  // "ready" comes just before `exec sleep infinity`: a booted host is one
  // whose init is that sleep (the lab's liveness check looks for it).
  for (let i = 0; i < 500 && !isBootedInit(pid); i++) await new Promise((r) => setTimeout(r, 10));
  return pid;
}

/** The host's init has finished booting (it is `sleep infinity`). */
export function isBootedInit(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8') === 'sleep\0infinity\0';
  } catch {
    return false;
  }
}

function enter(initPid: number): string[] {
  return ['nsenter', `--target=${initPid}`, '--mount', '--uts', '--net', '--'];
}

/** Run a command on a booted host and wait for it. */
export function machineExec(initPid: number, argv: string[], options: ExecaOptions = {}): Promise<Result> {
  return execa(enter(initPid)[0]!, [...enter(initPid).slice(1), ...argv], options) as Promise<Result>;
}

/** Start a long-running process on a host, detached, with its output in a log file. */
export function machineSpawn(initPid: number, argv: string[], logFile: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(enter(initPid)[0]!, [...enter(initPid).slice(1), ...argv], { detached: true, stdio: ['ignore', fd, fd], env });
    child.unref();
    return child;
  } finally {
    closeSync(fd);
  }
}
