/**
 * Operation digests against values recorded by real Pacemaker in the
 * regression cases (../shared/scheduler-cases).
 */
import { describe, expect, it } from 'vitest';
import { operationDigest, restartDigest, secureDigest } from '../../src/scheduler/digest.js';

describe('operation digests (Pacemaker op-digest)', () => {
  it.each([
    // tier2/params-0: DcIPaddr start (interval 0: parameters only)
    [{ ip: '127.0.0.10' }, 0, undefined, '21ccbd2b8e65014ca7b36a2070642a2e'],
    // tier2/params-0: DcIPaddr monitor=5000 timeout=20s (recurring: CRM_meta_timeout hashed)
    [{ ip: '127.0.0.10' }, 5000, 20000, '517d7b3575d97d408fbe19f3cfcc69fe'],
    // tier2/novell-239087: fs_1 (target_role="#default" unset before hashing)
    [{ fstype: 'reiserfs', directory: '/mnt/share1', device: '/dev/drbd0' }, 0, undefined, 'e38fc095cd72534897b21e24a8484122'],
    // no parameters at all
    [{}, 0, undefined, 'f2317cad3d54cec5d7d7aa7d0bf35cf8'],
  ])('%j interval %i -> %s', (params, interval, timeout, want) => {
    expect(operationDigest(params as Record<string, string>, interval as number, timeout as number | undefined)).toBe(want);
  });

  it('ignores CRM_meta_* and bookkeeping attributes, and the timeout of one-shot operations', () => {
    const plain = operationDigest({ ip: '127.0.0.10' });
    expect(operationDigest({ ip: '127.0.0.10', CRM_meta_timeout: '20000', CRM_meta_interval: '0', id: 'x' }, 0, 20000)).toBe(plain);
    expect(operationDigest({ ip: '127.0.0.20' })).not.toBe(plain);
  });

  it('restart digest keeps only op-force-restart parameters', () => {
    expect(restartDigest(new Map([['ip', '1'], ['dummy', '2']]), ' ip ')).toBe(operationDigest({ ip: '1' }));
    expect(restartDigest(new Map([['ip', '1']]), ' dummy ')).toBe('f2317cad3d54cec5d7d7aa7d0bf35cf8');
  });

  it('secure digest drops op-secure-params and a fence device pcmk_* parameters (tier2/on-fail-ignore)', () => {
    const params = new Map(Object.entries({
      delay: '4', ipaddr: '192.168.103.3', lanplus: '1', login: 'root', method: 'onoff', passwd: '****',
      pcmk_host_check: 'static-list', pcmk_host_list: '407888-db1', power_wait: '4',
    }));
    expect(secureDigest(params, ' passwd  password ', true)).toBe('d7ead554cd349871ab13dad142fdd3f9');
  });
});
