/**
 * The fault campaign (bench/faults.mjs) as a CI test: 5 minutes of faults
 * with fencing on (the tutorial's fenced form: the lab's power switch as the
 * fence device; the 30-minute run is `node bench/faults.mjs --minutes 30
 * --fencing`). The tutorial topology on 3 load balancers, random crash / reboot / kill -9 of belayd /
 * partition / 20% loss / hung haproxy / busy cores from a fixed seed; after
 * each fault the floating IP must be on exactly one host, every node's
 * configuration as before, crm_mon the same on every node, and no move of
 * the floating IP that the fault did not call for.
 */
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BENCH = fileURLToPath(new URL('../../bench/faults.mjs', import.meta.url));

interface Summary {
  faults: number;
  violations: number;
  falseFailovers: number;
  medianGapMs: number;
  maxGapMs: number;
  rows: Array<{ kind: string; target: string; violations: string[]; falseFailover: boolean }>;
}

describe('fault campaign (bench/faults.mjs --minutes 5 --fencing)', () => {
  it('keeps one floating IP holder, one configuration and one view under random faults', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BENCH, '--minutes', '5', '--fencing', '--seed', '11', '--json'], { maxBuffer: 16 * 1024 * 1024, timeout: 1_020_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });
    const line = out.stdout.trim().split('\n').at(-1) ?? '';
    if (!line.startsWith('{')) throw new Error(`the campaign printed no summary (exit ${out.code}):\n${out.stderr.slice(-4000)}`);
    const s = JSON.parse(line) as Summary;
    console.log(`fault campaign: ${s.faults} faults, ${s.violations} violations, client gap median ${s.medianGapMs} ms / max ${s.maxGapMs} ms, ${s.falseFailovers} false failovers`);
    expect(s.faults, out.stderr.slice(-4000)).toBeGreaterThanOrEqual(3);
    expect(s.rows.filter((r) => r.violations.length > 0), out.stderr.slice(-4000)).toEqual([]);
    expect(s.rows.filter((r) => r.falseFailover), out.stderr.slice(-4000)).toEqual([]);
    expect(out.code).toBe(0);
  }, 1_080_000);
});
