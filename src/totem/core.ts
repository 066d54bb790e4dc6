/**
 * The Totem single-ring ordering and membership protocol (Amir et al., ACM
 * TOCS 1995), as a pure state machine: `step(input)` takes one received
 * packet, timer expiry or application send, and returns the packets to send,
 * the messages delivered, the configuration changes and the timers to arm or
 * cancel. No sockets, no clock, no randomness: the shell (UDP) and the
 * simulator drive it, and a run replays exactly from its inputs.
 *
 * States: operational (token rotates in ring order, the holder broadcasts),
 * gather (join messages until every live node agrees on the member set),
 * commit (the commit token makes two rotations: first each member writes what
 * it holds of its old ring, then each learns everyone's), recovery (old-ring
 * messages missing in the group are rebroadcast on the new ring), then a
 * transitional and a regular configuration change (extended virtual
 * synchrony) and operational on the new ring.
 */
import {
  PacketType,
  MAX_RTR,
  ringKey,
  sameRing,
  type CommitBody,
  type JoinBody,
  type McastBody,
  type Packet,
  type RingId,
  type TokenBody,
} from './wire.js';

export type TimerName = 'token' | 'token_retransmit' | 'hold' | 'join' | 'consensus' | 'merge';

export interface TotemTimers {
  /** Token loss timeout (ms): no token for this long starts a new membership round. */
  token: number;
  /** Token retransmissions tried before the token is declared lost. */
  token_retransmits_before_loss_const: number;
  /** How often join messages are resent while gathering (ms). */
  join: number;
  /** How long to wait for every node's agreeing join before failing the silent ones (ms). */
  consensus: number;
  /** How often the representative looks for other rings (merge detect, ms). */
  merge: number;
  /** Messages a node may broadcast per token visit (flow control). */
  max_messages: number;
  /** Messages in flight on the ring (sent, not yet held by all). */
  window_size: number;
}

/**
 * Defaults tuned so a crashed node is noticed in well under a second on a LAN:
 * the token is declared lost after 300 ms (Corosync: 3000 ms + 650 ms per node
 * above two), consensus waits 360 ms (1.2 × token, Corosync's ratio).
 */
export const DEFAULT_TIMERS: TotemTimers = {
  token: 300,
  token_retransmits_before_loss_const: 4,
  join: 50,
  consensus: 360,
  merge: 200,
  max_messages: 17,
  window_size: 50,
};

/** Derived: the token is resent this often before it counts as lost (Corosync's formula). */
export function tokenRetransmitMs(t: TotemTimers): number {
  return Math.max(1, Math.floor(t.token / (t.token_retransmits_before_loss_const + 0.2)));
}
/** Derived: how long an idle representative holds the token, so an idle ring does not spin. */
export function holdMs(t: TotemTimers): number {
  return Math.max(1, Math.floor(tokenRetransmitMs(t) * 0.4));
}

export interface TotemCoreConfig {
  nodeId: number;
  /** Every configured node id (udpu: joins and merge detects go to each). */
  nodes: number[];
  timers?: Partial<TotemTimers>;
  /** The highest ring sequence this node ever saw (persisted by the shell across restarts). */
  ringSeq?: number;
}

export type Dest = number[] | 'all';

export interface SendOut {
  to: Dest;
  packet: Packet;
}

export interface Delivery {
  origin: number;
  payload: Uint8Array;
  safe: boolean;
  /** The configuration the message is delivered in (regular ring, or transitional). */
  ring: RingId;
  transitional: boolean;
  /** Transitional deliveries: the old ring they come from (with `ring`, names the configuration). */
  previous?: RingId;
  seq: number;
}

export interface ConfChg {
  kind: 'transitional' | 'regular';
  ring: RingId;
  /** The ring this node comes from. */
  previous: RingId;
  members: number[];
  joined: number[];
  left: number[];
}

export interface TimerOut {
  name: TimerName;
  /** Arm for this many ms (replacing an armed one), or null to cancel. */
  ms: number | null;
}

/**
 * What a step hands to the application, in the one order it must be acted
 * on: a message of a new ring comes after that ring's configuration change,
 * the old ring's last messages before the transitional one. A shell or the
 * simulator carries the list out front to back and never reorders it.
 */
export type TotemEvent = { type: 'deliver'; delivery: Delivery } | { type: 'confchg'; confchg: ConfChg };

