/**
 * Where crm's CIB comes from: CIB_file=PATH (a file, as with Pacemaker's own
 * tools), or else the local belayd through its admin socket. Either way the
 * edit is made here with the same code and checked the same way; the live
 * cluster takes it by compare-and-set on the version, so two admins editing
 * at once cannot overwrite each other unknowingly.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { CibError } from '../cib/errors.js';
import { atomicWriteFileSync } from '../lib/atomic-write.js';
import { readCibFile, writeCibFile } from '../cib/file.js';
import type { Cib, NvSet } from '../cib/model.js';
import { validateCib } from '../cib/validate.js';

/** belayd's admin socket; BELAY_ADMIN_SOCKET overrides it (labs, tests). */
export function adminSocketPath(): string {
  return process.env.BELAY_ADMIN_SOCKET || '/run/belay/admin.sock';
}

export interface CibHandle {
  cib: Cib;
  /** The file, in CIB_file mode; undefined for the live cluster. */
  path?: string;
  /** The node belayd runs as, in live mode (the default NODE of crm node). */
  localNode?: string;
}

/**
 * A crm script session (`crm -f FILE`, or commands on stdin): like crmsh's
 * interactive configure level, edits accumulate in memory and reach the CIB
 * at `commit` (or at the end of the input).
 */
export interface Session {
  handle: CibHandle;
  /** The configuration as edited so far, not yet committed. */
  cib: Cib;
  /**
   * Ids an edit of this session dropped: crmsh keeps them taken until the
   * commit, so ids it makes later skip them (see src/crmsh/ids.ts).
   */
  reservedIds?: Set<string>;
}

/**
 * crmsh's user options that belay honours, from crmsh's own preferences file
 * (~/.config/crm/crm.conf, `[core] sort_elements = no`), so that both tools
 * show the same for the same user. `options sort_elements no` writes it.
 */
export const userOptions: { sortElements: boolean } = { sortElements: readSortElements() };

function crmConfPath(): string {
  const base = process.env.XDG_CONFIG_HOME || `${process.env.HOME ?? '/root'}/.config`;
  return `${base}/crm/crm.conf`;
}

function readSortElements(): boolean {
  let text = '';
  try {
    text = readFileSync(crmConfPath(), 'utf8');
  } catch {
    return true;
  }
  const m = /^\s*sort_elements\s*=\s*(\S+)/m.exec(text);
  return !m || !['no', 'false', 'off', '0'].includes(m[1]!.toLowerCase());
}

/** Record sort_elements in crm.conf's [core] section (crmsh's format). */
export function writeSortElements(on: boolean): void {
  userOptions.sortElements = on;
  const path = crmConfPath();
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    text = '';
  }
  const line = `sort_elements = ${on ? 'yes' : 'no'}`;
  if (/^\s*sort_elements\s*=.*$/m.test(text)) text = text.replace(/^\s*sort_elements\s*=.*$/m, line);
  else if (/^\[core\]\s*$/m.test(text)) text = text.replace(/^\[core\]\s*$/m, `[core]\n${line}`);
  else text = `[core]\n${line}\n\n` + text;
  mkdirSync(dirname(path), { recursive: true });
  atomicWriteFileSync(path, text);
}

let session: Session | undefined;

export function setSession(s: Session | undefined): void {
  session = s;
}

export function currentSession(): Session | undefined {
  return session;
}

export async function loadCib(): Promise<CibHandle> {
  if (session) return { ...session.handle, cib: session.cib };
  return loadStoredCib();
}

/** The CIB as stored (file or cluster), never a session's pending edits. */
export async function loadStoredCib(): Promise<CibHandle> {
  const path = process.env.CIB_file;
  if (path !== undefined && path !== '') return { path, cib: readCibFile(path).cib };
  const { adminCall } = await import('../admin/socket.js');
  let reply: { cib: Cib; node: { name: string } };
  try {
    reply = (await adminCall(adminSocketPath(), 'status')) as typeof reply;
  } catch (err) {
    throw new CibError(`no cluster is reachable: ${(err as Error).message} (set CIB_file=PATH to work on a CIB file)`);
  }
  return { cib: reply.cib, localNode: reply.node.name };
}

/**
 * Store an edited CIB: refuse it when the edit brought new problems
 * (duplicate id, dangling reference, bad score, ...); a file gets its epoch
 * bumped once for the whole command and is written atomically, the live
 * cluster gets the new configuration (its epoch bumped there) and the
 * transient attributes that changed.
 */
export async function commitCib(handle: CibHandle, after: Cib): Promise<void> {
  const before = handle.cib;
  const old = new Set(validateCib(before).map((p) => p.message));
  const fresh = validateCib(after).filter((p) => !old.has(p.message));
  if (fresh.length) throw new CibError(fresh.map((p) => p.message).join('\n       '));
  if (session) {
    session.cib = after;
    return;
  }
  await storeCib(handle, after);
}

/** Write a CIB to where the handle came from (file or live cluster). */
export async function storeCib(handle: CibHandle, after: Cib): Promise<void> {
  const before = handle.cib;
  if (handle.path !== undefined) {
    after.adminEpoch = before.adminEpoch;
    after.epoch = before.epoch + 1;
    after.numUpdates = 0;
    writeCibFile(handle.path, after);
    return;
  }
  const { adminCall } = await import('../admin/socket.js');
  const call = async (cmd: string, args: Record<string, unknown>) => {
    try {
      return await adminCall(adminSocketPath(), cmd, args);
    } catch (err) {
      throw new CibError((err as Error).message);
    }
  };
  if (JSON.stringify(before.configuration) !== JSON.stringify(after.configuration)) {
    const user = process.env.SUDO_USER || process.env.USER || (process.getuid?.() === 0 ? 'root' : 'unknown');
    await call('cib-replace', { base: [before.adminEpoch, before.epoch, before.numUpdates], configuration: after.configuration, client: 'crm', user });
  }
  for (const change of transientChanges(before, after)) await call('attr', { ...change, lifetime: 'reboot' });
}

/** Transient node attributes (status section) that differ between two CIBs. */
function transientChanges(before: Cib, after: Cib): Array<{ node: string; name: string; value: string | null }> {
  const values = (cib: Cib) => {
    const out = new Map<string, string>();
    for (const ns of cib.status ?? []) {
      for (const set of ns.transientAttributes as NvSet[]) {
        for (const p of set.nvpairs) if (p.value !== undefined) out.set(`${ns.uname ?? ns.id}\u0000${p.name}`, p.value);
      }
    }
    return out;
  };
  const a = values(before);
  const b = values(after);
  const changes: Array<{ node: string; name: string; value: string | null }> = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    if (a.get(key) === b.get(key)) continue;
    const [node, name] = key.split('\u0000') as [string, string];
    changes.push({ node, name, value: b.get(key) ?? null });
  }
  return changes;
}
