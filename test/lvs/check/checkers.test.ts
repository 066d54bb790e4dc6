/**
 * The checkers on real sockets and processes, on loopback: TCP_CHECK,
 * HTTP_GET, SSL_GET (self-signed certificate made with openssl), MISC_CHECK.
 * Small delays (100–300 ms); assertions on events and their order, with
 * generous bounds, never on tight wall-clock limits.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { TLSSocket } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { makeStartRealServerChecks, startRealServerChecks } from '../../../src/lvs/check/index.js';
import type { CheckerHandle, CheckerHooks, CheckCommon, HttpCheckSpec, MiscCheckSpec, RealServerHealth } from '../../../src/lvs/check/spec.js';
import { waiter } from '../../wait.js';

const waitFor = waiter(20_000, 20);

type Event = { kind: 'log'; line: string } | { kind: 'change'; health: RealServerHealth };

function recorder() {
  const events: Event[] = [];
  const hooks: CheckerHooks = {
    log: (line) => events.push({ kind: 'log', line }),
    onChange: (health) => events.push({ kind: 'change', health }),
  };
  const lines = () => events.flatMap((e) => (e.kind === 'log' ? [e.line] : []));
  const changes = () => events.flatMap((e) => (e.kind === 'change' ? [e.health] : []));
  /** Wait until `pred` holds for an event after index `from`; return its index. */
  const waitEvent = async (what: string, pred: (e: Event) => boolean, from = 0): Promise<number> => {
    await waitFor(what, async () => events.findIndex((e, i) => i >= from && pred(e)), (i) => i >= 0);
    return events.findIndex((e, i) => i >= from && pred(e));
  };
  return { events, hooks, lines, changes, waitEvent };
}

const isLog = (s: string) => (e: Event) => e.kind === 'log' && e.line === s;
const isChange = (up: boolean) => (e: Event) => e.kind === 'change' && e.health.up === up;

function common(over: Partial<CheckCommon> = {}): CheckCommon {
  return {
    file: 'test.conf',
    line: 1,
    connectTimeoutMs: 2000,
    retry: 2,
    delayBeforeRetryMs: 100,
    delayLoopMs: 200,
    warmupMs: 0,
    alpha: false,
    ...over,
  };
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function track(h: CheckerHandle): CheckerHandle {
  cleanups.push(() => h.stop());
  return h;
}

function listen(server: net.Server, port = 0, host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port));
  });
}

function close(server: net.Server): Promise<void> {
  if (server instanceof http.Server) server.closeAllConnections();
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}

function tcpServer(onConn: (s: net.Socket) => void = (s) => s.destroy()): net.Server {
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on('close', () => socks.delete(s));
    onConn(s);
  });
  // close() waits for open connections: end the ones a test holds open.
  srv.on('close', () => socks.forEach((s) => s.destroy()));
  cleanups.push(() => {
    socks.forEach((s) => s.destroy());
    return close(srv);
  });
  return srv;
}