export interface StepOutput {
  send: SendOut[];
  /** Deliveries and configuration changes, in agreed order. */
  events: TotemEvent[];
  timers: TimerOut[];
  /** Set when the shell must store this (the highest ring sequence seen) before sending. */
  persistRingSeq?: number;
}

export type StepInput =
  | { type: 'packet'; packet: Packet }
  | { type: 'timer'; name: TimerName }
  | { type: 'send'; payload: Uint8Array; safe?: boolean }
  | { type: 'start' };

export type TotemState = 'gather' | 'commit' | 'recovery' | 'operational';

export interface TotemCounters {
  tokensReceived: number;
  tokensRetransmitted: number;
  mcastSent: number;
  mcastReceived: number;
  retransmits: number;
  retransmitRequests: number;
  delivered: number;
  tokenLost: number;
  gatherEntered: number;
  consensusTimeouts: number;
  ringsFormed: number;
  droppedOldRing: number;
  droppedDuplicate: number;
  droppedStaleJoin: number;
  droppedOther: number;
}

interface StoredMsg {
  seq: number;
  origin: number;
  safe: boolean;
  payload: Uint8Array;
  /** A recovery carrier (or a carrier's copy): takes a sequence number, delivers nothing. */
  encap?: McastBody['encap'];
  noop?: boolean;
}

/** Sequence numbers are u32 on the wire; stay well below the wrap. */
const SEQ_LIMIT = 0xffff0000;
/** Messages not yet held by every member may be at most this many windows. */
const UNSTABLE_FACTOR = 8;

const sortIds = (a: number[]): number[] => [...new Set(a)].sort((x, y) => x - y);
const setEq = (a: Set<number>, b: Iterable<number>): boolean => {
  const bb = new Set(b);
  if (a.size !== bb.size) return false;
  for (const x of a) if (!bb.has(x)) return false;
  return true;
};

export class TotemCore {
  readonly id: number;
  readonly nodes: number[];
  readonly t: TotemTimers;
  private readonly retransmitMs: number;
  private readonly holdMs: number;

  state: TotemState = 'gather';
  /** The regular configuration in force (during membership: the old ring). */
  ring: RingId;
  members: number[];
  /** Highest ring sequence ever seen; new rings are numbered above it. */
  maxRingSeq: number;

  // Messages of the regular ring.
  private store = new Map<number, StoredMsg>();
  private aru = 0;
  private highSeq = 0;
  private delivered = 0;
  private stable = 0;
  private freed = 0;
  private queue: Array<{ payload: Uint8Array; safe: boolean }> = [];

  // Token handling.
  private lastTokenSeq = -1;
  private lastTokenOut: SendOut | null = null;
  private lastTokenOutSeq = 0;
  private heldToken: SendOut | null = null;
  /** What this node last added to the token's backlog (Corosync's scheme). */
  private lastBacklog = 0;
  /** The last token seen here was idle, so the representative may be holding it. */
  private ringIdle = false;
  /** A member asked us (the representative) not to hold the next token. */
  private holdCancelled = false;
  private armed = new Set<TimerName>();

  // Gather.
  private proc = new Set<number>();
  private fail = new Set<number>();
  private consensus = new Set<number>();
  private joinSeqSeen = new Map<number, number>();
  private commitSentFor = '';

  // Commit and recovery.
  private newRing: RingId | null = null;
  private newMembers: number[] = [];
  private newStore = new Map<number, StoredMsg>();
  private newAru = 0;
  private newHigh = 0;
  private recoveryQueue: StoredMsg[] = [];
  private group: number[] = [];
  private groupStable = 0;
  private tokenStarted = false;

  readonly counters: TotemCounters = {
    tokensReceived: 0,
    tokensRetransmitted: 0,
    mcastSent: 0,
    mcastReceived: 0,
    retransmits: 0,
    retransmitRequests: 0,
    delivered: 0,
    tokenLost: 0,
    gatherEntered: 0,
    consensusTimeouts: 0,
    ringsFormed: 0,
    droppedOldRing: 0,
    droppedDuplicate: 0,
    droppedStaleJoin: 0,
    droppedOther: 0,
  };

  private out: StepOutput = { send: [], events: [], timers: [] };

