/**
 * What the LVS lab tests share: one lab of network namespaces per test, its
 * work directory and `belay keepalived` daemons, torn down after each test
 * even on failure; the client's requests and their tally.
 */
import { afterEach } from 'vitest';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { Lab, requireCommands } from '../../src/lab/netns.js';
import { BELAY_BIN, makeWorkDir, requireKeepalivedLab, startDaemon, stopDaemon, type DaemonHandle } from '../../src/lab/keepalived-demo.js';

const dist = path.resolve(BELAY_BIN, '..', '..', 'dist');

export interface LvsLab {
  /** A new lab with these hosts (root, nft, nginx, curl and a build needed: fails loudly without them). */
  setup(hosts: string[]): Promise<Lab>;
  /** The current test's work directory. */
  readonly work: string;
  /** `belay keepalived` on `host` with this configuration, stopped after the test. */
  start(l: Lab, host: string, conf: string): DaemonHandle;
}

export function lvsLab(what: string, tag: string): LvsLab {
  let lab: Lab | null = null;
  let work = '';
  const daemons: DaemonHandle[] = [];
  afterEach(async () => {
    for (const d of daemons.splice(0)) await stopDaemon(d, 3000);
    await lab?.destroy();
    lab = null;
    if (work) rmSync(work, { recursive: true, force: true });
    work = '';
  });
  return {
    async setup(hosts) {
      requireKeepalivedLab(what);
      requireCommands(what, { nft: 'nftables' });
      if (!existsSync(path.join(dist, 'cli', 'belay.js'))) throw new Error('run `npm run build` first: dist/cli/belay.js is missing');
      lab = await Lab.create({ tag: `${tag}-${process.pid % 10000}` });
      work = makeWorkDir(`blv-${tag}-`);
      for (const h of hosts) await lab.addHost(h);
      return lab;
    },
    get work() {
      return work;
    },
    start(l, host, conf) {
      const file = path.join(work, `keepalived-${host}.conf`);
      writeFileSync(file, conf);
      const d = startDaemon(l, host, 'belay', file, work);
      daemons.push(d);
      return d;
    },
  };
}

/** A shell command on a lab host; its standard output. */
export async function sh(l: Lab, host: string, cmd: string): Promise<string> {
  return String((await l.exec(host, ['sh', '-c', cmd])).stdout);
}

/** `n` sequential requests from the client; each answer is the real server's name, or 'FAIL'. */
export async function requests(l: Lab, url: string, n: number): Promise<string[]> {
  return (await sh(l, 'client', `for i in $(seq ${n}); do curl -g -s -m 3 '${url}' || echo FAIL; done`)).trim().split('\n');
}

export const count = (xs: string[]) => xs.reduce<Record<string, number>>((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {});