function tmp(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'belay-lvscheck-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('TCP_CHECK', () => {
  it('a server that stops listening is down after its retries, and up again when it listens', async () => {
    const srv = tcpServer();
    const port = await listen(srv);
    const chk = `[127.0.0.1]:tcp:${port}`;
    const rec = recorder();
    const h = track(startRealServerChecks({ ip: '127.0.0.1', port }, [{ kind: 'TCP_CHECK', ...common() }], rec.hooks));
    expect(h.health().up).toBe(true);
    await rec.waitEvent('first success', isLog(`TCP connection to ${chk} success.`));
    expect(rec.changes()).toEqual([]); // it started up: no change

    await close(srv);
    const closedAt = Date.now();
    const down = await rec.waitEvent('down', isChange(false));
    // retry (2) × delay_before_retry (100 ms) at least: timers never fire early.
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(200);
    expect(rec.events[down - 1]).toEqual({ kind: 'log', line: `TCP_CHECK on service ${chk} failed after 2 retries.` });
    expect(h.health()).toEqual({ up: false, reason: `TCP_CHECK on service ${chk} failed after 2 retries.` });

    const srv2 = tcpServer();
    await listen(srv2, port);
    const up = await rec.waitEvent('up again', isChange(true), down);
    expect(rec.events[up - 1]).toEqual({ kind: 'log', line: `TCP connection to ${chk} success.` });
    expect(rec.changes().map((c) => c.up)).toEqual([false, true]);
  });

  it('connects from bindto/bind_port, and to connect_ip/connect_port instead of the real server', async () => {
    const peers: string[] = [];
    const srv = tcpServer((s) => {
      peers.push(`${s.remoteAddress}:${s.remotePort}`);
      s.destroy();
    });
    const port = await listen(srv);
    // A free local port on 127.0.0.2, found by binding it once.
    const probe = net.createServer();
    const bindPort = await listen(probe, 0, '127.0.0.2');
    await close(probe);
    const rec = recorder();
    // The real server's own address has nothing listening; connect_ip/port point at srv.
    track(
      startRealServerChecks(
        { ip: '127.0.0.9', port: 9 },
        [{ kind: 'TCP_CHECK', ...common({ connectIp: '127.0.0.1', connectPort: port, bindTo: '127.0.0.2', bindPort, delayLoopMs: 60_000 }) }],
        rec.hooks,
      ),
    );
    // Log lines name the real server (FMT_CHK), not connect_ip.
    await rec.waitEvent('success', isLog('TCP connection to [127.0.0.9]:tcp:9 success.'));
    expect(peers[0]).toBe(`127.0.0.2:${bindPort}`);
  });

  it('a bindto that cannot be bound gives no verdict: "Rescheduling", the server stays up', async () => {
    const srv = tcpServer();
    const port = await listen(srv);
    const rec = recorder();
    const h = track(startRealServerChecks({ ip: '127.0.0.1', port }, [{ kind: 'TCP_CHECK', ...common({ bindTo: '192.0.2.77' }) }], rec.hooks));
    await rec.waitEvent('bind failure', isLog('TCP socket bind failed. Rescheduling.'));
    await rec.waitEvent('again', isLog('TCP socket bind failed. Rescheduling.'), rec.events.length);
    expect(rec.changes()).toEqual([]);
    expect(h.health().up).toBe(true);
  });

  it('alpha: starts down, up on the first success; stop() ends all hooks', async () => {
    const srv = tcpServer();
    const port = await listen(srv);
    const rec = recorder();
    const h = track(startRealServerChecks({ ip: '127.0.0.1', port }, [{ kind: 'TCP_CHECK', ...common({ alpha: true }) }], rec.hooks));
    expect(h.health().up).toBe(false);
    await rec.waitEvent('up', isChange(true));
    h.stop();
    const n = rec.events.length;
    await close(srv);
    await new Promise((r) => setTimeout(r, 600));
    expect(rec.events.length).toBe(n);
  });

  it('a hook that throws does not stop the checks', async () => {
    const srv = tcpServer();
    const port = await listen(srv);
    const changes: boolean[] = [];
    const hooks: CheckerHooks = {
      log: () => {
        throw new Error('log hook broken');
      },
      onChange: (h) => {
        changes.push(h.up);
        throw new Error('onChange hook broken');
      },
    };
    track(startRealServerChecks({ ip: '127.0.0.1', port }, [{ kind: 'TCP_CHECK', ...common({ retry: 0 }) }], hooks));
    await new Promise((r) => setTimeout(r, 300));
    await close(srv);
    await waitFor('down', async () => changes, (c) => c.length === 1);
    const srv2 = tcpServer();
    await listen(srv2, port);
    await waitFor('up again', async () => changes, (c) => c.length === 2);
    expect(changes).toEqual([false, true]);
  });

  it('warmup: the first check waits random × warmup (injected draw)', async () => {
    const srv = tcpServer();
    const port = await listen(srv);
    const rec = recorder();
    const start = makeStartRealServerChecks({ random: () => 0.5 });
    const t0 = Date.now();
    track(start({ ip: '127.0.0.1', port }, [{ kind: 'TCP_CHECK', ...common({ warmupMs: 600 }) }], rec.hooks));
    await rec.waitEvent('first check', (e) => e.kind === 'log');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });
});

function httpSpec(over: Partial<HttpCheckSpec> = {}): HttpCheckSpec {
  return { kind: 'HTTP_GET', ...common({ retry: 1 }), urls: [{ path: '/health', statusCodes: [] }], enableSni: false, ...over };
}

const md5 = (s: string) => createHash('md5').update(s).digest('hex');