  constructor(cfg: TotemCoreConfig) {
    if (!Number.isInteger(cfg.nodeId) || cfg.nodeId < 1 || cfg.nodeId > 0xffffffff) throw new RangeError(`totem: bad node id ${cfg.nodeId}`);
    this.id = cfg.nodeId;
    this.nodes = sortIds([...cfg.nodes, cfg.nodeId]);
    this.t = { ...DEFAULT_TIMERS, ...(cfg.timers ?? {}) };
    this.retransmitMs = tokenRetransmitMs(this.t);
    this.holdMs = holdMs(this.t);
    // A boot ring of our own, never used before (above anything persisted), so
    // no other node can mistake us for a member of a ring we held before a crash.
    this.maxRingSeq = (cfg.ringSeq ?? 0) + 1;
    this.ring = { rep: this.id, seq: this.maxRingSeq };
    this.members = [this.id];
  }

  queued(): number {
    return this.queue.length;
  }

  /** Where the core stands, for status commands and tests. */
  status(): {
    state: TotemState;
    ring: RingId;
    members: number[];
    aru: number;
    highSeq: number;
    queued: number;
    counters: TotemCounters;
  } {
    return {
      state: this.state,
      ring: this.ring,
      members: [...this.members],
      aru: this.aru,
      highSeq: this.highSeq,
      queued: this.queue.length,
      counters: { ...this.counters },
    };
  }

  step(input: StepInput): StepOutput {
    this.out = { send: [], events: [], timers: [] };
    switch (input.type) {
      case 'start':
        this.persist();
        this.enterGather([]);
        break;
      case 'send':
        this.queue.push({ payload: input.payload, safe: input.safe === true });
        // An idle representative holding the token lets it go at once;
        // another member asks it to (Corosync's token hold cancel).
        if (this.heldToken) {
          this.cancel('hold');
          this.onTimer('hold');
        } else if (this.ringIdle && this.state === 'operational' && this.members[0] !== this.id) {
          this.ringIdle = false;
          this.send([this.members[0]!], { type: PacketType.HoldCancel, sender: this.id, body: { ring: this.ring } });
        }
        break;
      case 'timer':
        if (this.armed.has(input.name)) {
          this.armed.delete(input.name);
          this.onTimer(input.name);
        }
        break;
      case 'packet':
        this.onPacket(input.packet);
        break;
    }
    return this.out;
  }

  // ---------------------------------------------------------------- outputs

  private arm(name: TimerName, ms: number): void {
    this.armed.add(name);
    this.out.timers.push({ name, ms });
  }
  private cancel(name: TimerName): void {
    if (!this.armed.has(name)) return;
    this.armed.delete(name);
    this.out.timers.push({ name, ms: null });
  }
  private send(to: Dest, packet: Packet): void {
    this.out.send.push({ to, packet });
  }
  private persist(): void {
    this.out.persistRingSeq = this.maxRingSeq;
  }
  private others(list: number[]): number[] {
    return list.filter((n) => n !== this.id);
  }

  // ---------------------------------------------------------------- dispatch

  private onTimer(name: TimerName): void {
    switch (name) {
      case 'token':
        this.counters.tokenLost++;
        this.enterGather([]);
        break;
      case 'token_retransmit':
        if (this.lastTokenOut) {
          this.counters.tokensRetransmitted++;
          this.out.send.push(this.lastTokenOut);
          this.arm('token_retransmit', this.retransmitMs);
        }
        break;
      case 'hold':
        if (this.heldToken) {
          const held = this.heldToken;
          this.heldToken = null;
          // Something may have been queued while holding: take the visit again.
          const body = (held.packet as { body: TokenBody }).body;
          if (this.queue.length > 0 && this.state === 'operational') this.broadcastNew(body, this.t.max_messages);
          this.forwardToken(held);
        }
        break;
      case 'join':
        if (this.state === 'gather') {
          this.sendJoin();
          this.arm('join', this.t.join);
        }
        break;
      case 'consensus':
        if (this.state === 'gather') this.consensusTimeout();
        break;
      case 'merge':
        if (this.state === 'operational' && this.members[0] === this.id) {
          const outside = this.nodes.filter((n) => !this.members.includes(n));
          if (outside.length > 0) this.send(outside, { type: PacketType.MergeDetect, sender: this.id, body: { ring: this.ring } });
          this.arm('merge', this.t.merge);
        }
        break;
    }
  }

