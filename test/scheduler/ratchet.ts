/**
 * The scheduler's ratchet (ratchet.json): WHICH cases pass, per check, not
 * how many. A case listed that no longer passes fails its test;
 * RATCHET_UPDATE=1 adds the cases that now pass (never removes one).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const RATCHET_PATH = join(import.meta.dirname, 'ratchet.json');

export type Ratchet = Record<string, Record<string, string[]>>;

function read(): Ratchet {
  if (!existsSync(RATCHET_PATH)) return {};
  const r = JSON.parse(readFileSync(RATCHET_PATH, 'utf8')) as Record<string, unknown>;
  // Only lists of names count (an old file held pass counts).
  const out: Ratchet = {};
  for (const [k, v] of Object.entries(r)) {
    if (!v || typeof v !== 'object') continue;
    const checks: Record<string, string[]> = {};
    for (const [c, names] of Object.entries(v as Record<string, unknown>)) if (Array.isArray(names)) checks[c] = names as string[];
    out[k] = checks;
  }
  return out;
}

/**
 * Compares `passing` (check -> names that pass now) with the ratchet's
 * entry `group`; returns the regressions as "check: name". Updates the
 * file (this group only) when RATCHET_UPDATE=1.
 */
export function ratchet(group: string, passing: Record<string, string[]>): string[] {
  const before = read()[group] ?? {};
  const regressions: string[] = [];
  for (const [check, names] of Object.entries(before)) {
    const now = new Set(passing[check] ?? []);
    for (const n of names) if (!now.has(n)) regressions.push(`${check}: ${n}`);
  }
  if (process.env['RATCHET_UPDATE'] === '1') {
    // Read again right before writing: another test file may have updated its own group meanwhile.
    const all = read();
    const merged: Record<string, string[]> = { ...(all[group] ?? {}) };
    for (const [check, names] of Object.entries(passing)) merged[check] = [...new Set([...(merged[check] ?? []), ...names])].sort();
    all[group] = merged;
    writeFileSync(RATCHET_PATH, JSON.stringify(all, null, 1) + '\n');
  }
  return regressions;
}
