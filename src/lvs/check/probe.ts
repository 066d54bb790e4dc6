/**
 * The probes behind the checkers: thin I/O shells, one check each, no
 * decision beyond "did this check pass" (the state machine in health.ts
 * decides the rest). Each honours an AbortSignal so `stop()` leaves nothing
 * running.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { constants as osConstants } from 'node:os';
import * as tls from 'node:tls';
import type { CheckResult } from './health.js';
import type { CheckTarget, HttpCheckSpec, MiscCheckSpec, TcpCheckSpec } from './spec.js';

/** bind(2) of bindto/bind_port failed: keepalived reschedules without a verdict (layer4.c connect_error). */
const BIND_FAILED = 'bind failed';

type ConnOpts = Pick<TcpCheckSpec, 'bindTo' | 'bindPort' | 'connectTimeoutMs'>;

/** Open a TCP (or TLS) connection within connect_timeout; resolves with the socket or a reason. */
function connect(
  dst: CheckTarget,
  co: ConnOpts,
  signal: AbortSignal,
  tlsOpts?: { servername?: string },
): Promise<{ sock: net.Socket } | { why: string }> {
  return new Promise((resolve) => {
    const base: net.TcpNetConnectOpts = {
      host: dst.ip,
      port: dst.port,
      ...(co.bindTo ? { localAddress: co.bindTo } : {}),
      ...(co.bindPort ? { localPort: co.bindPort } : {}),
    };
    // SSL_GET: no certificate verification (keepalived verifies only with a configured CA).
    const sock = tlsOpts
      ? tls.connect({ ...base, rejectUnauthorized: false, ...(tlsOpts.servername ? { servername: tlsOpts.servername } : { servername: '' }) })
      : net.connect(base);
    let done = false;
    const finish = (v: { sock: net.Socket } | { why: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.removeAllListeners('error');
      sock.on('error', () => {}); // later errors: the reader sees them, or the socket is gone
      if ('why' in v) sock.destroy();
      resolve(v);
    };
    const onAbort = () => finish({ why: 'stopped' });
    const timer = setTimeout(() => finish({ why: 'timeout' }), co.connectTimeoutMs);
    signal.addEventListener('abort', onAbort);
    sock.once(tlsOpts ? 'secureConnect' : 'connect', () => finish({ sock }));
    sock.once('error', (err: NodeJS.ErrnoException) => finish({ why: err.syscall === 'bind' ? BIND_FAILED : (err.code ?? err.message) }));
  });
}

/** TCP_CHECK: the connection opens within connect_timeout. */
export async function tcpProbe(dst: CheckTarget, spec: TcpCheckSpec, signal: AbortSignal): Promise<CheckResult> {
  const r = await connect(dst, spec, signal);
  if ('why' in r && r.why === BIND_FAILED) return { bindFailed: true };
  if ('why' in r) return { ok: false, why: r.why === 'timeout' ? 'timeout' : 'failed' };
  r.sock.destroy();
  return { ok: true };
}

/** What keepalived reads from a response: html.c extract_status_code(), extract_content_length(), extract_html(). */
export interface HttpResponse {
  status: number;
  /** MD5 hex of the body (up to Content-Length when the header is there). */
  md5: string;
}

/** Parse a whole HTTP response as keepalived does; null when no header end ("no data received"). */
export function parseResponse(buf: Buffer): HttpResponse | null {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1');
  const m = /^[^ \r]* (\d{3}) /.exec(head + '\r\n');
  const status = m ? Number(m[1]) : 0;
  let body = buf.subarray(end + 4);
  const cl = /Content-Length:(\s*\d+)(\r|\n|$)/.exec(head);
  if (cl) body = body.subarray(0, Number(cl[1]!.trim()));
  return { status, md5: createHash('md5').update(body).digest('hex') };
}

/** The request keepalived sends (check_http.c request_template, HTTP/1.0). */
export function httpRequest(path: string, host: string): string {
  return `GET ${path} HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: ${host}\r\n\r\n`;
}

function hostHeader(dst: CheckTarget, vhost: string | undefined): string {
  if (vhost) return vhost; // a virtualhost carries no port
  return dst.ip.includes(':') ? `[${dst.ip}]:${dst.port}` : `${dst.ip}:${dst.port}`;
}

/** Fetch one url: the socket closes when the server has sent all (HTTP/1.0); each read waits up to connect_timeout. */
async function fetchUrl(
  dst: CheckTarget,
  spec: HttpCheckSpec,
  path: string,
  vhost: string | undefined,
  signal: AbortSignal,
): Promise<HttpResponse | { why: string } | { bindFailed: true }> {
  const sni = spec.kind === 'SSL_GET' ? { ...(spec.enableSni && vhost ? { servername: vhost } : {}) } : undefined;
  const c = await connect(dst, spec, signal, sni);
  if ('why' in c && c.why === BIND_FAILED) return { bindFailed: true };
  if ('why' in c) {
    const tlsError = !!sni && !/^E[A-Z]+$/.test(c.why); // OpenSSL's codes (ERR_SSL_...), not a socket errno
    const why = c.why === 'timeout' ? 'Timeout connecting' : c.why === 'stopped' ? 'stopped' : tlsError ? 'SSL handshake/communication error connecting to' : 'Error connecting';
    return { why };
  }
  const sock = c.sock;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (v: HttpResponse | { why: string }) => {
      if (done) return;
      done = true;
      signal.removeEventListener('abort', onAbort);
      sock.destroy();
      resolve(v);
    };
    const onAbort = () => finish({ why: 'stopped' });
    signal.addEventListener('abort', onAbort);
    sock.setTimeout(spec.connectTimeoutMs, () => finish({ why: 'Timeout HTTP read' }));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => finish(chunks.length ? parseOrEmpty(Buffer.concat(chunks)) : { why: 'Read error with' }));
    sock.on('end', () => finish(parseOrEmpty(Buffer.concat(chunks))));
    sock.on('close', () => finish(parseOrEmpty(Buffer.concat(chunks))));
    sock.write(httpRequest(path, hostHeader(dst, vhost)));
  });
}