  private onPacket(p: Packet): void {
    if (p.sender === this.id && p.type !== PacketType.Token && p.type !== PacketType.Commit) {
      this.counters.droppedOther++;
      return;
    }
    switch (p.type) {
      case PacketType.Mcast:
        this.onMcast(p.body);
        break;
      case PacketType.Token:
        this.onToken(p.body);
        break;
      case PacketType.Join:
        this.onJoin(p.sender, p.body);
        break;
      case PacketType.Commit:
        this.onCommit(p.body);
        break;
      case PacketType.HoldCancel:
        if (this.state === 'operational' && sameRing(p.body.ring, this.ring)) {
          if (this.heldToken) {
            this.cancel('hold');
            this.onTimer('hold');
          } else {
            // The token is still on its way here: do not hold it when it comes.
            this.holdCancelled = true;
          }
        } else {
          this.counters.droppedOldRing++;
        }
        break;
      case PacketType.MergeDetect:
        if (this.state === 'operational' && !this.members.includes(p.sender) && !sameRing(p.body.ring, this.ring)) {
          this.enterGather([p.sender]);
        } else {
          this.counters.droppedOther++;
        }
        break;
    }
  }

  // ---------------------------------------------------------------- messages

  private onMcast(m: McastBody): void {
    this.counters.mcastReceived++;
    const cur = this.state === 'recovery' ? this.newRing : this.state === 'operational' ? this.ring : null;
    if (cur && sameRing(m.ring, cur)) {
      if (this.state === 'recovery') {
        if (m.seq <= this.newAru || this.newStore.has(m.seq)) {
          this.counters.droppedDuplicate++;
          return;
        }
        this.newStore.set(m.seq, toStored(m));
        if (m.seq > this.newHigh) this.newHigh = m.seq;
        while (this.newStore.has(this.newAru + 1)) this.newAru++;
        this.absorbEncap(m);
      } else {
        if (m.seq <= this.aru || this.store.has(m.seq)) {
          this.counters.droppedDuplicate++;
          return;
        }
        this.store.set(m.seq, toStored(m));
        if (m.seq > this.highSeq) this.highSeq = m.seq;
        while (this.store.has(this.aru + 1)) this.aru++;
        this.deliverReady();
      }
      // Someone broadcast after we passed the token: our successor has it.
      if (m.seq > this.lastTokenOutSeq) this.cancelTokenRetransmit();
      return;
    }
    // Late retransmissions of the old ring still help the coming recovery,
    // until recovery starts and the set to exchange is fixed.
    if ((this.state === 'gather' || this.state === 'commit') && sameRing(m.ring, this.ring)) {
      if (m.seq > this.aru && !this.store.has(m.seq)) {
        this.store.set(m.seq, toStored(m));
        if (m.seq > this.highSeq) this.highSeq = m.seq;
        while (this.store.has(this.aru + 1)) this.aru++;
        return;
      }
      this.counters.droppedDuplicate++;
      return;
    }
    this.counters.droppedOldRing++;
  }

  /** A recovery message carries an old-ring message; keep it if it is of our old ring. */
  private absorbEncap(m: McastBody): void {
    const e = m.encap;
    if (!e || !sameRing(e.ring, this.ring)) return;
    if (e.seq <= this.delivered || this.store.has(e.seq)) return;
    const s: StoredMsg = { seq: e.seq, origin: e.origin, safe: e.safe, payload: m.payload };
    if (e.noop) s.noop = true;
    this.store.set(e.seq, s);
    if (e.seq > this.highSeq) this.highSeq = e.seq;
    while (this.store.has(this.aru + 1)) this.aru++;
  }

  private deliverReady(): void {
    for (;;) {
      const s = this.delivered + 1;
      const m = this.store.get(s);
      if (!m) break;
      if (m.encap || m.noop) {
        this.delivered = s;
        continue;
      }
      if (m.safe && s > this.stable) break;
      this.emitDelivery(m, this.ring, false);
      this.delivered = s;
    }
    // Free what every member holds and we have delivered.
    const upTo = Math.min(this.stable, this.delivered);
    while (this.freed < upTo) {
      this.freed++;
      this.store.delete(this.freed);
    }
  }

  private emitDelivery(m: StoredMsg, ring: RingId, transitional: boolean, previous?: RingId): void {
    this.counters.delivered++;
    const d: Delivery = { origin: m.origin, payload: m.payload, safe: m.safe, ring, transitional, seq: m.seq };
    if (previous) d.previous = previous;
    this.out.events.push({ type: 'deliver', delivery: d });
  }

  private cancelTokenRetransmit(): void {
    this.lastTokenOut = null;
    this.cancel('token_retransmit');
  }

  // ---------------------------------------------------------------- token

