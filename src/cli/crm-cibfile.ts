/**
 * Where crm's CIB comes from: CIB_file=PATH (a file, as with Pacemaker's
 * own tools). Without it crm would talk to belayd, which a later issue adds.
 */
import { CibError } from '../cib/errors.js';
import { readCibFile, writeCibFile } from '../cib/file.js';
import type { Cib } from '../cib/model.js';
import { validateCib } from '../cib/validate.js';

export function cibFilePath(): string {
  const p = process.env.CIB_file;
  if (p === undefined || p === '') {
    throw new CibError('no cluster is reachable: belayd is not running on this host (set CIB_file=PATH to work on a CIB file)');
  }
  return p;
}

export function loadCib(): { path: string; cib: Cib } {
  const path = cibFilePath();
  return { path, cib: readCibFile(path).cib };
}

/**
 * Store an edited CIB: refuse it when the edit brought new problems
 * (duplicate id, dangling reference, bad score, ...), bump the epoch once
 * for the whole command, and write the file atomically.
 */
export function commitCib(path: string, before: Cib, after: Cib): void {
  const old = new Set(validateCib(before).map((p) => p.message));
  const fresh = validateCib(after).filter((p) => !old.has(p.message));
  if (fresh.length) throw new CibError(fresh.map((p) => p.message).join('\n       '));
  after.adminEpoch = before.adminEpoch;
  after.epoch = before.epoch + 1;
  after.numUpdates = 0;
  writeCibFile(path, after);
}
