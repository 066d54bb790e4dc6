/**
 * The lab's power switch: what a PDU or a hypervisor is to real machines.
 * One process per lab, outside every lab host (it powers them), listening
 * on a unix socket in LAB_ROOT/NAME/power/, a directory bind-mounted into
 * each cluster node at /run/belay-lab/switch/. fence_belay_lab, run by a node's
 * fencer, talks to it there; a network partition of the node does not cut
 * this line, as a management network would not be cut.
 *
 * Who may switch: every cluster node has a key of its own in
 * /run/belay-lab/host/fence_belay_lab.key (bound from LAB_ROOT/NAME/hosts/
 * NODE/, like a secret a container is given), HMAC(lab key, host name); the switch keeps
 * the lab key outside the hosts. A request is a MAC over a fresh challenge
 * of the switch, the caller's name and what it asks, so a host of another
 * lab (another lab key) or a replayed request is refused, and the switch
 * knows who asked.
 *
 * Wire: one request per connection, newline-delimited JSON:
 *   switch -> {"challenge": HEX}
 *   agent  -> {"host": "n2", "action": "off", "plug": "n1", "powerWaitMs": 0, "mac": HEX}
 *   switch -> {"ok": true, "message": "...", "status": "on|off", "plugs": [{"plug": "n1", "status": "on"}]}
 *          |  {"ok": false, "error": "..."}
 */
import { spawn } from 'node:child_process';
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Where a cluster node sees the switch's directory, and its own key. Both
 * are mounts inside the node's private /run: a mount point under the
 * shared /etc could be taken away by whatever removes that directory on
 * the machine the lab runs on.
 */
export const SWITCH_DIR_IN_HOST = '/run/belay-lab/switch';
export const SWITCH_SOCKET_NAME = 'switch.sock';
export const SWITCH_SOCKET_IN_HOST = `${SWITCH_DIR_IN_HOST}/${SWITCH_SOCKET_NAME}`;
export const HOST_KEY_DIR_IN_HOST = '/run/belay-lab/host';
export const HOST_KEY_NAME = 'fence_belay_lab.key';
export const HOST_KEY_IN_HOST = `${HOST_KEY_DIR_IN_HOST}/${HOST_KEY_NAME}`;

export type SwitchAction = 'on' | 'off' | 'reboot' | 'status' | 'list' | 'monitor';
export const SWITCH_ACTIONS: readonly SwitchAction[] = ['on', 'off', 'reboot', 'status', 'list', 'monitor'];

export interface SwitchRequest {
  host: string;
  action: SwitchAction;
  plug?: string;
  /** Reboot: how long the plug stays off (fence-agents' power_wait). */
  powerWaitMs?: number;
}

export interface PlugStatus {
  plug: string;
  status: 'on' | 'off';
}

export type SwitchReply =
  | { ok: true; message: string; status?: 'on' | 'off'; plugs?: PlugStatus[] }
  | { ok: false; error: string };

/** The key a host holds: derived, so the switch needs only the lab key and a host's key names it. */
export function hostKey(labKey: Buffer, host: string): Buffer {
  return createHmac('sha256', labKey).update(`fence_belay_lab host ${host}`).digest();
}

function canonical(req: SwitchRequest): string {
  return [req.host, req.action, req.plug ?? '', String(req.powerWaitMs ?? 0)].join('\n');
}

export function requestMac(key: Buffer, challenge: string, req: SwitchRequest): string {
  return createHmac('sha256', key).update(`${challenge}\n${canonical(req)}`).digest('hex');
}

/** What the switch can do to its lab's machines; the lab (cluster-lab.ts) provides it. */
export interface PowerControl {
  /** The hosts this switch powers (the lab's cluster nodes). */
  plugs(): string[];
  status(plug: string): 'on' | 'off';
  off(plug: string): Promise<void>;
  on(plug: string): Promise<void>;
}

/**
 * Check a request against the lab key and the challenge sent, then carry
 * it out. Power actions are serialized by the caller (one plug switched at
 * a time, as a PDU does).
 */