  private onToken(t: TokenBody): void {
    const cur = this.state === 'recovery' ? this.newRing : this.state === 'operational' ? this.ring : null;
    if (!cur || !sameRing(t.ring, cur)) {
      this.counters.droppedOldRing++;
      return;
    }
    if (t.tokenSeq <= this.lastTokenSeq) {
      this.counters.droppedDuplicate++;
      return;
    }
    // Sequence space nearly used up (or a corrupt token): refuse, the ring re-forms from 0.
    if (t.seq > SEQ_LIMIT || t.tokenSeq > SEQ_LIMIT) {
      this.counters.droppedOther++;
      return;
    }
    this.counters.tokensReceived++;
    this.lastTokenSeq = t.tokenSeq;
    this.cancelTokenRetransmit();
    this.arm('token', this.t.token);
    const tok: TokenBody = { ...t, rtr: [] };
    const members = this.state === 'recovery' ? this.newMembers : this.members;

    if (this.state === 'recovery' && t.done) this.finishRecovery();
    const store = this.state === 'recovery' ? this.newStore : this.store;
    const myAru = () => (this.state === 'recovery' ? this.newAru : this.aru);

    // Answer retransmission requests we can; pass on the rest.
    let budget = this.t.max_messages;
    for (const s of t.rtr) {
      const m = store.get(s);
      if (m && budget > 0) {
        budget--;
        this.counters.retransmits++;
        this.send(this.others(members), { type: PacketType.Mcast, sender: this.id, body: fromStored(m, tok.ring) });
      } else if (tok.rtr.length < MAX_RTR) tok.rtr.push(s);
    }
    // Ask for what we miss.
    for (let s = myAru() + 1; s <= t.seq && tok.rtr.length < MAX_RTR; s++) {
      if (!store.has(s) && !tok.rtr.includes(s)) {
        tok.rtr.push(s);
        this.counters.retransmitRequests++;
      }
    }

    let sent = 0;
    if (this.state === 'recovery') {
      sent = this.broadcastRecovery(tok, budget);
      this.rotationMin(tok);
      const busy = sent > 0 || this.recoveryQueue.length > 0 || this.newAru < tok.seq || tok.rtr.length > 0;
      tok.quiet = busy ? 0 : tok.quiet + 1;
      if (tok.quiet >= this.newMembers.length) {
        tok.done = true;
        this.finishRecovery();
      }
    } else {
      this.stable = Math.max(this.stable, Math.min(tok.stable, this.aru));
      this.deliverReady();
      sent = this.broadcastNew(tok, budget);
      this.rotationMin(tok);
    }

    tok.tokenSeq = t.tokenSeq + 1;
    const mine = this.state === 'operational' ? this.queue.length : this.recoveryQueue.length;
    tok.backlog = Math.max(0, tok.backlog - this.lastBacklog + mine);
    this.lastBacklog = mine;
    const ms = this.state === 'recovery' ? this.newMembers : this.members;
    const idx = ms.indexOf(this.id);
    const next = ms[(idx + 1) % ms.length]!;
    const out: SendOut = { to: [next], packet: { type: PacketType.Token, sender: this.id, body: tok } };
    const idle = sent === 0 && tok.rtr.length === 0 && this.queue.length === 0 && tok.aru === tok.seq && tok.backlog === 0;
    // The representative may hold this token once it comes round: a send here then asks it to let go.
    this.ringIdle = this.state === 'operational' && tok.backlog === 0;
    const cancelled = this.holdCancelled;
    this.holdCancelled = false;
    if (this.state === 'operational' && ms[0] === this.id && idle && !cancelled) {
      this.heldToken = out;
      this.arm('hold', this.holdMs);
    } else {
      this.forwardToken(out);
    }
  }

  /** The representative starts each rotation; everyone lowers the rotation minimum. */
  private rotationMin(tok: TokenBody): void {
    const ms = this.state === 'recovery' ? this.newMembers : this.members;
    const mine = this.state === 'recovery' ? this.newAru : this.aru;
    if (ms[0] === this.id) {
      tok.stable = Math.max(tok.stable, Math.min(tok.aru, tok.seq));
      tok.aru = Math.min(mine, tok.seq);
    } else {
      tok.aru = Math.min(tok.aru, mine);
    }
    if (this.state === 'operational') {
      this.stable = Math.max(this.stable, Math.min(tok.stable, this.aru));
      this.deliverReady();
    }
  }

