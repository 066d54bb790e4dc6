/**
 * The local admin API of belayd: newline-delimited JSON over a unix socket.
 *
 * Access control is the file system's: the socket lives in a directory only
 * root (and, when configured, an admin group) may enter, and the socket
 * itself is 0600 (0660 with a group). Node cannot read SO_PEERCRED, so the
 * directory is the gate, as with Pacemaker's own IPC under /run.
 *
 * Frames: one JSON object per line. A request is {id, cmd, args}; a reply is
 * {id, ok: true, result} or {id, ok: false, error}. A `watch`-style handler
 * may keep the connection and push {event, data} lines until it closes.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';

export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

export interface AdminRequest {
  id?: string | number;
  cmd: string;
  args?: Record<string, unknown>;
}

export interface AdminReply {
  id?: string | number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

/** A live connection, for handlers that stream events (crm_mon). */
export interface AdminConnection {
  push(event: string, data: unknown): void;
  onClose(callback: () => void): void;
  readonly closed: boolean;
}

/** Thrown by handlers for errors the client should see as they are. */
export class AdminError extends Error {}

export type AdminHandler = (request: AdminRequest, connection: AdminConnection) => Promise<unknown> | unknown;

export interface AdminServerOptions {
  /** Numeric gid allowed besides root (socket 0660, directory 0750). */
  adminGid?: number;
  maxMessageBytes?: number;
  /** Called for every refused frame, so the daemon can log and count it. */
  onBadRequest?: (reason: string) => void;
}

/** Newline framing: feed chunks, get whole lines; what is left waits for more. */
class LineReader {
  private buffered = '';

  /** The whole lines in this chunk (and before it), without their newline. */
  push(chunk: string): string[] {
    this.buffered += chunk;
    const lines = this.buffered.split('\n');
    this.buffered = lines.pop()!;
    return lines;
  }

  /** Bytes waiting for a newline. */
  get pendingBytes(): number {
    return Buffer.byteLength(this.buffered);
  }

  clear(): void {
    this.buffered = '';
  }
}

export class AdminServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    readonly path: string,
    private readonly handler: AdminHandler,
    private readonly options: AdminServerOptions = {},
  ) {}

  async listen(): Promise<void> {
    const dir = dirname(this.path);
    const gid = this.options.adminGid;
    mkdirSync(dir, { recursive: true, mode: gid === undefined ? 0o700 : 0o750 });
    // mkdir leaves an existing directory's mode alone: tighten it explicitly.
    chmodSync(dir, gid === undefined ? 0o700 : 0o750);
    if (gid !== undefined) chownSync(dir, 0, gid);
    await removeStaleSocket(this.path);
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
    chmodSync(this.path, gid === undefined ? 0o600 : 0o660);
    if (gid !== undefined) chownSync(this.path, 0, gid);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    try {
      unlinkSync(this.path);
    } catch {
      /* gone already */
    }
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    const max = this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const closeCallbacks: Array<() => void> = [];
    let closed = false;
    const reader = new LineReader();
    const connection: AdminConnection = {
      push: (event, data) => {
        if (!closed) socket.write(`${JSON.stringify({ event, data })}\n`);
      },
      onClose: (cb) => closeCallbacks.push(cb),
      get closed() {
        return closed;
      },
    };
    const reply = (r: AdminReply) => {
      if (!closed) socket.write(`${JSON.stringify(r)}\n`);
    };
    const refuse = (reason: string, id?: string | number) => {
      this.options.onBadRequest?.(reason);
      reply({ id, ok: false, error: reason });
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      for (const line of reader.push(chunk)) {
        if (Buffer.byteLength(line) > max) {
          refuse(`message too large (over ${max} bytes)`);
          socket.end();
          return;
        }
        if (line.trim() !== '') void this.dispatch(line, connection, reply, refuse);
      }
      if (reader.pendingBytes > max) {
        reader.clear();
        refuse(`message too large (over ${max} bytes)`);
        socket.end();
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      closed = true;
      this.sockets.delete(socket);
      for (const cb of closeCallbacks) cb();
    });
  }

  private async dispatch(
    line: string,
    connection: AdminConnection,
    reply: (r: AdminReply) => void,
    refuse: (reason: string, id?: string | number) => void,
  ): Promise<void> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      refuse(`malformed JSON: ${(err as Error).message}`);
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      refuse('a request must be a JSON object');
      return;
    }
    const req = parsed as Partial<AdminRequest>;
    const id = typeof req.id === 'string' || typeof req.id === 'number' ? req.id : undefined;
    if (typeof req.cmd !== 'string' || req.cmd === '') {
      refuse('a request needs a "cmd" string', id);
      return;
    }
    if (req.args !== undefined && (typeof req.args !== 'object' || req.args === null || Array.isArray(req.args))) {
      refuse('"args" must be a JSON object', id);
      return;
    }
    try {
      const result = await this.handler({ id, cmd: req.cmd, args: req.args ?? {} }, connection);
      reply({ id, ok: true, result });
    } catch (err) {
      if (err instanceof AdminError) reply({ id, ok: false, error: err.message });
      else reply({ id, ok: false, error: `internal error: ${(err as Error).message ?? String(err)}` });
    }
  }
}