export async function handleSwitchRequest(
  labKey: Buffer,
  challenge: string,
  raw: unknown,
  power: PowerControl,
  sleep: (ms: number) => Promise<void>,
): Promise<SwitchReply> {
  const r = raw as Partial<SwitchRequest> & { mac?: unknown };
  if (typeof r !== 'object' || r === null || typeof r.host !== 'string' || typeof r.action !== 'string' || typeof r.mac !== 'string') {
    return { ok: false, error: 'malformed request' };
  }
  if (!SWITCH_ACTIONS.includes(r.action as SwitchAction)) return { ok: false, error: `unknown action '${r.action}'` };
  if (r.plug !== undefined && typeof r.plug !== 'string') return { ok: false, error: 'malformed plug' };
  const wait = r.powerWaitMs ?? 0;
  if (typeof wait !== 'number' || !Number.isFinite(wait) || wait < 0 || wait > 600_000) return { ok: false, error: 'bad powerWaitMs' };
  const req: SwitchRequest = { host: r.host, action: r.action as SwitchAction, powerWaitMs: wait };
  if (r.plug !== undefined) req.plug = r.plug;
  const want = Buffer.from(requestMac(hostKey(labKey, req.host), challenge, req), 'hex');
  const got = Buffer.from(r.mac, 'hex');
  if (got.length !== want.length || !timingSafeEqual(got, want)) {
    return { ok: false, error: `authentication failed for host '${req.host}': not a host of this lab, or a wrong key` };
  }
  const plugs = power.plugs();
  if (req.action === 'monitor') return { ok: true, message: 'switch reachable' };
  if (req.action === 'list') return { ok: true, message: `${plugs.length} plugs`, plugs: plugs.map((p) => ({ plug: p, status: power.status(p) })) };
  if (req.plug === undefined || req.plug === '') return { ok: false, error: `action ${req.action} needs a plug` };
  if (!plugs.includes(req.plug)) return { ok: false, error: `no plug '${req.plug}' on this switch (plugs: ${plugs.join(', ')})` };
  const plug = req.plug;
  const before = power.status(plug);
  switch (req.action) {
    case 'status':
      return { ok: true, message: `Status: ${before.toUpperCase()}`, status: before };
    case 'off':
      if (before === 'off') return { ok: true, message: 'Already OFF', status: 'off' };
      await power.off(plug);
      return { ok: true, message: 'Powered OFF', status: power.status(plug) };
    case 'on':
      if (before === 'on') return { ok: true, message: 'Already ON', status: 'on' };
      await power.on(plug);
      return { ok: true, message: 'Powered ON', status: power.status(plug) };
    case 'reboot':
      if (before === 'on') await power.off(plug);
      if (wait > 0) await sleep(wait);
      try {
        await power.on(plug);
      } catch (e) {
        // The host did go off: the fencing part is done (fence-agents see it the same way).
        return { ok: true, message: `Rebooted, but it did not power on: ${(e as Error).message}`, status: power.status(plug) };
      }
      return { ok: true, message: 'Rebooted', status: power.status(plug) };
  }
  return { ok: false, error: `unknown action '${String(req.action)}'` };
}

export interface SwitchServerOptions {
  socketPath: string;
  labKey: Buffer;
  power: PowerControl;
  log: (line: string) => void;
}

