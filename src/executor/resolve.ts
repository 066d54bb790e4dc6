/**
 * Finding agents on disk: the OCF root search path (belay's own agents/
 * first, then the system's /usr/lib/ocf) and LSB init scripts.
 */
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { agentCandidates, type AgentSpec } from './agent-id.js';

/** belay's agents/ directory: itself a valid OCF root (resource.d/belay/, lib/belay/). */
export const BELAY_OCF_ROOT = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', '..', 'agents');
export const SYSTEM_OCF_ROOT = '/usr/lib/ocf';
export const DEFAULT_LSB_DIRS = ['/etc/init.d'];

/**
 * The OCF roots to search, in order. BELAY_OCF_ROOTS (colon-separated)
 * replaces the default [agents/, /usr/lib/ocf] when set.
 */
export function defaultOcfRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = env.BELAY_OCF_ROOTS;
  if (fromEnv !== undefined && fromEnv.trim() !== '') return fromEnv.split(':').filter(Boolean);
  return [BELAY_OCF_ROOT, SYSTEM_OCF_ROOT];
}

export interface SearchPath {
  ocfRoots: string[];
  lsbDirs: string[];
}

export function defaultSearchPath(): SearchPath {
  return { ocfRoots: defaultOcfRoots(), lsbDirs: DEFAULT_LSB_DIRS };
}

export interface ResolvedAgent {
  spec: AgentSpec;
  path: string;
  /** OCF_ROOT for this agent (the root it was found under), or the init.d dir. */
  root: string;
  /** Provider directory it came from (belay when heartbeat fell back). */
  provider?: string;
}

function isExecutableFile(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first candidate that is an executable file, or undefined (rc 5). */
export function resolveAgent(spec: AgentSpec, search: SearchPath = defaultSearchPath()): ResolvedAgent | undefined {
  for (const c of agentCandidates(spec, search.ocfRoots, search.lsbDirs)) {
    if (isExecutableFile(c.path)) {
      const r: ResolvedAgent = { spec, path: c.path, root: c.root };
      if (c.provider !== undefined) r.provider = c.provider;
      return r;
    }
  }
  return undefined;
}

export interface ListedAgent {
  provider: string;
  type: string;
  root: string;
  path: string;
}

function listDir(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/** Every OCF agent on the search path; for a provider/type found twice, the first root wins. */
export function listOcfAgents(search: SearchPath = defaultSearchPath(), provider?: string): ListedAgent[] {
  const seen = new Set<string>();
  const out: ListedAgent[] = [];
  for (const root of search.ocfRoots) {
    const base = join(root, 'resource.d');
    for (const prov of listDir(base)) {
      if (provider !== undefined && prov !== provider) continue;
      for (const type of listDir(join(base, prov))) {
        const path = join(base, prov, type);
        const key = `${prov}:${type}`;
        if (seen.has(key) || type.startsWith('.') || !isExecutableFile(path)) continue;
        seen.add(key);
        out.push({ provider: prov, type, root, path });
      }
    }
  }
  return out.sort((a, b) => a.provider.localeCompare(b.provider) || a.type.localeCompare(b.type));
}

export function listOcfProviders(search: SearchPath = defaultSearchPath(), type?: string): string[] {
  const set = new Set<string>();
  for (const a of listOcfAgents(search)) if (type === undefined || a.type === type) set.add(a.provider);
  return [...set].sort();
}

export function listLsbAgents(search: SearchPath = defaultSearchPath()): string[] {
  const set = new Set<string>();
  for (const dir of search.lsbDirs) {
    for (const name of listDir(dir)) {
      if (!name.startsWith('.') && name !== 'README' && isExecutableFile(join(dir, name))) set.add(name);
    }
  }
  return [...set].sort();
}
