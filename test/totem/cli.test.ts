/** `belay keygen`, the status commands without a node, and `belay totem run`'s refusals. Needs `npm run build`. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatQuorumStatus, formatRingStatus } from '../../src/cli/belay-ring.js';
import type { RingStatus } from '../../src/totem/udp.js';

const ROOT = resolve(import.meta.dirname, '../..');
const BELAY = join(ROOT, 'bin/belay');
const belay = (...args: string[]) => spawnSync(process.execPath, [BELAY, ...args], { encoding: 'utf8', timeout: 20_000 });

describe('belay keygen / ring status / quorum status / totem run', () => {
  let dir = '';
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist/cli/belay.js'))) throw new Error('belay is not built: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), `belay-ringcli-${process.pid}-`));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('keygen writes 128 random bytes with mode 0600 and will not overwrite without --force', () => {
    const key = join(dir, 'sub', 'authkey');
    const r = belay('keygen', '-o', key);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(key).mode & 0o777).toBe(0o600);
    const first = readFileSync(key);
    expect(first.length).toBe(128);
    const again = belay('keygen', '-o', key);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists; use --force/);
    expect(belay('keygen', '-o', key, '--force').status).toBe(0);
    expect(readFileSync(key).equals(first)).toBe(false);
  });

  it('status commands say clearly when no node is running', () => {
    const r = belay('ring', 'status', '-s', join(dir, 'nope.json'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*nope\.json.*\n.*is a totem node running/);
    const q = belay('quorum', 'status', '-s', join(dir, 'nope.json'));
    expect(q.status).toBe(1);
  });

  it('totem run refuses a bad cluster file with file:line, and a missing or short key', () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'cluster_name: x\nnodes:\n  - name: n1\n    id: 1\n    address: 127.0.0.1\ntotem:\n  tokenn: 5\n');
    const r = belay('totem', 'run', '-c', bad, '-n', 'n1');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.yaml:7: unknown key 'tokenn'/);
    const good = join(dir, 'good.yaml');
    writeFileSync(good, `cluster_name: x\nnodes:\n  - name: n1\n    id: 1\n    address: 127.0.0.1\nkey_file: ${join(dir, 'missing-key')}\n`);
    const m = belay('totem', 'run', '-c', good, '-n', 'n1');
    expect(m.status).toBe(1);
    expect(m.stderr).toMatch(/cannot read the cluster key .*missing-key.*belay keygen/);
    writeFileSync(join(dir, 'short'), 'abc');
    const s = belay('totem', 'run', '-c', good, '-n', 'n1', '-k', join(dir, 'short'));
    expect(s.status).toBe(1);
    expect(s.stderr).toMatch(/holds 3 bytes/);
    const u = belay('totem', 'run', '-c', good, '-n', 'n9');
    expect(u.status).toBe(1);
    expect(u.stderr).toMatch(/n9.*not among the nodes/);
  });

  it('formats like corosync-cfgtool -s and corosync-quorumtool -s', () => {
    const st = {
      clusterName: 'c',
      nodeId: 1,
      transport: 'udpu',
      cipher: 'aes256',
      state: 'operational',
      ring: '1.d',
      members: [1, 2],
      nodes: [
        { id: 1, name: 'n1', address: '198.18.0.1', port: 5405, votes: 1, status: 'localhost' },
        { id: 2, name: 'n2', address: '198.18.0.2', port: 5405, votes: 1, status: 'connected' },
        { id: 3, name: 'n3', address: '198.18.0.3', port: 5405, votes: 1, status: 'disconnected' },
      ],
      counters: { tokensReceived: 5, droppedOldRing: 2 },
      drops: { badAuth: 7, badFrame: 0, badCipher: 0, badDecrypt: 0 },
      quorum: { quorate: true, members: [1, 2], ring: '1.d', totalVotes: 2, expectedVotes: 3, highestExpected: 3, quorum: 2, flags: ['Quorate'], waitingForAll: false },
    } as unknown as RingStatus;
    const ring = formatRingStatus(st);
    expect(ring).toMatch(/^Local node ID 1, transport udpu$/m);
    expect(ring).toMatch(/^RING ID 1\.d, state operational, 2 members$/m);
    expect(ring).toMatch(/nodeid:\s+3:\tdisconnected/);
    expect(ring).toMatch(/dropped: unauthenticated 7,/);
    const q = formatQuorumStatus(st, new Date(Date.UTC(2026, 10, 22, 2, 25, 0)));
    const ref = readFileSync(join(ROOT, '../shared/reference/pacemaker-2.1.5/corosync-quorumtool-s.txt'), 'utf8');
    // Same labels, in the same order, as the real tool.
    const labels = (t: string) => t.split('\n').map((l) => /^([A-Za-z ]+):/.exec(l)?.[1]).filter(Boolean);
    expect(labels(q)).toEqual(labels(ref));
    expect(q).toMatch(/^Date:\s+Sun Nov 22 02:25:00 2026$/m);
    expect(q).toMatch(/^Expected votes:\s+3$/m);
    expect(q).toMatch(/^\s+1\s+1 n1 \(local\)$/m);
  });
});