describe('HTTP_GET', () => {
  it('500 takes it down, the right body brings it back (two successes), a wrong digest takes it down again', async () => {
    let status = 200;
    let body = 'hello';
    const seen: { version: string; host?: string; agent?: string; url?: string }[] = [];
    const srv = http.createServer((req, res) => {
      seen.push({ version: req.httpVersion, host: req.headers.host, agent: req.headers['user-agent'], url: req.url });
      res.writeHead(status, { 'Content-Type': 'text/plain' });
      res.end(body);
    });
    cleanups.push(() => close(srv));
    const port = await listen(srv);
    const chk = `[127.0.0.1]:tcp:${port}`;
    const rec = recorder();
    track(startRealServerChecks({ ip: '127.0.0.1', port }, [httpSpec({ urls: [{ path: '/health', statusCodes: [], digest: md5('hello') }] })], rec.hooks));
    await rec.waitEvent('first success', isLog(`Remote Web server ${chk} succeed on service.`));
    // keepalived's request: HTTP/1.0, its User-Agent, Host = address:port without a virtualhost.
    expect(seen[0]).toEqual({ version: '1.0', host: `127.0.0.1:${port}`, agent: 'KeepAliveClient', url: '/health' });

    status = 500;
    const down = await rec.waitEvent('down on 500', isChange(false));
    expect(rec.events[down - 1]).toEqual({ kind: 'log', line: `HTTP_CHECK on service ${chk} failed after 1 retries.` });

    status = 200;
    const up = await rec.waitEvent('up again', isChange(true), down);
    expect(rec.lines().slice(-3)).toEqual([
      `MD5 digest success to ${chk} url(/health)`,
      `MD5 digest success to ${chk} url(/health)`,
      `Remote Web server ${chk} succeed on service.`,
    ]);

    body = 'changed';
    await rec.waitEvent('down on wrong digest', isChange(false), up);
    expect(rec.changes().map((c) => c.up)).toEqual([false, true, false]);
  });

  it('status_code list and virtualhost: 404 accepted when listed; Host is the virtualhost', async () => {
    const hosts: (string | undefined)[] = [];
    const srv = http.createServer((req, res) => {
      hosts.push(req.headers.host);
      res.writeHead(404);
      res.end('nope');
    });
    cleanups.push(() => close(srv));
    const port = await listen(srv);
    const rec = recorder();
    const h = track(
      startRealServerChecks(
        { ip: '127.0.0.1', port },
        [httpSpec({ virtualhost: 'www.example.test', urls: [{ path: '/', statusCodes: [404] }, { path: '/x', statusCodes: [404], virtualhost: 'x.example.test' }] })],
        rec.hooks,
      ),
    );
    await rec.waitEvent('success', isLog(`Remote Web server [127.0.0.1]:tcp:${port} succeed on service.`));
    expect(hosts.slice(0, 2)).toEqual(['www.example.test', 'x.example.test']);
    expect(h.health().up).toBe(true);
  });

  it('a server that accepts and never answers fails after connect_timeout (read timeout)', async () => {
    const srv = tcpServer(() => {}); // hold the connection, say nothing
    const port = await listen(srv);
    const rec = recorder();
    track(startRealServerChecks({ ip: '127.0.0.1', port }, [httpSpec({ ...common({ retry: 0, connectTimeoutMs: 300 }) })], rec.hooks));
    await rec.waitEvent('down', isChange(false));
    expect(rec.lines()).toContain(`HTTP_CHECK on service [127.0.0.1]:tcp:${port} failed.`);
  });
});

