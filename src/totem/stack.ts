/**
 * Totem with votequorum on top, as one pure state machine: the daemon's UDP
 * shell (udp.ts) and the simulator (src/sim) both drive this, so the order in
 * which a node learns of messages, configuration changes and quorum is
 * decided here, once, and not repaired by each shell.
 *
 * `step` returns one ordered list of events (etcd raft's `Ready`): a regular
 * configuration change carries the quorum it gives, already computed, so the
 * application never reads quorum from a side channel at a moment that might
 * be before or after the change.
 */
import { TotemCore, type ConfChg, type Delivery, type StepInput, type StepOutput, type TimerName, type TotemCoreConfig } from './core.js';
import { ringKey } from './wire.js';
import { VoteQuorum, type QuorumConfig, type QuorumStatus } from '../quorum/votequorum.js';

export type StackTimerName = TimerName | 'lms';

export type StackEvent =
  | { type: 'deliver'; delivery: Delivery }
  /** A configuration change; a regular one carries `quorum`, the state it gives. */
  | { type: 'confchg'; confchg: ConfChg; quorum?: QuorumStatus }
  /** Quorum or its member list changed (after the confchg that did it, or last_man_standing's window). */
  | { type: 'quorum'; quorum: QuorumStatus };

export interface StackOutput {
  send: StepOutput['send'];
  events: StackEvent[];
  timers: Array<{ name: StackTimerName; ms: number | null }>;
  persistRingSeq?: number;
}

export type StackInput = StepInput | { type: 'timer'; name: 'lms' };

export class TotemStack {
  readonly core: TotemCore;
  readonly quorum: VoteQuorum;

  constructor(totem: TotemCoreConfig, quorum: QuorumConfig) {
    this.core = new TotemCore(totem);
    this.quorum = new VoteQuorum(quorum);
  }

  step(input: StackInput): StackOutput {
    if (input.type === 'timer' && input.name === 'lms') {
      const q = this.quorum.step({ type: 'timer', name: 'lms' });
      const out: StackOutput = { send: [], events: [], timers: [...q.timers] };
      if (q.event) out.events.push({ type: 'quorum', quorum: q.event });
      return out;
    }
    const t = this.core.step(input as StepInput);
    const out: StackOutput = { send: t.send, events: [], timers: [...t.timers] };
    if (t.persistRingSeq !== undefined) out.persistRingSeq = t.persistRingSeq;
    for (const e of t.events) {
      if (e.type === 'deliver' || e.confchg.kind === 'transitional') {
        out.events.push(e);
        continue;
      }
      const q = this.quorum.step({ type: 'membership', members: e.confchg.members, ring: ringKey(e.confchg.ring) });
      out.timers.push(...q.timers);
      out.events.push({ type: 'confchg', confchg: e.confchg, quorum: this.quorum.status() });
      if (q.event) out.events.push({ type: 'quorum', quorum: q.event });
    }
    return out;
  }
}
