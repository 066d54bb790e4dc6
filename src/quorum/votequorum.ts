/**
 * votequorum rules (Corosync's quorum provider), pure: feed it the regular
 * configuration changes of totem and it says whether this partition is
 * quorate. No clock: last_man_standing asks for a timer and is told when it
 * fires.
 *
 *  - every node has `votes` (default 1); expected_votes defaults to the sum.
 *  - quorum = floor(expected / 2) + 1; quorate when the members' votes reach it.
 *  - two_node: with exactly two expected votes one node is quorate; it implies
 *    wait_for_all unless told otherwise.
 *  - wait_for_all: not quorate until all expected votes have been seen at once.
 *  - last_man_standing: after the membership has been stable and quorate for
 *    the window, expected_votes drops to the votes present, so the cluster can
 *    shrink step by step down to one node.
 */

export interface QuorumConfig {
  nodeId: number;
  /** Votes per configured node id. */
  votes: Map<number, number>;
  expected_votes?: number;
  two_node?: boolean;
  wait_for_all?: boolean;
  last_man_standing?: boolean;
  /** ms of stable membership before last_man_standing lowers expected votes (Corosync: 10000). */
  last_man_standing_window?: number;
}

export interface QuorumStatus {
  quorate: boolean;
  members: number[];
  ring: string;
  totalVotes: number;
  expectedVotes: number;
  highestExpected: number;
  quorum: number;
  flags: string[];
  waitingForAll: boolean;
}

export type QuorumInput = { type: 'membership'; members: number[]; ring: string } | { type: 'timer'; name: 'lms' };

export interface QuorumOutput {
  /** Set when quorate-ness or the member list changed. */
  event?: QuorumStatus;
  timers: Array<{ name: 'lms'; ms: number | null }>;
}

export class QuorumError extends Error {}

export class VoteQuorum {
  private readonly cfg: QuorumConfig;
  private readonly configuredExpected: number;
  private expected: number;
  private highestExpected: number;
  private members: number[] = [];
  private ring = '';
  private waiting: boolean;
  private quorate = false;
  private lmsArmed = false;

  constructor(cfg: QuorumConfig) {
    this.cfg = cfg;
    for (const [id, v] of cfg.votes) {
      if (!Number.isInteger(v) || v < 0) throw new QuorumError(`quorum: node ${id} has bad votes ${v}`);
    }
    const sum = [...cfg.votes.values()].reduce((a, b) => a + b, 0);
    this.configuredExpected = cfg.expected_votes ?? sum;
    if (this.configuredExpected < 1) throw new QuorumError('quorum: expected_votes must be at least 1');
    if (cfg.two_node && this.configuredExpected !== 2) throw new QuorumError('quorum: two_node needs exactly 2 expected votes');
    this.expected = this.configuredExpected;
    this.highestExpected = this.expected;
    this.waiting = cfg.wait_for_all === true || cfg.two_node === true;
  }

  private votesOf(members: number[]): number {
    return members.reduce((a, m) => a + (this.cfg.votes.get(m) ?? 0), 0);
  }

  private quorumOf(expected: number): number {
    if (this.cfg.two_node && expected === 2) return 1;
    return Math.floor(expected / 2) + 1;
  }

  status(): QuorumStatus {
    const total = this.votesOf(this.members);
    const flags: string[] = [];
    if (this.quorate) flags.push('Quorate');
    if (this.cfg.two_node) flags.push('2Node');
    if (this.cfg.wait_for_all || this.cfg.two_node) flags.push('WaitForAll');
    if (this.cfg.last_man_standing) flags.push('LastManStanding');
    return {
      quorate: this.quorate,
      members: [...this.members],
      ring: this.ring,
      totalVotes: total,
      expectedVotes: this.expected,
      highestExpected: this.highestExpected,
      quorum: this.quorumOf(this.expected),
      flags,
      waitingForAll: this.waiting,
    };
  }

  step(input: QuorumInput): QuorumOutput {
    const out: QuorumOutput = { timers: [] };
    const before = this.quorate;
    const beforeMembers = this.members.join(',');
    if (input.type === 'membership') {
      const grew = input.members.some((m) => !this.members.includes(m));
      this.members = [...new Set(input.members)].sort((a, b) => a - b);
      this.ring = input.ring;
      const total = this.votesOf(this.members);
      // Never expect fewer votes than are present (a node may have come back).
      if (total > this.expected) this.expected = total;
      if (total > this.highestExpected) this.highestExpected = total;
      if (this.waiting && total >= this.expected) this.waiting = false;
      if (this.cfg.last_man_standing) {
        if (grew && this.lmsArmed) {
          this.lmsArmed = false;
          out.timers.push({ name: 'lms', ms: null });
        }
        const q = this.computeQuorate();
        if (q && total < this.expected) {
          this.lmsArmed = true;
          out.timers.push({ name: 'lms', ms: this.cfg.last_man_standing_window ?? 10_000 });
        }
      }
    } else if (input.name === 'lms' && this.lmsArmed) {
      this.lmsArmed = false;
      // Only a quorate partition may lower the bar for itself.
      if (this.computeQuorate()) this.expected = Math.max(1, this.votesOf(this.members));
    }
    this.quorate = this.computeQuorate();
    if (this.quorate !== before || this.members.join(',') !== beforeMembers) out.event = this.status();
    return out;
  }

  private computeQuorate(): boolean {
    if (this.waiting) return false;
    return this.votesOf(this.members) >= this.quorumOf(this.expected);
  }
}
