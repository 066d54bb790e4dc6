/**
 * Cluster options (crm_config) as the controller and the fencer read them:
 * the first set that names an option wins, as in Pacemaker without rules.
 */
import type { Configuration } from '../cib/model.js';
import { parseDurationMs } from '../cib/duration.js';

/** The value of the first of `names` set in crm_config. */
export function clusterProperty(cfg: Configuration, ...names: string[]): string | undefined {
  for (const name of names) {
    for (const set of cfg.crmConfig) {
      const p = set.nvpairs.find((x) => x.name === name);
      if (p?.value !== undefined) return p.value;
    }
  }
  return undefined;
}

/** Pacemaker's boolean spellings (crm_is_true). */
export function isTrue(value: string | undefined, dflt: boolean): boolean {
  if (value === undefined) return dflt;
  return /^(true|on|yes|y|1)$/i.test(value.trim());
}

/** stonith-enabled (fencing-enabled in newer Pacemaker), true by default. */
export function fencingEnabled(cfg: Configuration): boolean {
  return isTrue(clusterProperty(cfg, 'fencing-enabled', 'stonith-enabled'), true);
}

export function noQuorumPolicy(cfg: Configuration): string {
  return (clusterProperty(cfg, 'no-quorum-policy') ?? 'stop').toLowerCase();
}

/** A duration option in ms; the default when unset or unreadable. */
export function durationProperty(cfg: Configuration, dfltMs: number, ...names: string[]): number {
  const ms = parseDurationMs(clusterProperty(cfg, ...names), dfltMs);
  return Number.isFinite(ms) && ms >= 0 ? ms : dfltMs;
}
