/**
 * track_file, track_process and notify_fifo on a real `belay keepalived` in
 * a network namespace: the file's value and a process's presence move the
 * effective priority (status file), state lines reach the FIFO's reader.
 * Needs root; `npm run build` first.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { Lab } from '../../src/lab/netns.js';
import { BELAY_BIN, makeWorkDir, requireKeepalivedLab, startDaemon, stopDaemon, waitFor, type DaemonHandle } from '../../src/lab/keepalived-demo.js';

let lab: Lab | null = null;
let work = '';
let daemon: DaemonHandle | null = null;
let proc: ChildProcess | null = null;

afterEach(async () => {
  if (proc && proc.exitCode === null) proc.kill('SIGKILL');
  proc = null;
  if (daemon) await stopDaemon(daemon, 3000);
  daemon = null;
  await lab?.destroy();
  lab = null;
  if (work) rmSync(work, { recursive: true, force: true });
  work = '';
});

describe('track_file, track_process, notify_fifo', () => {
  it('move the priority and report states through the FIFO', async () => {
    requireKeepalivedLab('the tracking test');
    if (!existsSync(path.resolve(BELAY_BIN, '..', '..', 'dist', 'cli', 'belay.js'))) throw new Error('run `npm run build` first: dist/cli/belay.js is missing');
    lab = await Lab.create({ tag: `tr${process.pid % 10000}` });
    work = makeWorkDir('belay-track-');
    await lab.addHost('n1');
    const prioFile = path.join(work, 'prio');
    const fifo = path.join(work, 'k.fifo');
    const fifoOut = path.join(work, 'fifo.out');
    const reader = path.join(work, 'reader.sh');
    writeFileSync(reader, `#!/bin/sh\nexec cat "$1" >> ${fifoOut}\n`, { mode: 0o755 });
    // A process with a name of its own to track.
    const sleeper = path.join(work, 'belaytrk');
    copyFileSync('/bin/sleep', sleeper);
    writeFileSync(
      path.join(work, 'k.conf'),
      `global_defs {\n  notify_fifo ${fifo}\n  notify_fifo_script ${reader}\n}\n` +
        `track_file prio {\n  file ${prioFile}\n  weight -10\n  init_file 0 overwrite\n}\n` +
        `track_process trk {\n  process belaytrk\n  weight 15\n}\n` +
        `vrrp_instance VI_1 {\n  interface eth0\n  virtual_router_id 71\n  priority 100\n  advert_int 1\n  virtual_ipaddress {\n    ${lab.subnet}.71/24\n  }\n` +
        `  track_file {\n    prio\n  }\n  track_process {\n    trk\n  }\n}\n`,
    );
    daemon = startDaemon(lab, 'n1', 'belay', path.join(work, 'k.conf'), work);
    const status = () => {
      try {
        return (JSON.parse(readFileSync(daemon!.statusFile, 'utf8')) as { status: { instances: { state: string; effectivePriority: number }[] } }).status.instances[0];
      } catch {
        return undefined;
      }
    };
    await waitFor(() => status()?.state === 'MASTER', 15_000, 'MASTER');
    expect(status()!.effectivePriority).toBe(100);
    await waitFor(() => existsSync(fifoOut) && readFileSync(fifoOut, 'utf8').includes('INSTANCE "VI_1" MASTER 100'), 5_000, 'the MASTER line from the FIFO');
    writeFileSync(prioFile, '2\n');
    await waitFor(() => status()?.effectivePriority === 80, 5_000, 'track_file 2 × -10');
    proc = lab.spawn('n1', [sleeper, '600'], { stdio: 'ignore' });
    await waitFor(() => status()?.effectivePriority === 95, 5_000, 'track_process +15');
    proc.kill('SIGKILL');
    await waitFor(() => status()?.effectivePriority === 80, 5_000, 'process gone');
    await stopDaemon(daemon, 5000);
    expect(readFileSync(daemon.logFile, 'utf8')).toMatch(/Changing effective priority from 100 to 80/);
  }, 60_000);
});
