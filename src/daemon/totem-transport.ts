/** belayd's cluster transport: a totem node (src/totem/udp.ts) on its own thread, behind the ClusterTransport port. */
import { FRAME_OVERHEAD } from '../totem/auth.js';
import { RING_STATUS_FILE, totemConfigFromCluster } from '../totem/udp.js';
import { MAX_PAYLOAD } from '../totem/wire.js';
import type { ClusterTransport } from './belayd.js';
import type { ClusterConfig } from './config.js';
import { TotemThread } from './totem-thread.js';

/** Room left in one totem message once our own framing is counted. */
export const TRANSPORT_MAX_PAYLOAD = MAX_PAYLOAD - FRAME_OVERHEAD - 64;

export class TotemTransport implements ClusterTransport {
  readonly maxPayload = TRANSPORT_MAX_PAYLOAD;
  private thread: TotemThread | undefined;

  constructor(
    private readonly config: ClusterConfig,
    private readonly nodeId: number,
    private readonly key: Uint8Array,
    private readonly log: (line: string) => void,
    private readonly statusFile = RING_STATUS_FILE,
    /** Called when totem's thread dies: this node is out of the cluster. */
    private readonly onFailure: (why: string) => void = (why) => {
      log(`${why}: this node is no longer in the cluster; belayd exits`);
      process.exit(70);
    },
  ) {}

  async start(handlers: Parameters<ClusterTransport['start']>[0]): Promise<void> {
    // The stack (src/totem/stack.ts) hands over deliveries and configuration
    // changes in agreed order, with the quorum each change gives: carried out
    // as they come, as the simulator does. The thread also writes the file
    // `belay ring status` and `belay quorum status` read.
    const thread = new TotemThread(totemConfigFromCluster(this.config, this.nodeId, this.log), this.key, this.statusFile);
    await thread.start({
      deliver: (from, payload, transitional) => handlers.deliver(from, payload, transitional),
      membership: (ringId, members, quorate) => handlers.membership(ringId, members, quorate),
      log: (line) => this.log(line),
      failed: (why) => this.onFailure(why),
    });
    this.thread = thread;
  }

  send(payload: Uint8Array, safe: boolean): void {
    this.thread?.send(payload, safe);
  }

  status(): { quorum?: unknown } & Record<string, unknown> {
    return (this.thread?.status() ?? {}) as unknown as { quorum?: unknown } & Record<string, unknown>;
  }

  async stop(): Promise<void> {
    await this.thread?.stop();
  }
}
