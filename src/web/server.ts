/**
 * The web console's HTTP(S) shell, served by belayd on `web_listen`:
 *
 *   GET  /             the page (loopback: a session is made on the spot)
 *   GET  /login, POST /login, POST /logout
 *   GET  /api/events   server-sent events: the view on connect and on every change
 *   GET  /api/status   the view, once
 *   GET  /api/config   `crm configure show`
 *   POST /api/action   node standby/online, resource start/stop/move/clear/cleanup
 *   POST /api/whatif   the scheduler's placement with some nodes down
 *
 * Actions run the `crm` command itself (argv, no shell) against the local
 * admin socket, so the console does exactly what the CLI does. TLS when
 * web.crt and web.key sit beside cluster.yaml; remote users log in from
 * web-users there and must be in admin_group.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import { fileURLToPath } from 'node:url';
import type { Cib } from '../cib/model.js';
import { showConfiguration } from '../crmsh/show.js';
import type { DaemonSnapshot } from '../metrics/daemon.js';
import { parseListen } from '../metrics/server.js';
import { cookieOf, inGroup, isLoopback, readPasswordFile, Sessions, verifyPassword, type Session } from './auth.js';
import { consolePage, loginPage } from './page.js';
import { consoleView, whatIf } from './view.js';

const CRM = fileURLToPath(new URL('../../bin/crm', import.meta.url));
const COOKIE = 'belay_session';
const MAX_BODY = 64 * 1024;

export interface WebOptions {
  clusterName: string;
  snapshot: () => DaemonSnapshot;
  /** web-users (password file); absent: only loopback can use the console. */
  passwordFile: string;
  /** Group whose members may log in (admin_group); undefined: root only. */
  adminGroup?: string;
  tls?: { cert: string; key: string };
  log: (line: string) => void;
  /** The crm command (tests may point it elsewhere). */
  crm?: string[];
}

export type Action = 'standby' | 'online' | 'start' | 'stop' | 'move' | 'clear' | 'cleanup';

/** The crm argv for an action, checked against the CIB's names (never a shell line). */
export function actionArgv(cib: Cib, a: { action?: unknown; node?: unknown; rsc?: unknown }): string[] {
  const nodes = new Set(cib.configuration.nodes.map((n) => n.uname));
  const rscs = new Set<string>();
  const walk = (r: { id: string; children?: Array<{ id: string }>; child?: { id: string; children?: Array<{ id: string }> } }) => {
    rscs.add(r.id);
    for (const c of r.children ?? []) rscs.add(c.id);
    if (r.child) walk(r.child);
  };
  for (const r of cib.configuration.resources) walk(r as Parameters<typeof walk>[0]);
  const node = typeof a.node === 'string' && nodes.has(a.node) ? a.node : undefined;
  const rsc = typeof a.rsc === 'string' && rscs.has(a.rsc) ? a.rsc : undefined;
  const needNode = () => node ?? fail(`no node named '${String(a.node)}'`);
  const needRsc = () => rsc ?? fail(`no resource named '${String(a.rsc)}'`);
  switch (a.action) {
    case 'standby':
      return ['node', 'standby', needNode()];
    case 'online':
      return ['node', 'online', needNode()];
    case 'start':
    case 'stop':
    case 'clear':
    case 'cleanup':
      return ['resource', a.action, needRsc()];
    case 'move':
      return ['resource', 'move', needRsc(), needNode()];
    default:
      return fail(`unknown action '${String(a.action)}'`);
  }
}

function fail(message: string): never {
  throw Object.assign(new Error(message), { status: 400 });
}

export class WebConsole {
  private server: Server | undefined;
  private readonly sessions = new Sessions();
  private readonly streams = new Set<ServerResponse>();
  private pushQueued = false;
  private lastPushed = '';

  constructor(private readonly opts: WebOptions) {}

