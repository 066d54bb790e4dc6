/** belayd's cluster transport: a totem node (src/totem/udp.ts) behind the ClusterTransport port. */
import { FRAME_OVERHEAD } from '../totem/auth.js';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { RING_STATUS_FILE, ringKey, startTotem, totemConfigFromCluster, type TotemNode } from '../totem/udp.js';
import { MAX_PAYLOAD } from '../totem/wire.js';
import type { ClusterTransport } from './belayd.js';
import type { ClusterConfig } from './config.js';

/** Room left in one totem message once our own framing is counted. */
export const TRANSPORT_MAX_PAYLOAD = MAX_PAYLOAD - FRAME_OVERHEAD - 64;

export class TotemTransport implements ClusterTransport {
  readonly maxPayload = TRANSPORT_MAX_PAYLOAD;
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
    // The stack (src/totem/stack.ts) hands over deliveries and configuration
    // changes in agreed order, with the quorum each change gives: carried out
    // as they come, as the simulator does.
    node.on('deliver', (d) => handlers.deliver(d.origin, d.payload));
    node.on('confchg', (c, quorum) => {
      if (c.kind === 'regular') handlers.membership(ringKey(c.ring), c.members, quorum?.quorate === true);
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