/** A socket file left by a dead daemon is removed; a live one is an error. */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
  const alive = await new Promise<boolean>((resolve) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new Error(`another daemon is listening on ${path}`);
  unlinkSync(path);
}

export interface AdminClientOptions {
  timeoutMs?: number;
}

/** One request, one reply. Rejects with the daemon's error text. */
export async function adminCall(
  path: string,
  cmd: string,
  args: Record<string, unknown> = {},
  options: AdminClientOptions = {},
): Promise<unknown> {
  const socket = await connectAdmin(path);
  try {
    const reply = await new Promise<AdminReply>((resolve, reject) => {
      const reader = new LineReader();
      const timer = setTimeout(() => reject(new Error(`no reply from ${path} within ${options.timeoutMs ?? 30_000} ms`)), options.timeoutMs ?? 30_000);
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => {
        const [line] = reader.push(chunk);
        if (line === undefined) return;
        clearTimeout(timer);
        try {
          resolve(JSON.parse(line) as AdminReply);
        } catch (err) {
          reject(new Error(`bad reply from daemon: ${(err as Error).message}`));
        }
      });
      socket.once('close', () => {
        clearTimeout(timer);
        reject(new Error(`connection to ${path} closed without a reply`));
      });
      socket.write(`${JSON.stringify({ id: 1, cmd, args })}\n`);
    });
    if (!reply.ok) throw new AdminError(reply.error ?? 'request failed');
    return reply.result;
  } finally {
    socket.destroy();
  }
}

/**
 * Subscribe to a streaming command: calls onEvent for every pushed event
 * until the returned stop function is called or the daemon goes away.
 */
export async function adminWatch(
  path: string,
  cmd: string,
  args: Record<string, unknown>,
  onEvent: (event: string, data: unknown) => void,
  onEnd: (reason: string) => void,
): Promise<() => void> {
  const socket = await connectAdmin(path);
  const reader = new LineReader();
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    for (const line of reader.push(chunk)) {
      try {
        const msg = JSON.parse(line) as { event?: string; data?: unknown; ok?: boolean; error?: string };
        if (typeof msg.event === 'string') onEvent(msg.event, msg.data);
        else if (msg.ok === false) onEnd(msg.error ?? 'refused');
      } catch {
        onEnd('bad frame from daemon');
      }
    }
  });
  socket.once('close', () => onEnd('daemon closed the connection'));
  socket.write(`${JSON.stringify({ id: 1, cmd, args })}\n`);
  return () => socket.destroy();
}

function connectAdmin(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('connect', () => resolve(socket));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') {
        reject(new Error(`belayd is not running (no admin socket at ${path})`));
      } else if (err.code === 'EACCES') {
        reject(new Error(`permission denied on ${path}: the admin socket is for root (or the admin group)`));
      } else reject(err);
    });
  });
}
