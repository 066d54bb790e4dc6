/**
 * Who may use the web console. Clients on loopback are trusted (as the
 * admin socket trusts local root); anyone else logs in with a user of the
 * cluster's admin group and a password from the password file beside
 * cluster.yaml (`web-users`, one `USER:$scrypt$N=..,r=..,p=..$SALT$HASH` a
 * line, made with `hashPassword`). Sessions are random tokens in an
 * HttpOnly, SameSite=Strict cookie, each with its own CSRF token that every
 * POST must send back in a header.
 */
import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';

const SCRYPT = { N: 16384, r: 8, p: 1 };
const KEY_LEN = 32;

/** A password file line's hash part for `password`. */
export function hashPassword(password: string, salt = randomBytes(16)): string {
  const hash = scryptSync(password, salt, KEY_LEN, { N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p });
  return `$scrypt$N=${SCRYPT.N},r=${SCRYPT.r},p=${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Checks `password` against a hash made by hashPassword (constant time). */
export function verifyPassword(stored: string, password: string): boolean {
  const m = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N > 1 << 20 || r > 32 || p > 16) return false; // refuse hashes that would stall the daemon
  const want = Buffer.from(m[5]!, 'base64');
  const got = scryptSync(password, Buffer.from(m[4]!, 'base64'), want.length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  return want.length === got.length && timingSafeEqual(want, got);
}

/** The users of the password file (missing file: nobody can log in remotely). */
export function readPasswordFile(path: string): Map<string, string> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return new Map();
  }
  const users = new Map<string, string>();
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const i = t.indexOf(':');
    if (i > 0) users.set(t.slice(0, i), t.slice(i + 1));
  }
  return users;
}

/** Whether `user` belongs to `group` (by /etc/group members or the primary group in /etc/passwd). */
export function inGroup(user: string, group: string, etc = '/etc'): boolean {
  let gid: string | undefined;
  try {
    for (const line of readFileSync(`${etc}/group`, 'utf8').split('\n')) {
      const [name, , id, members] = line.split(':');
      if (name === group || id === group) {
        gid = id;
        if ((members ?? '').split(',').includes(user)) return true;
      }
    }
    if (gid === undefined) return false;
    for (const line of readFileSync(`${etc}/passwd`, 'utf8').split('\n')) {
      const f = line.split(':');
      if (f[0] === user && f[3] === gid) return true;
    }
  } catch {
    return false;
  }
  return false;
}

export interface Session {
  user: string;
  csrf: string;
  expires: number;
}

const SESSION_MS = 8 * 3600_000;

export class Sessions {
  private readonly byToken = new Map<string, Session>();

  create(user: string, nowMs = Date.now()): { token: string; session: Session } {
    this.sweep(nowMs);
    const token = randomBytes(32).toString('base64url');
    const session = { user, csrf: randomBytes(24).toString('base64url'), expires: nowMs + SESSION_MS };
    this.byToken.set(token, session);
    return { token, session };
  }

  get(token: string | undefined, nowMs = Date.now()): Session | undefined {
    if (!token) return undefined;
    const s = this.byToken.get(token);
    if (!s || s.expires < nowMs) return undefined;
    return s;
  }

  drop(token: string | undefined): void {
    if (token) this.byToken.delete(token);
  }

  private sweep(nowMs: number): void {
    for (const [t, s] of this.byToken) if (s.expires < nowMs) this.byToken.delete(t);
  }
}

/** Whether a socket's peer is this host's loopback. */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

export function cookieOf(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}