  private forwardToken(out: SendOut): void {
    const body = (out.packet as { body: TokenBody }).body;
    this.lastTokenOut = out;
    this.lastTokenOutSeq = body.seq;
    this.send(out.to, out.packet);
    this.arm('token_retransmit', this.retransmitMs);
  }

  /**
   * Flow control: at most `budget` (max_messages less retransmissions) this
   * visit, at most window_size ahead of what this rotation's members hold so
   * far, and a hard bound on messages not yet held by all (the retransmit buffer).
   */
  private room(tok: TokenBody, budget: number): number {
    return Math.max(0, Math.min(budget, this.t.window_size - (tok.seq - tok.aru), UNSTABLE_FACTOR * this.t.window_size - (tok.seq - tok.stable)));
  }

  private broadcastNew(tok: TokenBody, budget: number): number {
    const room = this.room(tok, budget);
    let n = 0;
    while (n < room && this.queue.length > 0) {
      const q = this.queue.shift()!;
      const seq = ++tok.seq;
      const m: StoredMsg = { seq, origin: this.id, safe: q.safe, payload: q.payload };
      this.store.set(seq, m);
      this.highSeq = seq;
      while (this.store.has(this.aru + 1)) this.aru++;
      this.counters.mcastSent++;
      this.send(this.others(this.members), { type: PacketType.Mcast, sender: this.id, body: fromStored(m, this.ring) });
      n++;
    }
    if (n > 0) this.deliverReady();
    return n;
  }

  private broadcastRecovery(tok: TokenBody, budget: number): number {
    const room = this.room(tok, budget);
    let n = 0;
    while (n < room && this.recoveryQueue.length > 0) {
      const old = this.recoveryQueue.shift()!;
      const seq = ++tok.seq;
      const m: StoredMsg = {
        seq,
        origin: this.id,
        safe: false,
        payload: old.payload,
        encap: { ring: this.ring, seq: old.seq, origin: old.origin, safe: old.safe, noop: old.encap !== undefined || old.noop === true },
      };
      this.newStore.set(seq, m);
      this.newHigh = seq;
      while (this.newStore.has(this.newAru + 1)) this.newAru++;
      this.counters.mcastSent++;
      this.send(this.others(this.newMembers), { type: PacketType.Mcast, sender: this.id, body: fromStored(m, this.newRing!) });
      n++;
    }
    return n;
  }

  // ---------------------------------------------------------------- membership

  private enterGather(extra: number[]): void {
    this.counters.gatherEntered++;
    if (this.state === 'recovery' || this.state === 'commit') {
      // The new ring never went operational: back to the old ring's messages.
      this.newRing = null;
      this.newStore = new Map();
      this.recoveryQueue = [];
    }
    this.state = 'gather';
    this.proc = new Set([...this.members, this.id, ...extra]);
    this.fail = new Set();
    this.consensus = new Set([this.id]);
    this.commitSentFor = '';
    this.tokenStarted = false;
    this.heldToken = null;
    this.lastTokenOut = null;
    for (const n of ['token', 'token_retransmit', 'hold', 'merge'] as TimerName[]) this.cancel(n);
    this.sendJoin();
    this.arm('join', this.t.join);
    this.arm('consensus', this.t.consensus);
    this.checkConsensus();
  }

  private sendJoin(): void {
    const body: JoinBody = { ringSeq: this.maxRingSeq, proc: sortIds([...this.proc]), fail: sortIds([...this.fail]) };
    const to = this.others(this.nodes);
    if (to.length > 0) this.send('all', { type: PacketType.Join, sender: this.id, body });
  }

  private onJoin(from: number, j: JoinBody): void {
    const last = this.joinSeqSeen.get(from) ?? 0;
    if (j.ringSeq < last) {
      this.counters.droppedStaleJoin++;
      return;
    }
    this.joinSeqSeen.set(from, j.ringSeq);
    if (!j.proc.includes(from)) {
      this.counters.droppedOther++;
      return;
    }
    switch (this.state) {
      case 'operational':
        if (this.members.includes(from) && j.ringSeq < this.ring.seq) {
          this.counters.droppedStaleJoin++;
          return;
        }
        this.enterGather([from]);
        this.processJoin(from, j);
        return;
      case 'commit':
      case 'recovery':
        if (this.newMembers.includes(from) && j.ringSeq >= this.newRing!.seq) {
          this.enterGather([from]);
          this.processJoin(from, j);
        } else {
          this.counters.droppedStaleJoin++;
        }
        return;
      case 'gather':
        this.processJoin(from, j);
        return;
    }
  }