describe('SSL_GET', () => {
  function selfSigned(): { key: Buffer; cert: Buffer } {
    const dir = tmp();
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/k.pem`, '-out', `${dir}/c.pem`, '-days', '1', '-subj', '/CN=belay-test'], {
        stdio: 'pipe',
      });
    } catch (err) {
      throw new Error(`openssl is needed to make the test certificate: ${(err as Error).message}`);
    }
    return { key: readFileSync(`${dir}/k.pem`), cert: readFileSync(`${dir}/c.pem`) };
  }

  it('accepts a self-signed certificate, sends SNI only with enable_sni, checks the digest', async () => {
    const names: (string | false)[] = [];
    let body = 'secure';
    const srv = https.createServer(selfSigned(), (req, res) => {
      names.push((req.socket as TLSSocket).servername ?? false);
      res.writeHead(200);
      res.end(body);
    });
    cleanups.push(() => close(srv));
    const port = await listen(srv);
    const chk = `[127.0.0.1]:tcp:${port}`;
    const url = { path: '/', statusCodes: [], digest: md5('secure') };

    const rec = recorder();
    track(startRealServerChecks({ ip: '127.0.0.1', port }, [httpSpec({ kind: 'SSL_GET', virtualhost: 'sni.example.test', enableSni: true, urls: [url] })], rec.hooks));
    await rec.waitEvent('success with SNI', isLog(`Remote Web server ${chk} succeed on service.`));
    expect(names[0]).toBe('sni.example.test');

    const rec2 = recorder();
    track(startRealServerChecks({ ip: '127.0.0.1', port }, [httpSpec({ kind: 'SSL_GET', virtualhost: 'sni.example.test', enableSni: false, urls: [url] })], rec2.hooks));
    await rec2.waitEvent('success without SNI', isLog(`Remote Web server ${chk} succeed on service.`));
    expect(names.at(-1)).toBe(false);

    body = 'tampered';
    await rec.waitEvent('down on digest', isChange(false));
  });

  it('a plain TCP server that is not TLS fails the handshake', async () => {
    const srv = tcpServer((s) => s.end('HTTP/1.0 200 OK\r\n\r\nnot tls'));
    const port = await listen(srv);
    const rec = recorder();
    const h = track(
      startRealServerChecks({ ip: '127.0.0.1', port }, [httpSpec({ kind: 'SSL_GET', ...common({ retry: 0 }) })], rec.hooks),
    );
    await rec.waitEvent('down', isChange(false));
    expect(h.health().up).toBe(false);
  });
});

function miscSpec(over: Partial<MiscCheckSpec> = {}): MiscCheckSpec {
  return {
    kind: 'MISC_CHECK',
    file: 'test.conf',
    line: 7,
    path: '/bin/true',
    timeoutMs: 5000,
    dynamic: false,
    retry: 0,
    delayBeforeRetryMs: 100,
    delayLoopMs: 200,
    warmupMs: 0,
    alpha: false,
    ...over,
  };
}

function script(dir: string, name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${text}\n`);
  chmodSync(p, 0o755);
  return p;
}

describe('MISC_CHECK', () => {
  it('exit codes: 0 up, 1 down; misc_dynamic 2..255 up with weight code - 2', async () => {
    const dir = tmp();
    const codeFile = path.join(dir, 'code');
    writeFileSync(codeFile, '0');
    const s = script(dir, 'check.sh', `exit $(cat '${codeFile}')`);
    const rec = recorder();
    const start = makeStartRealServerChecks({ vs: '[10.0.0.100]:tcp:80' });
    const h = track(start({ ip: '127.0.0.1', port: 80 }, [miscSpec({ path: s, dynamic: true })], rec.hooks));
    const what = `Misc check for [[127.0.0.1]:tcp:80 VS [10.0.0.100]:tcp:80] by [${s}]`;
    await rec.waitEvent('first run', isLog(`${what} succeeded.`));

    writeFileSync(codeFile, '7');
    const w = await rec.waitEvent('weight 5', (e) => e.kind === 'change' && e.health.dynamicWeight === 5);
    expect((rec.events[w] as { health: RealServerHealth }).health.up).toBe(true);

    writeFileSync(codeFile, '1');
    const down = await rec.waitEvent('down', isChange(false), w);
    expect(rec.lines().at(-1)).toBe(`${what} failed with retry disabled (exited with status 1).`);
    expect(h.health().dynamicWeight).toBeUndefined();

    writeFileSync(codeFile, '2');
    const up = await rec.waitEvent('up with weight 0', isChange(true), down);
    expect((rec.events[up] as { health: RealServerHealth }).health.dynamicWeight).toBe(0);
  });

  it('runs misc_path split into argv, never through a shell', async () => {
    const dir = tmp();
    const out = path.join(dir, 'args');
    const s = script(dir, 'args.sh', `for a in "$@"; do printf '%s\\n' "$a"; done > '${out}'`);
    const rec = recorder();
    track(startRealServerChecks({ ip: '127.0.0.1', port: 80 }, [miscSpec({ path: `${s} 'two words' "\\$HOME;rm -rf x" \`id\`` })], rec.hooks));
    await rec.waitEvent('ran', (e) => e.kind === 'log' && e.line.endsWith('succeeded.'));
    expect(readFileSync(out, 'utf8')).toBe('two words\n$HOME;rm -rf x\n`id`\n');
  });

  it('a hung script is killed after misc_timeout with its children, and is "timed out"', async () => {
    const dir = tmp();
    const pidFile = path.join(dir, 'pid');
    // Ignores SIGTERM: only the SIGKILL 2 s later ends it; its child sleep must die too.
    const s = script(dir, 'hang.sh', `trap '' TERM\nsleep 60 &\necho $! > '${pidFile}'\nwait`);
    const rec = recorder();
    const h = track(startRealServerChecks({ ip: '127.0.0.1', port: 80 }, [miscSpec({ path: s, timeoutMs: 300, delayLoopMs: 60_000 })], rec.hooks));
    await rec.waitEvent('timed out', isChange(false));
    expect(rec.lines()).toEqual([`Misc check for [[127.0.0.1]:tcp:80] by [${s}] timed out with retry disabled.`]);
    expect(h.health().up).toBe(false);
    const child = Number(readFileSync(pidFile, 'utf8'));
    await waitFor('the script child gone', async () => {
      try {
        process.kill(child, 0);
        return false;
      } catch {
        return true;
      }
    }, (gone) => gone);
  });

  it('runs as `user` when given (needs root, as keepalived does to switch user)', async () => {
    expect(process.getuid?.(), 'this test needs root to run a script as another user').toBe(0);
    const dir = tmp();
    chmodSync(dir, 0o777);
    const out = path.join(dir, 'uid');
    const s = script(dir, 'whoami.sh', `id -u > '${out}'`);
    const nobody = Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).trim());
    const rec = recorder();
    track(startRealServerChecks({ ip: '127.0.0.1', port: 80 }, [miscSpec({ path: s, user: 'nobody', delayLoopMs: 60_000 })], rec.hooks));
    await rec.waitEvent('ran', (e) => e.kind === 'log' && e.line.endsWith('succeeded.'));
    expect(Number(readFileSync(out, 'utf8').trim())).toBe(nobody);
  });

  it('a script that is not there disables the checker, as keepalived does', async () => {
    const rec = recorder();
    const missing = '/nonexistent/belay-check.sh';
    expect(existsSync(missing)).toBe(false);
    const h = track(startRealServerChecks({ ip: '127.0.0.1', port: 80 }, [miscSpec({ path: missing })], rec.hooks));
    expect(rec.lines()).toEqual([`Disabling misc script ${missing} since not found/accessible`]);
    expect(h.health().up).toBe(true);
  });
});