function parseOrEmpty(buf: Buffer): HttpResponse | { why: string } {
  return parseResponse(buf) ?? { why: 'Read, no data received from' };
}

/**
 * HTTP_GET / SSL_GET: every url in turn; a url passes when its status is in
 * status_code (200–299 when none) and, with `digest`, the body's MD5 matches.
 * The failure reason is keepalived's timeout_epilog() wording.
 */
export async function httpProbe(dst: CheckTarget, spec: HttpCheckSpec, signal: AbortSignal): Promise<CheckResult> {
  const passed: { path: string; digest: boolean }[] = [];
  for (const url of spec.urls) {
    const vhost = url.virtualhost ?? spec.virtualhost;
    const r = await fetchUrl(dst, spec, url.path, vhost, signal);
    if ('bindFailed' in r) return r;
    if ('why' in r) return { ok: false, why: r.why };
    const codes = url.statusCodes;
    const statusOk = codes.length ? codes.includes(r.status) : r.status >= 200 && r.status <= 299;
    if (!statusOk) return { ok: false, why: 'HTTP status code error to' };
    if (url.digest && url.digest.toLowerCase() !== r.md5) return { ok: false, why: 'MD5 digest error to' };
    passed.push({ path: url.path, digest: !!url.digest });
  }
  return { ok: true, urls: passed };
}

/** A failed MISC run as keepalived logs it, or the result. */
export interface MiscRun {
  result: CheckResult;
  /** A line to log besides the state machine's (exec failure, a child that would not die). */
  note?: string;
}

/**
 * MISC_CHECK: run argv directly (never through a shell) in its own process
 * group; after misc_timeout send the group SIGTERM, and SIGKILL 2 s later
 * (check_misc.c). keepalived's child exits 0 when exec fails ("Script
 * errors aren't server errors", lib/notify.c), so an exec failure counts as
 * success here too, with a log line.
 */
export function miscProbe(
  argv: string[],
  spec: Pick<MiscCheckSpec, 'timeoutMs'>,
  cred: { uid: number; gid: number } | undefined,
  signal: AbortSignal,
): Promise<MiscRun> {
  return new Promise((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore', detached: true, ...(cred ?? {}) });
    } catch (err) {
      resolve({ result: { exit: 0 }, note: `Error exec-ing command '${argv[0]}', error ${(err as NodeJS.ErrnoException).code ?? ''}: ${(err as Error).message}` });
      return;
    }
    let state: 'running' | 'terminating' | 'killing' = 'running';
    let timer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const arm = (ms: number) => {
      timer = setTimeout(() => {
        if (state === 'running') {
          state = 'terminating';
          killGroup('SIGTERM');
          arm(2000);
        } else {
          state = 'killing';
          killGroup('SIGKILL');
        }
      }, ms);
    };
    arm(spec.timeoutMs);
    const onAbort = () => {
      clearTimeout(timer);
      killGroup('SIGKILL');
    };
    signal.addEventListener('abort', onAbort);
    const finish = (run: MiscRun) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(run);
    };
    child.once('error', (err: NodeJS.ErrnoException) =>
      finish({ result: { exit: 0 }, note: `Error exec-ing command '${argv[0]}', error ${err.errno ?? ''}: ${err.message}` }),
    );
    child.once('exit', (code, sig) => {
      if (sig) {
        const num = signalNumber(sig);
        // After a SIGTERM of ours, make sure the script's own children die too.
        if (state === 'terminating') killGroup('SIGKILL');
        const timedOut = (state === 'terminating' && sig === 'SIGTERM') || (state === 'killing' && (sig === 'SIGTERM' || sig === 'SIGKILL'));
        finish({ result: { signal: num, timedOut } });
      } else finish({ result: { exit: code ?? 0 } });
    });
  });
}

function signalNumber(sig: NodeJS.Signals): number {
  return (osConstants.signals as Record<string, number>)[sig] ?? 0;
}