  private processJoin(from: number, j: JoinBody): void {
    if (j.ringSeq > this.maxRingSeq) {
      this.maxRingSeq = j.ringSeq;
      this.persist();
    }
    if (this.fail.has(from)) return;
    let changed = false;
    if (j.fail.includes(this.id)) {
      // It has given up on us: we give up on it, so both sides can agree.
      this.fail.add(from);
      changed = true;
    } else {
      for (const p of j.proc) {
        if (!this.proc.has(p)) {
          this.proc.add(p);
          changed = true;
        }
      }
      for (const f of j.fail) {
        if (f !== this.id && !this.fail.has(f)) {
          this.fail.add(f);
          changed = true;
        }
      }
    }
    if (changed) {
      this.consensus = new Set([this.id]);
      this.commitSentFor = '';
      this.sendJoin();
      this.arm('consensus', this.t.consensus);
    }
    if (setEq(this.proc, j.proc) && setEq(this.fail, j.fail)) this.consensus.add(from);
    this.checkConsensus();
  }

  private membSet(): number[] {
    return sortIds([...this.proc].filter((p) => !this.fail.has(p)));
  }

  private checkConsensus(): void {
    const memb = this.membSet();
    if (!memb.every((m) => this.consensus.has(m))) return;
    if (memb[0] !== this.id) return;
    const key = memb.join(',');
    if (this.commitSentFor === key) return;
    this.commitSentFor = key;
    // We are the representative: number the new ring above anything seen.
    const ring: RingId = { rep: this.id, seq: this.maxRingSeq + 4 };
    const body: CommitBody = {
      ring,
      members: memb.map((id) => ({ id, filled: false, oldRing: { rep: 0, seq: 0 }, aru: 0, highSeq: 0, stable: 0 })),
    };
    this.acceptCommit(body);
  }

  private consensusTimeout(): void {
    this.counters.consensusTimeouts++;
    const memb = this.membSet();
    const missing = memb.filter((m) => !this.consensus.has(m));
    if (missing.length > 0) {
      for (const m of missing) this.fail.add(m);
    } else if (memb[0] !== this.id) {
      // Everyone agreed but the representative's commit token never came.
      this.fail.add(memb[0]!);
    }
    this.consensus = new Set([this.id]);
    this.commitSentFor = '';
    this.sendJoin();
    this.arm('join', this.t.join);
    this.arm('consensus', this.t.consensus);
    this.checkConsensus();
  }

  /** Gather → commit: write our old-ring facts into the commit token and pass it on. */
  private acceptCommit(c: CommitBody): void {
    const members = c.members.map((e) => ({ ...e, oldRing: { ...e.oldRing } }));
    const me = members.find((e) => e.id === this.id)!;
    me.filled = true;
    me.oldRing = { ...this.ring };
    me.aru = this.aru;
    me.highSeq = this.highSeq;
    me.stable = this.stable;
    this.state = 'commit';
    this.newRing = { ...c.ring };
    this.newMembers = members.map((e) => e.id);
    this.maxRingSeq = Math.max(this.maxRingSeq, c.ring.seq);
    this.persist();
    this.cancel('join');
    this.cancel('consensus');
    this.arm('token', this.t.token);
    this.passCommit({ ring: c.ring, members });
  }

  private passCommit(c: CommitBody): void {
    const idx = this.newMembers.indexOf(this.id);
    const next = this.newMembers[(idx + 1) % this.newMembers.length]!;
    const out: SendOut = { to: [next], packet: { type: PacketType.Commit, sender: this.id, body: c } };
    this.lastTokenOut = out;
    this.lastTokenOutSeq = Number.MAX_SAFE_INTEGER;
    this.send(out.to, out.packet);
    this.arm('token_retransmit', this.retransmitMs);
  }

