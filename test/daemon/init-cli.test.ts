import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseClusterConfig } from '../../src/daemon/config.js';

const belay = join(import.meta.dirname, '../../bin/belay');

describe('belay init', () => {
  it('writes a cluster file the daemon reads, and will not overwrite it by accident', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'belay-init-')), 'etc', 'cluster.yaml');
    const r = await execa(belay, ['init', '--name', 'lb', '--node', 'lb1=198.18.0.11', '--node', 'lb2=198.18.0.12', '-o', out]);
    expect(r.stdout).toMatch(/wrote .*cluster\.yaml \(2 nodes\)/);
    const cfg = parseClusterConfig(readFileSync(out, 'utf8'), out);
    expect(cfg.nodes.map((n) => `${n.id}:${n.name}@${n.address}`)).toEqual(['1:lb1@198.18.0.11', '2:lb2@198.18.0.12']);
    expect(cfg.quorum.two_node).toBe(true);
    const before = statSync(out).mtimeMs;
    const again = await execa(belay, ['init', '--name', 'other', '--node', 'x=198.18.0.1', '-o', out], { reject: false });
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/exists; pass --force/);
    expect(statSync(out).mtimeMs).toBe(before);
  });

  it('names a malformed --node', async () => {
    const r = await execa(belay, ['init', '--name', 'lb', '--node', 'lb1', '-o', '/nonexistent/x.yaml'], { reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--node takes NAME=ADDRESS, not 'lb1'/);
  });
});
