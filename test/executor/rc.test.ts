import { describe, expect, it } from 'vitest';
import {
  classifyResult,
  lsbToOcf,
  normalizeOcfRc,
  rcName,
  recoveryForRc,
  type ExecStatus,
  type Recovery,
} from '../../src/executor/rc.js';
import { shouldReportRecurring, operationKey } from '../../src/executor/recurring.js';

describe('OCF return codes', () => {
  // Pacemaker Explained, "OCF Return Codes": code, name, recovery when it is a failure.
  const table: [number, string, Recovery][] = [
    [0, 'OCF_SUCCESS', 'soft'],
    [1, 'OCF_ERR_GENERIC', 'soft'],
    [2, 'OCF_ERR_ARGS', 'hard'],
    [3, 'OCF_ERR_UNIMPLEMENTED', 'hard'],
    [4, 'OCF_ERR_PERM', 'hard'],
    [5, 'OCF_ERR_INSTALLED', 'hard'],
    [6, 'OCF_ERR_CONFIGURED', 'fatal'],
    [7, 'OCF_NOT_RUNNING', 'soft'],
    [8, 'OCF_RUNNING_PROMOTED', 'soft'],
    [9, 'OCF_FAILED_PROMOTED', 'soft'],
  ];
  it.each(table)('rc %i is %s with %s recovery', (rc, name, recovery) => {
    expect(rcName(rc)).toBe(name);
    expect(recoveryForRc(rc)).toBe(recovery);
  });

  it('maps codes outside the OCF range (and signals) to OCF_ERR_GENERIC, keeps 190/191', () => {
    for (const raw of [10, 42, 126, 127, 255, -1, null]) expect(normalizeOcfRc(raw)).toBe(1);
    expect(normalizeOcfRc(190)).toBe(190);
    expect(normalizeOcfRc(191)).toBe(191);
    expect(rcName(42)).toBe('OCF_UNKNOWN(42)');
  });

  it('maps LSB status codes', () => {
    expect(lsbToOcf('status', 0)).toBe(0);
    for (const c of [1, 2, 3]) expect(lsbToOcf('monitor', c)).toBe(7);
    expect(lsbToOcf('status', 4)).toBe(1);
    expect(lsbToOcf('start', 5)).toBe(5);
    expect(lsbToOcf('start', 150)).toBe(1);
  });
});

describe('classifyResult', () => {
  type Row = [string, number, number, ExecStatus, number | undefined, boolean, Recovery];
  // action, interval, rc, status, expected, ok, recovery
  const rows: Row[] = [
    ['start', 0, 0, 'done', undefined, true, 'none'],
    ['start', 0, 1, 'done', undefined, false, 'soft'],
    ['start', 0, 5, 'done', undefined, false, 'hard'],
    ['start', 0, 6, 'done', undefined, false, 'fatal'],
    ['start', 0, 7, 'done', undefined, false, 'soft'],
    ['stop', 0, 0, 'done', undefined, true, 'none'],
    ['stop', 0, 7, 'done', undefined, true, 'none'],
    ['stop', 0, 1, 'done', undefined, false, 'soft'],
    // probes: every state is an answer
    ['monitor', 0, 0, 'done', undefined, true, 'none'],
    ['monitor', 0, 7, 'done', undefined, true, 'none'],
    ['monitor', 0, 8, 'done', undefined, true, 'none'],
    ['monitor', 0, 5, 'done', undefined, false, 'hard'],
    ['monitor', 0, 0, 'done', 7, true, 'none'], // probe found it running: a state, not a failure
    ['monitor', 0, 1, 'done', 7, false, 'soft'],
    // recurring monitors expect running
    ['monitor', 10000, 0, 'done', undefined, true, 'none'],
    ['monitor', 10000, 7, 'done', undefined, false, 'soft'],
    ['monitor', 10000, 190, 'done', undefined, true, 'none'],
    ['monitor', 10000, 8, 'done', 8, true, 'none'],
    ['monitor', 10000, 191, 'done', 8, true, 'none'],
    ['monitor', 10000, 0, 'done', 8, false, 'soft'],
    ['monitor', 10000, 9, 'done', 8, false, 'soft'],
    ['monitor', 10000, 0, 'timeout', undefined, false, 'soft'],
    ['start', 0, 5, 'not-installed', undefined, false, 'hard'],
    ['monitor', 10000, 0, 'cancelled', undefined, true, 'none'],
  ];
  it.each(rows)('%s interval=%i rc=%i status=%s expected=%s -> ok=%s recovery=%s', (action, intervalMs, rc, status, expectedRc, ok, recovery) => {
    const r = classifyResult({ action, intervalMs, rc, status, expectedRc });
    expect(r.ok).toBe(ok);
    expect(r.recovery).toBe(recovery);
  });

  it('marks degraded results', () => {
    expect(classifyResult({ action: 'monitor', intervalMs: 5000, rc: 190, status: 'done' }).degraded).toBe(true);
    expect(classifyResult({ action: 'monitor', intervalMs: 5000, rc: 0, status: 'done' }).degraded).toBe(false);
  });
});

describe('recurring reporting', () => {
  it('reports the first result and then only changes', () => {
    const seq = [0, 0, 0, 7, 7, 0, 0];
    const reported: number[] = [];
    let last: { rc: number; status: ExecStatus } | undefined;
    for (const rc of seq) {
      const next = { rc, status: 'done' as ExecStatus };
      if (shouldReportRecurring(last, next)) {
        reported.push(rc);
        last = next;
      }
    }
    expect(reported).toEqual([0, 7, 0]);
    expect(shouldReportRecurring({ rc: 1, status: 'done' }, { rc: 1, status: 'timeout' })).toBe(true);
    expect(operationKey('vip', 'monitor', 10000)).toBe('vip_monitor_10000');
  });
});
