import { describe, expect, it } from 'vitest';
import { processMatches, QuorumTracker } from '../../src/vrrp/track-process.js';

const proc = (comm: string, ...argv: string[]) => ({ comm, argv });

describe('track_process matching (keepalived semantics)', () => {
  it('the name is matched exactly against the process name, not as a pattern', () => {
    expect(processMatches({ process: 'ssh' }, proc('ssh', '/usr/bin/ssh', 'host'))).toBe(true);
    expect(processMatches({ process: 'ssh' }, proc('sshd', '/usr/sbin/sshd', '-D'))).toBe(false);
    // The kernel keeps 15 characters of a name.
    expect(processMatches({ process: 'a-very-long-daemon-name' }, proc('a-very-long-dae', '/opt/a-very-long-daemon-name'))).toBe(true);
  });

  it('parameters: exact by default, partial lets the process have more, initial lets the last one be longer', () => {
    const p = proc('haproxy', '/usr/sbin/haproxy', '-Ws', '-f', '/etc/haproxy/haproxy.cfg');
    expect(processMatches({ process: 'haproxy', params: ['-Ws', '-f', '/etc/haproxy/haproxy.cfg'] }, p)).toBe(true);
    expect(processMatches({ process: 'haproxy', params: ['-Ws', '-f'] }, p)).toBe(false);
    expect(processMatches({ process: 'haproxy', params: ['-Ws', '-f'], paramMatch: 'partial' }, p)).toBe(true);
    expect(processMatches({ process: 'haproxy', params: ['-Ws', '-f', '/etc/hap'], paramMatch: 'initial' }, p)).toBe(true);
    expect(processMatches({ process: 'haproxy', params: ['-Ws', '-g'], paramMatch: 'partial' }, p)).toBe(false);
    // param_match without parameters: the process must have none.
    expect(processMatches({ process: 'haproxy', paramMatch: 'exact' }, p)).toBe(false);
    expect(processMatches({ process: 'haproxy', paramMatch: 'exact' }, proc('haproxy', 'haproxy'))).toBe(true);
    // full_command: argv[0] as written.
    expect(processMatches({ process: '/usr/sbin/haproxy', fullCommand: true, params: ['-Ws'], paramMatch: 'partial' }, p)).toBe(true);
    expect(processMatches({ process: 'haproxy', fullCommand: true }, p)).toBe(false);
  });
});

describe('quorum, quorum_max and the delays', () => {
  it('up within quorum..quorum_max only', () => {
    const q = new QuorumTracker({ quorum: 2, quorumMax: 3 });
    expect([0, 1, 2, 3, 4].map((n) => q.inQuorum(n))).toEqual([false, false, true, true, false]);
  });

  it('terminate_delay holds a loss, fork_delay holds a gain; a bounce within the delay never counts', () => {
    const q = new QuorumTracker({ quorum: 1, forkDelayMs: 300, terminateDelayMs: 1000 });
    expect(q.sample(1, 0)).toBe(true); // first sample decides at once
    expect(q.sample(0, 100)).toBe(true); // lost, but terminate_delay not over
    expect(q.dueAt()).toBe(1100);
    expect(q.sample(1, 600)).toBe(true); // back within the delay: no change
    expect(q.dueAt()).toBeNull();
    expect(q.sample(0, 700)).toBe(true);
    expect(q.sample(0, 1699)).toBe(true);
    expect(q.sample(0, 1700)).toBe(false); // held for 1000 ms: down
    expect(q.sample(1, 1800)).toBe(false); // fork_delay
    expect(q.sample(1, 2100)).toBe(true);
  });
});
