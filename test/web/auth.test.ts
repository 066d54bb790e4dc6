/** The console's pieces that need no browser: passwords, groups, sessions, action argv, what-if. */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCibXml } from '../../src/cib/xml.js';
import { cookieOf, hashPassword, inGroup, isLoopback, readPasswordFile, Sessions, verifyPassword } from '../../src/web/auth.js';
import { actionArgv } from '../../src/web/server.js';
import { whatIf } from '../../src/web/view.js';

const BELAY = fileURLToPath(new URL('../../bin/belay', import.meta.url));
const REF = join(import.meta.dirname, '../../../shared/reference/pacemaker-2.1.5');
const dir = mkdtempSync(join(tmpdir(), 'belay-webauth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('web console authentication', () => {
  it('hashes with scrypt and verifies in constant time', () => {
    const h = hashPassword('s3cret-pass');
    expect(h).toMatch(/^\$scrypt\$N=16384,r=8,p=1\$/);
    expect(verifyPassword(h, 's3cret-pass')).toBe(true);
    expect(verifyPassword(h, 's3cret-pasS')).toBe(false);
    expect(verifyPassword('plain', 'plain')).toBe(false);
    expect(verifyPassword('$scrypt$N=1073741824,r=8,p=1$AAAA$AAAA', 'x')).toBe(false);
  });

  it('admits members of the admin group (listed or by primary group)', () => {
    writeFileSync(join(dir, 'group'), 'root:x:0:\nhaclient:x:189:alice\nstaff:x:50:\n');
    writeFileSync(join(dir, 'passwd'), 'root:x:0:0::/root:/bin/sh\nbob:x:1001:189::/home/bob:/bin/sh\ncarol:x:1002:50::/:/bin/sh\n');
    expect(inGroup('alice', 'haclient', dir)).toBe(true);
    expect(inGroup('bob', 'haclient', dir)).toBe(true);
    expect(inGroup('carol', 'haclient', dir)).toBe(false);
    expect(inGroup('alice', 'nogroup', dir)).toBe(false);
  });

  it('sessions expire; loopback is recognised; cookies parse', () => {
    const s = new Sessions();
    const { token, session } = s.create('root', 0);
    expect(s.get(token, 1000)).toBe(session);
    expect(s.get(token, 9 * 3600_000)).toBeUndefined();
    expect(s.get('forged', 1000)).toBeUndefined();
    expect(isLoopback('127.0.0.1')).toBe(true);
    expect(isLoopback('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopback('198.18.0.100')).toBe(false);
    expect(cookieOf('a=1; belay_session=abc=; b=2', 'belay_session')).toBe('abc=');
  });

  it('belay web-passwd writes a verifiable line, replacing the old one', () => {
    const file = join(dir, 'web-users');
    execFileSync(process.execPath, [BELAY, 'web-passwd', 'alice', '-f', file], { input: 'first-password\n' });
    execFileSync(process.execPath, [BELAY, 'web-passwd', 'alice', '-f', file], { input: 'second-password\n' });
    const users = readPasswordFile(file);
    expect([...users.keys()]).toEqual(['alice']);
    expect(verifyPassword(users.get('alice')!, 'second-password')).toBe(true);
    expect(readFileSync(file, 'utf8')).not.toContain('second-password');
  });
});

describe('console actions and what-if', () => {
  const cib = parseCibXml(readFileSync(join(REF, 'cibadmin_query.xml'), 'utf8'), 'cibadmin_query.xml');

  it('maps actions to crm argv, refusing names the CIB does not have', () => {
    expect(actionArgv(cib, { action: 'standby', node: 'n2' })).toEqual(['node', 'standby', 'n2']);
    expect(actionArgv(cib, { action: 'move', rsc: 'FloatIP', node: 'n3' })).toEqual(['resource', 'move', 'FloatIP', 'n3']);
    expect(actionArgv(cib, { action: 'cleanup', rsc: 'nginx' })).toEqual(['resource', 'cleanup', 'nginx']);
    expect(() => actionArgv(cib, { action: 'stop', rsc: 'FloatIP; rm -rf /' })).toThrow(/no resource named/);
    expect(() => actionArgv(cib, { action: 'standby', node: 'n9' })).toThrow(/no node named 'n9'/);
    expect(() => actionArgv(cib, { action: 'delete', rsc: 'FloatIP' })).toThrow(/unknown action/);
  });

  it('what-if: the scheduler moves FloatIP off a node taken down', () => {
    const text = whatIf(cib, ['n1'], Date.parse('2026-11-22T02:25:00Z') / 1000);
    expect(text).toContain('Transition Summary:');
    // A cleanly stopped node runs nothing: FloatIP starts on a survivor.
    expect(text).toMatch(/\* Start\s+FloatIP\s+\(\s*n[23]\s*\)/);
    expect(text).toMatch(/OFFLINE: \[ n1 \]/);
    expect(() => whatIf(cib, ['n9'], 0)).toThrow(/no node named 'n9'/);
  });
});
