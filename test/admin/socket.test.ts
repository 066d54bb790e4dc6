import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { AdminError, AdminServer, adminCall, adminWatch } from '../../src/admin/socket.js';

/** Send raw bytes and collect reply lines until the daemon closes or `lines` arrive. */
function raw(path: string, payload: string | Buffer, lines = 1): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    s.setEncoding('utf8');
    s.on('data', (c: string) => {
      buf += c;
      const got = buf.split('\n').filter(Boolean);
      if (got.length >= lines) {
        s.destroy();
        resolve(got);
      }
    });
    s.on('close', () => resolve(buf.split('\n').filter(Boolean)));
    s.on('error', reject);
    s.write(payload);
  });
}

describe('admin socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'belay-admin-'));
  const path = join(dir, 'run', 'admin.sock');
  const refused: string[] = [];
  let server: AdminServer;

  beforeAll(async () => {
    server = new AdminServer(
      path,
      (req, conn) => {
        if (req.cmd === 'echo') return req.args;
        if (req.cmd === 'watch') {
          let n = 0;
          const t = setInterval(() => conn.push('tick', ++n), 10);
          conn.onClose(() => clearInterval(t));
          return new Promise(() => {}); // streams until the client leaves
        }
        throw new AdminError(`unknown command: ${req.cmd}`);
      },
      { maxMessageBytes: 4096, onBadRequest: (r) => refused.push(r) },
    );
    await server.listen();
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers requests', async () => {
    expect(await adminCall(path, 'echo', { a: 1 })).toEqual({ a: 1 });
  });

  it('is closed to other users: socket 0600 in a 0700 directory', () => {
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'run')).mode & 0o777).toBe(0o700);
  });

  it('refuses a non-root user', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (to switch to user nobody)');
    const script = `require('net').createConnection(${JSON.stringify(path)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})`;
    const r = await execa('runuser', ['-u', 'nobody', '--', process.execPath, '-e', script], { reject: false });
    expect(r.stdout.trim()).toMatch(/EACCES/);
  });

  it('names an unknown command and keeps serving', async () => {
    await expect(adminCall(path, 'frobnicate')).rejects.toThrow(/unknown command: frobnicate/);
    expect(await adminCall(path, 'echo', { still: 'up' })).toEqual({ still: 'up' });
  });

  it('answers malformed JSON with an error and keeps the connection', async () => {
    const replies = await raw(path, '{"cmd": "echo", \n{"id":2,"cmd":"echo","args":{"x":1}}\n', 2);
    expect(JSON.parse(replies[0]!)).toMatchObject({ ok: false, error: expect.stringMatching(/malformed JSON/) });
    expect(JSON.parse(replies[1]!)).toEqual({ id: 2, ok: true, result: { x: 1 } });
  });

  it('rejects requests of the wrong shape', async () => {
    const replies = await raw(path, '[1,2]\n{"id":3}\n{"id":4,"cmd":"echo","args":[1]}\n', 3);
    expect(replies.map((l) => JSON.parse(l).error)).toEqual([
      'a request must be a JSON object',
      'a request needs a "cmd" string',
      '"args" must be a JSON object',
    ]);
  });

  it('cuts off an oversized message and keeps serving others', async () => {
    const replies = await raw(path, 'x'.repeat(10_000));
    expect(JSON.parse(replies[0]!).error).toMatch(/message too large/);
    expect(refused.some((r) => /too large/.test(r))).toBe(true);
    expect(await adminCall(path, 'echo', { after: 'oversize' })).toEqual({ after: 'oversize' });
  });

  it('streams events to a watcher', async () => {
    const ticks: unknown[] = [];
    await new Promise<void>((resolve, reject) => {
      void adminWatch(path, 'watch', {}, (event, data) => {
        if (event === 'tick') ticks.push(data);
        if (ticks.length === 3) resolve();
      }, (reason) => reject(new Error(reason))).then((stop) => setTimeout(stop, 2000));
    });
    expect(ticks).toEqual([1, 2, 3]);
  });

  it('refuses to start over a live daemon', async () => {
    const second = new AdminServer(path, () => null);
    await expect(second.listen()).rejects.toThrow(/another daemon is listening/);
  });

  it('tells the client when no daemon runs', async () => {
    await expect(adminCall(join(dir, 'none.sock'), 'echo')).rejects.toThrow(/belayd is not running/);
  });
});

describe('admin socket with an admin group', () => {
  it('lets the group in and keeps others out', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test needs root (to chown to a group and switch users)');
    const dir = mkdtempSync(join(tmpdir(), 'belay-admin-g-'));
    // mkdtemp makes 0700: open the parent so that only the socket's own directory decides.
    (await import('node:fs')).chmodSync(dir, 0o755);
    const path = join(dir, 'run', 'admin.sock');
    const gid = 65534; // nogroup: user nobody's group
    const server = new AdminServer(path, () => 'ok', { adminGid: gid });
    await server.listen();
    try {
      expect(statSync(path).mode & 0o777).toBe(0o660);
      expect(statSync(path).gid).toBe(gid);
      const probe = (user: string, group: string) => {
        const script = `require('net').createConnection(${JSON.stringify(path)}).on('connect',()=>{console.log('CONNECTED');process.exit(0)}).on('error',e=>{console.log(e.code);process.exit(1)})`;
        return execa('setpriv', [`--reuid=${user}`, `--regid=${group}`, '--clear-groups', process.execPath, '-e', script], { reject: false });
      };
      expect((await probe('nobody', 'nogroup')).stdout.trim()).toBe('CONNECTED');
      expect((await probe('nobody', 'daemon')).stdout.trim()).toBe('EACCES');
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