  async listen(address: string): Promise<{ host: string; port: number; tls: boolean }> {
    const { host, port } = parseListen(address);
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      this.route(req, res).catch((err: Error & { status?: number }) => {
        if (!res.headersSent) this.json(res, err.status ?? 500, { error: err.message });
        else res.end();
      });
    };
    const tls = this.opts.tls;
    const server = tls ? createHttps({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, handler) : createHttp(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const a = server.address();
    return typeof a === 'object' && a ? { host: a.address, port: a.port, tls: !!tls } : { host, port, tls: !!tls };
  }

  /** A change happened: push the view to every open page (once per turn of the event loop). */
  changed(): void {
    if (this.streams.size === 0 || this.pushQueued) return;
    this.pushQueued = true;
    setImmediate(() => {
      this.pushQueued = false;
      const data = JSON.stringify(this.view());
      if (data === this.lastPushed) return;
      this.lastPushed = data;
      for (const s of this.streams) s.write(`data: ${data}\n\n`);
    });
  }

  private view() {
    return consoleView({ ...this.opts.snapshot(), clusterName: this.opts.clusterName });
  }

  private headers(nonce?: string): Record<string, string> {
    return {
      'content-security-policy': `default-src 'self'; script-src ${nonce ? `'nonce-${nonce}'` : "'none'"}; style-src ${nonce ? `'nonce-${nonce}'` : "'none'"}; frame-ancestors 'none'; form-action 'self'`,
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'cache-control': 'no-store',
    };
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { ...this.headers(), 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private setCookie(res: ServerResponse, token: string): void {
    res.setHeader('set-cookie', `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict${this.opts.tls ? '; Secure' : ''}`);
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const token = cookieOf(req.headers.cookie, COOKIE);
    let session = this.sessions.get(token);
    const local = isLoopback(req.socket.remoteAddress);
    const method = req.method ?? 'GET';

    if (method === 'GET' && url.pathname === '/login') {
      const nonce = randomBytes(16).toString('base64');
      res.writeHead(200, { ...this.headers(nonce), 'content-type': 'text/html; charset=utf-8' }).end(loginPage({ nonce, title: this.opts.clusterName }));
      return;
    }
    if (method === 'POST' && url.pathname === '/login') {
      const form = new URLSearchParams(await body(req));
      const user = form.get('user') ?? '';
      if (this.checkLogin(user, form.get('password') ?? '')) {
        const made = this.sessions.create(user);
        this.setCookie(res, made.token);
        this.opts.log(`web: ${user} logged in from ${req.socket.remoteAddress}`);
        res.writeHead(303, { location: '/' }).end();
      } else {
        this.opts.log(`web: failed login for '${user}' from ${req.socket.remoteAddress}`);
        const nonce = randomBytes(16).toString('base64');
        res.writeHead(401, { ...this.headers(nonce), 'content-type': 'text/html; charset=utf-8' }).end(loginPage({ nonce, title: this.opts.clusterName, error: 'Login failed' }));
      }
      return;
    }

    if (!session && local && method === 'GET' && url.pathname === '/') {
      const made = this.sessions.create('root (loopback)');
      this.setCookie(res, made.token);
      session = made.session;
    }
    if (!session) {
      if (method === 'GET' && url.pathname === '/') res.writeHead(303, { location: '/login' }).end();
      else this.json(res, 401, { error: 'log in first' });
      return;
    }
    if (method === 'POST') {
      // CSRF: the token from the page, in a header (fetch) or a form field (logout).
      const raw = await body(req);
      const sent = req.headers['x-csrf-token'] ?? new URLSearchParams(raw).get('csrf');
      if (sent !== session.csrf) {
        this.json(res, 403, { error: 'missing or wrong CSRF token' });
        return;
      }
      await this.post(url.pathname, raw, session, token, res);
      return;
    }
    if (method !== 'GET') {
      this.json(res, 405, { error: 'GET or POST only' });
      return;
    }
    switch (url.pathname) {
      case '/': {
        const nonce = randomBytes(16).toString('base64');
        res
          .writeHead(200, { ...this.headers(nonce), 'content-type': 'text/html; charset=utf-8' })
          .end(consolePage({ csrf: session.csrf, nonce, title: this.opts.clusterName, user: session.user }));
        return;
      }
      case '/api/status':
        this.json(res, 200, this.view());
        return;
      case '/api/config':
        res.writeHead(200, { ...this.headers(), 'content-type': 'text/plain; charset=utf-8' }).end(showConfiguration(this.opts.snapshot().cib));
        return;
      case '/api/events': {
        res.writeHead(200, { ...this.headers(), 'content-type': 'text/event-stream', connection: 'keep-alive' });
        res.write(`retry: 1000\ndata: ${JSON.stringify(this.view())}\n\n`);
        this.streams.add(res);
        const ping = setInterval(() => res.write(': ping\n\n'), 15_000);
        req.on('close', () => {
          clearInterval(ping);
          this.streams.delete(res);
        });
        return;
      }
      default:
        this.json(res, 404, { error: 'not found' });
    }
  }

  private async post(path: string, raw: string, session: Session, token: string | undefined, res: ServerResponse): Promise<void> {
    if (path === '/logout') {
      this.sessions.drop(token);
      res.writeHead(303, { location: '/login', 'set-cookie': `${COOKIE}=; Path=/; Max-Age=0` }).end();
      return;
    }
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(raw || '{}') as Record<string, unknown>;
    } catch {
      return fail('the body is not JSON');
    }
    if (path === '/api/action') {
      const argv = actionArgv(this.opts.snapshot().cib, args);
      this.opts.log(`web: ${session.user}: crm ${argv.join(' ')}`);
      const out = await runCrm(this.opts.crm ?? [process.execPath, CRM], argv);
      if (out.code !== 0) this.json(res, 409, { error: out.text.trim() || `crm exited ${out.code}` });
      else this.json(res, 200, { ok: true, output: out.text.trim() });
      return;
    }
    if (path === '/api/whatif') {
      const down = Array.isArray(args['down']) ? args['down'].filter((x): x is string => typeof x === 'string') : [];
      const s = this.opts.snapshot();
      try {
        this.json(res, 200, { text: whatIf(s.cib, down, s.now) });
      } catch (err) {
        fail((err as Error).message);
      }
      return;
    }
    this.json(res, 404, { error: 'not found' });
  }

  private checkLogin(user: string, password: string): boolean {
    const stored = readPasswordFile(this.opts.passwordFile).get(user);
    // Hash even for unknown users, so the answer's timing does not tell who exists.
    const ok = verifyPassword(stored ?? '$scrypt$N=16384,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=', password);
    if (!stored || !ok) return false;
    return user === 'root' || (this.opts.adminGroup !== undefined && inGroup(user, this.opts.adminGroup));
  }

  async close(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    const srv = this.server;
    this.server = undefined;
    if (!srv) return;
    srv.closeAllConnections();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(Object.assign(new Error('request body too large'), { status: 413 }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function runCrm(cmd: string[], argv: string[]): Promise<{ code: number; text: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env['CIB_file'];
    execFile(cmd[0]!, [...cmd.slice(1), ...argv], { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? Number((err as { code: number }).code) : 1) : 0;
      resolve({ code, text: `${stdout}${stderr}` });
    });
  });
}

/** TLS files beside the cluster file, when both exist. */
export function tlsFiles(dir: string): { cert: string; key: string } | undefined {
  const cert = `${dir}/web.crt`;
  const key = `${dir}/web.key`;
  return existsSync(cert) && existsSync(key) ? { cert, key } : undefined;
}