/** Listen on the switch's socket; close() stops listening and waits for the action under way. */
export async function startPowerSwitchServer(opts: SwitchServerOptions): Promise<{ close: () => Promise<void> }> {
  rmSync(opts.socketPath, { force: true });
  let queue: Promise<unknown> = Promise.resolve();
  const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
  const server = createServer((sock: Socket) => {
    const challenge = randomBytes(32).toString('hex');
    let buf = '';
    let done = false;
    sock.setEncoding('utf8');
    sock.on('error', () => {});
    const reply = (r: SwitchReply) => {
      if (!sock.destroyed) sock.end(`${JSON.stringify(r)}\n`);
    };
    sock.on('data', (d: string) => {
      if (done) return;
      buf += d;
      if (buf.length > 64 * 1024) {
        done = true;
        reply({ ok: false, error: 'request too long' });
        return;
      }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      done = true;
      let parsed: unknown;
      try {
        parsed = JSON.parse(buf.slice(0, nl));
      } catch {
        reply({ ok: false, error: 'request is not JSON' });
        return;
      }
      // One plug switched at a time, as a PDU does.
      const run = queue.then(async () => {
        const r = await handleSwitchRequest(opts.labKey, challenge, parsed, opts.power, sleep).catch(
          (e: Error): SwitchReply => ({ ok: false, error: e.message }),
        );
        const p = parsed as { host?: unknown; action?: unknown; plug?: unknown };
        opts.log(`${new Date().toISOString()} ${String(p.host)} ${String(p.action)}${p.plug ? ` ${String(p.plug)}` : ''}: ${r.ok ? r.message : `refused: ${r.error}`}`);
        reply(r);
      });
      queue = run.catch(() => undefined);
    });
    sock.write(`${JSON.stringify({ challenge })}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => resolve());
  });
  opts.log(`${new Date().toISOString()} power switch listening on ${opts.socketPath}`);
  return {
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await queue;
    },
  };
}

/** Serve a lab's switch until SIGTERM or SIGINT (`belay lab power-switch`). */
export async function servePowerSwitch(opts: SwitchServerOptions): Promise<void> {
  const server = await startPowerSwitchServer(opts);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await server.close();
}

/** The agent's side: one request, answered or failed within timeoutMs. */
export function callPowerSwitch(socketPath: string, key: Buffer, req: SwitchRequest, timeoutMs: number): Promise<SwitchReply> {
  return new Promise((resolve) => {
    let settled = false;
    const finish = (r: SwitchReply) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, error: `the power switch did not answer within ${timeoutMs} ms` }), timeoutMs);
    const sock = createConnection(socketPath);
    sock.setEncoding('utf8');
    let buf = '';
    let sent = false;
    sock.on('error', (e: NodeJS.ErrnoException) => finish({ ok: false, error: `cannot reach the power switch at ${socketPath}: ${e.code ?? e.message}` }));
    sock.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        let msg: { challenge?: string } & Partial<SwitchReply>;
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          finish({ ok: false, error: 'the power switch sent garbage' });
          return;
        }
        if (!sent && typeof msg.challenge === 'string') {
          sent = true;
          sock.write(`${JSON.stringify({ ...req, mac: requestMac(key, msg.challenge, req) })}\n`);
        } else if (sent && typeof msg.ok === 'boolean') {
          finish(msg as SwitchReply);
        }
      }
    });
    sock.on('close', () => finish({ ok: false, error: 'the power switch closed the connection without an answer' }));
  });
}

/** argv that runs a lab's switch: this checkout's launcher. */
export function powerSwitchArgv(lab: string): string[] {
  const belay = fileURLToPath(new URL('../../bin/belay', import.meta.url));
  return [process.execPath, belay, 'lab', 'power-switch', '--name', lab];
}

/** Start the switch process of a lab, detached (it outlives `belay lab up`); resolves once it listens. */
export async function startPowerSwitchProcess(argv: string[], socketPath: string, logFile: string, timeoutMs = 20_000): Promise<number> {
  rmSync(socketPath, { force: true });
  const fd = openSync(logFile, 'a');
  let child;
  try {
    child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd);
  }
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  const end = Date.now() + timeoutMs;
  while (!existsSync(socketPath)) {
    if (exited !== undefined) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
      throw new Error(`the lab's power switch exited (${exited}) before listening: ${log}`);
    }
    if (Date.now() > end) {
      try {
        process.kill(child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      throw new Error(`the lab's power switch did not listen on ${socketPath} within ${timeoutMs} ms`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return child.pid!;
}

/** Stop a switch by pid, only if that pid still is a power switch (pids are reused). */
export async function stopPowerSwitchProcess(pid: number): Promise<void> {
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('power-switch')) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** Make the switch's directory (bound into the nodes) and the lab key (kept outside them). */
export function prepareSwitchFiles(labDir: string): { powerDir: string; socketPath: string; labKey: Buffer } {
  const powerDir = join(labDir, 'power');
  mkdirSync(powerDir, { recursive: true, mode: 0o700 });
  const labKey = randomBytes(32);
  return { powerDir, socketPath: join(powerDir, SWITCH_SOCKET_NAME), labKey };
}