  private onCommit(c: CommitBody): void {
    const ids = c.members.map((e) => e.id);
    if (this.state === 'gather') {
      if (c.ring.seq > this.maxRingSeq && ids.includes(this.id) && setEq(new Set(this.membSet()), ids) && !c.members.every((e) => e.filled)) {
        this.acceptCommit(c);
      } else {
        this.counters.droppedOther++;
      }
      return;
    }
    if (!this.newRing || !sameRing(c.ring, this.newRing)) {
      this.counters.droppedOldRing++;
      return;
    }
    const all = c.members.every((e) => e.filled);
    if (this.state === 'commit' && all) {
      this.cancelTokenRetransmit();
      this.enterRecovery(c);
      this.passCommit(c);
      return;
    }
    if (this.state === 'recovery' && all && this.newMembers[0] === this.id && !this.tokenStarted) {
      // Second rotation done: the representative starts the new ring's token.
      this.cancelTokenRetransmit();
      this.tokenStarted = true;
      this.lastTokenSeq = -1;
      this.onToken({ ring: this.newRing, tokenSeq: 0, seq: 0, aru: 0, stable: 0, quiet: 0, done: false, backlog: 0, rtr: [] });
      return;
    }
    this.counters.droppedDuplicate++;
  }

  private enterRecovery(c: CommitBody): void {
    this.state = 'recovery';
    const groupEntries = c.members.filter((e) => sameRing(e.oldRing, this.ring));
    this.group = groupEntries.map((e) => e.id);
    // Stability is a fact about the old ring: what one member knew, all may use.
    this.groupStable = Math.max(this.stable, ...groupEntries.map((e) => e.stable));
    const lowAru = Math.min(...groupEntries.map((e) => e.aru));
    // Everything above the group's lowest aru that we hold goes out again;
    // the others keep what they lack, so the group ends with one union.
    this.recoveryQueue =
      this.group.length > 1 ? [...this.store.values()].filter((m) => m.seq > lowAru).sort((a, b) => a.seq - b.seq) : [];
    this.newStore = new Map();
    this.newAru = 0;
    this.newHigh = 0;
    this.lastTokenSeq = -1;
    this.lastBacklog = 0;
    this.ringIdle = false;
    this.tokenStarted = false;
    this.arm('token', this.t.token);
  }

  /** Recovery complete: deliver the old ring's remainder, then transitional and regular configurations. */
  private finishRecovery(): void {
    const oldRing = this.ring;
    const oldMembers = this.members;
    const newRing = this.newRing!;
    // In the old (regular) configuration: contiguous messages, up to the first
    // hole or the first safe message not known to be held by all.
    for (;;) {
      const s = this.delivered + 1;
      const m = this.store.get(s);
      if (!m || (m.safe && s > this.groupStable)) break;
      if (!m.encap && !m.noop) this.emitDelivery(m, oldRing, false);
      this.delivered = s;
    }
    const trans = sortIds(this.group);
    this.out.events.push({
      type: 'confchg',
      confchg: { kind: 'transitional', ring: newRing, previous: oldRing, members: trans, joined: [], left: oldMembers.filter((m) => !trans.includes(m)) },
    });
    // In the transitional configuration: the rest, in order, across holes.
    const rest = [...this.store.values()].filter((m) => m.seq > this.delivered).sort((a, b) => a.seq - b.seq);
    for (const m of rest) if (!m.encap && !m.noop) this.emitDelivery(m, newRing, true, oldRing);
    const members = sortIds(this.newMembers);
    this.out.events.push({
      type: 'confchg',
      confchg: {
        kind: 'regular',
        ring: newRing,
        previous: oldRing,
        members,
        joined: members.filter((m) => !trans.includes(m)),
        left: oldMembers.filter((m) => !members.includes(m)),
      },
    });
    this.counters.ringsFormed++;
    this.state = 'operational';
    this.ring = newRing;
    this.members = members;
    this.newRing = null;
    this.store = this.newStore;
    this.newStore = new Map();
    this.aru = this.newAru;
    this.highSeq = this.newHigh;
    this.delivered = 0;
    this.stable = 0;
    this.freed = 0;
    this.recoveryQueue = [];
    this.deliverReady();
    if (this.members[0] === this.id) this.arm('merge', this.t.merge);
  }

  /** Diagnostics for tests: ring id as Corosync prints it. */
  ringName(): string {
    return ringKey(this.ring);
  }
}

function toStored(m: McastBody): StoredMsg {
  const s: StoredMsg = { seq: m.seq, origin: m.origin, safe: m.safe, payload: m.payload };
  if (m.encap) s.encap = m.encap;
  return s;
}

function fromStored(m: StoredMsg, ring: RingId): McastBody {
  const b: McastBody = { ring, seq: m.seq, origin: m.origin, safe: m.safe, payload: m.payload };
  if (m.encap) b.encap = m.encap;
  return b;
}