describe('a real server with several checkers', () => {
  it('is up only when every checker is up', async () => {
    const srv = tcpServer();
    const port = await listen(srv);
    const dir = tmp();
    const codeFile = path.join(dir, 'code');
    writeFileSync(codeFile, '0');
    const s = script(dir, 'check.sh', `exit $(cat '${codeFile}')`);
    const rec = recorder();
    const h = track(startRealServerChecks({ ip: '127.0.0.1', port }, [{ kind: 'TCP_CHECK', ...common() }, miscSpec({ path: s })], rec.hooks));
    await rec.waitEvent('MISC ran', (e) => e.kind === 'log' && e.line.endsWith('succeeded.'));
    await rec.waitEvent('TCP ran', (e) => e.kind === 'log' && e.line.startsWith('TCP connection to'));
    await close(srv);
    const down = await rec.waitEvent('down by TCP', isChange(false));
    expect(rec.events[down - 1]).toMatchObject({ kind: 'log', line: expect.stringContaining('TCP_CHECK on service') });
    writeFileSync(codeFile, '1');
    await rec.waitEvent('MISC down', (e) => e.kind === 'log' && e.line.includes('failed with retry disabled'), down);
    const srv2 = tcpServer();
    await listen(srv2, port);
    // TCP is up again but MISC is down: the server stays down.
    const tcpUp = await rec.waitEvent('TCP up', (e) => e.kind === 'log' && e.line.startsWith('TCP connection to'), down);
    expect(h.health().up).toBe(false);
    expect(rec.changes().map((c) => c.up)).toEqual([false]);
    writeFileSync(codeFile, '0');
    const up = await rec.waitEvent('up', isChange(true), tcpUp);
    expect(rec.events[up - 1]).toMatchObject({ kind: 'log', line: expect.stringContaining('succeeded.') });
  });
});
