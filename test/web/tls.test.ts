/**
 * The console's HTTPS shell without a cluster: a self-signed certificate,
 * the page and its Secure session cookie, CSRF refusal, and server-sent
 * events pushed on a change.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCibXml } from '../../src/cib/xml.js';
import type { DaemonSnapshot } from '../../src/metrics/daemon.js';
import { WebConsole } from '../../src/web/server.js';

const REF = join(import.meta.dirname, '../../../shared/reference/pacemaker-2.1.5');
const dir = mkdtempSync(join(tmpdir(), 'belay-webtls-'));
let web: WebConsole;
let port = 0;
const cib = parseCibXml(readFileSync(join(REF, 'cibadmin_query.xml'), 'utf8'), 'cibadmin_query.xml');
const snap: DaemonSnapshot = {
  node: { id: 1, name: 'n1', address: '127.0.0.1' },
  dc: { id: 2, name: 'n2' },
  membership: { ringId: '1.8', members: [1, 2, 3], quorate: true },
  transition: null,
  now: Date.parse('2026-11-22T02:25:00Z') / 1000,
  cib,
  fencing: [{ id: '2-1', target: 'n3', action: 'reboot', state: 'done', origin: 'n2', client: 'pacemaker-controld', executioner: 'n1', requestedAt: 1_800_000_000, completedAt: 1_800_000_003 }],
};

function get(path: string, headers: Record<string, string> = {}, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, headers, rejectUnauthorized: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=belay-test', '-keyout', join(dir, 'web.key'), '-out', join(dir, 'web.crt')], { stdio: 'ignore' });
  web = new WebConsole({ clusterName: 'tls-test', snapshot: () => snap, passwordFile: join(dir, 'web-users'), tls: { cert: join(dir, 'web.crt'), key: join(dir, 'web.key') }, log: () => undefined });
  // A free port (the config refuses port 0).
  const free = createServer();
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', () => r()));
  const p = (free.address() as { port: number }).port;
  await new Promise<void>((r) => free.close(() => r()));
  const at = await web.listen(`127.0.0.1:${p}`);
  expect(at.tls).toBe(true);
  port = at.port;
});
afterAll(async () => {
  await web?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('web console over TLS', () => {
  it('serves the page with a Secure, HttpOnly, SameSite=Strict session to loopback', async () => {
    const r = await get('/');
    expect(r.status).toBe(200);
    expect(String(r.headers['set-cookie'])).toMatch(/belay_session=[\w-]+; Path=\/; HttpOnly; SameSite=Strict; Secure/);
    expect(String(r.headers['content-security-policy'])).toMatch(/script-src 'nonce-/);
    expect(r.body).toMatch(/<meta name="csrf" content="[\w-]+">/);
    expect(Buffer.byteLength(r.body)).toBeLessThan(300 * 1024);
  });

  it('refuses a POST without the CSRF token, accepts a what-if with it', async () => {
    const page = await get('/');
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    const csrf = /name="csrf" content="([\w-]+)"/.exec(page.body)![1]!;
    const bad = await get('/api/whatif', { cookie, 'content-type': 'application/json' }, 'POST', '{"down":["n1"]}');
    expect(bad.status).toBe(403);
    const good = await get('/api/whatif', { cookie, 'content-type': 'application/json', 'x-csrf-token': csrf }, 'POST', '{"down":["n1"]}');
    expect(good.status).toBe(200);
    expect((JSON.parse(good.body) as { text: string }).text).toContain('Transition Summary:');
    const status = JSON.parse((await get('/api/status', { cookie })).body) as { fencing: unknown[]; vips: unknown[] };
    expect(status.fencing).toEqual([{ target: 'n3', action: 'reboot', state: 'done', by: 'n1', origin: 'pacemaker-controld@n2', at: 1_800_000_003 }]);
    expect(status.vips).toEqual([{ rsc: 'FloatIP', ip: expect.any(String), nodes: ['n1'] }]);
    const noSession = await get('/api/status');
    expect(noSession.status).toBe(401);
  });

  it('pushes the view on connect and again on a change', async () => {
    const page = await get('/');
    const cookie = String(page.headers['set-cookie']).split(';')[0]!;
    const events: Array<{ quorate: boolean }> = [];
    const req = request({ host: '127.0.0.1', port, path: '/api/events', headers: { cookie }, rejectUnauthorized: false });
    const done = new Promise<void>((resolve) => {
      req.on('response', (res) => {
        let buf = '';
        res.on('data', (c: Buffer) => {
          buf += c.toString();
          for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
            const chunk = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = chunk.split('\n').find((l) => l.startsWith('data: '));
            if (data) events.push(JSON.parse(data.slice(6)) as { quorate: boolean });
            if (events.length === 1) {
              snap.membership = { ...snap.membership, members: [1], quorate: false };
              web.changed();
            }
            if (events.length === 2) resolve();
          }
        });
      });
    });
    req.end();
    await done;
    req.destroy();
    expect(events.map((e) => e.quorate)).toEqual([true, false]);
  });
});
