/** belayd's cluster transport: a totem node (src/totem/udp.ts) behind the ClusterTransport port. */
import { FRAME_OVERHEAD } from '../totem/auth.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { RING_STATUS_FILE, ringKey, startTotem, totemConfigFromCluster, type TotemNode } from '../totem/udp.js';
import { MAX_PAYLOAD } from '../totem/wire.js';
import type { ClusterTransport } from './belayd.js';
import type { ClusterConfig } from './config.js';

export class TotemTransport implements ClusterTransport {
  /** Room left in one totem message once our own framing is counted. */
  readonly maxPayload = MAX_PAYLOAD - FRAME_OVERHEAD - 64;
  private node: TotemNode | undefined;
  private statusTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly config: ClusterConfig,
    private readonly nodeId: number,
    private readonly key: Uint8Array,
    private readonly log: (line: string) => void,
    private readonly statusFile = RING_STATUS_FILE,
  ) {}

  async start(handlers: Parameters<ClusterTransport['start']>[0]): Promise<void> {
    const node = await startTotem(totemConfigFromCluster(this.config, this.nodeId, this.log), this.key);
    this.node = node;
    // Agreed order across membership changes: a message of a new ring must
    // reach the controller after that ring's membership does. The node can
    // hand over new-ring messages in the same step as the change (a slower
    // node installing a ring already in use), so they wait here.
    let ring: string | undefined;
    let held: Array<{ origin: number; payload: Uint8Array; ring: string }> = [];
    node.on('deliver', (d) => {
      const key = ringKey(d.ring);
      if (d.transitional || key === ring) handlers.deliver(d.origin, d.payload);
      else held.push({ origin: d.origin, payload: d.payload, ring: key });
    });
    node.on('confchg', (c) => {
      if (c.kind !== 'regular') return;
      // The node steps votequorum right after emitting the change; read the
      // outcome once that has happened, before any later packet is handled.
      queueMicrotask(() => {
        ring = ringKey(c.ring);
        handlers.membership(ring, c.members, node.status().quorum.quorate);
        const ready = held.filter((h) => h.ring === ring);
        held = held.filter((h) => h.ring !== ring);
        for (const h of ready) handlers.deliver(h.origin, h.payload);
      });
    });
    node.on('error', (err) => this.log(`totem: ${err.message}`));
    // `belay ring status` and `belay quorum status` read this file, as with `belay totem run`.
    node.on('confchg', () => this.writeStatus());
    this.statusTimer = setInterval(() => this.writeStatus(), 1000);
    this.writeStatus();
  }

  private writeStatus(): void {
    if (!this.node) return;
    try {
      mkdirSync(dirname(this.statusFile), { recursive: true, mode: 0o755 });
      atomicWriteFileSync(this.statusFile, JSON.stringify(this.node.status()));
    } catch (err) {
      this.log(`cannot write ${this.statusFile}: ${(err as Error).message}`);
    }
  }

  send(payload: Uint8Array): void {
    this.node?.send(payload);
  }

  status(): { quorum?: unknown } & Record<string, unknown> {
    return (this.node?.status() ?? {}) as unknown as { quorum?: unknown } & Record<string, unknown>;
  }

  async stop(): Promise<void> {
    clearInterval(this.statusTimer);
    await this.node?.stop();
  }
}
