/**
 * Resource agent names (`ocf:heartbeat:IPaddr2`, `lsb:nginx`) and where an
 * agent may live. Pure: the shell (resolve.ts) checks the candidates on disk.
 */
import { join } from 'node:path';

export type AgentClass = 'ocf' | 'lsb';

export interface AgentSpec {
  class: AgentClass;
  /** OCF provider ('heartbeat', 'belay', ...); absent for lsb. */
  provider?: string;
  type: string;
}

/** belay's own provider name: `ocf:belay:FloatIP`. */
export const BELAY_PROVIDER = 'belay';

/**
 * Providers whose missing agents fall back to belay's agent of the same
 * type. Tutorials write `ocf:heartbeat:haproxy` (an agent resource-agents
 * does not ship; users download one into heartbeat/). When no OCF root has
 * heartbeat/TYPE, belay's TYPE answers instead, so that configuration works
 * unchanged; a real heartbeat/TYPE on disk always wins.
 */
export const FALLBACK_PROVIDERS: ReadonlySet<string> = new Set(['heartbeat']);

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+@-]*$/;

export class AgentSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentSpecError';
  }
}

/**
 * Parse `class:provider:type` (ocf), `lsb:type`, or a bare type (taken as
 * `ocf:heartbeat:TYPE`, as crmsh does).
 */
export function parseAgentSpec(text: string): AgentSpec {
  const parts = text.split(':');
  let spec: AgentSpec;
  if (parts.length === 1) {
    spec = { class: 'ocf', provider: 'heartbeat', type: parts[0]! };
  } else if (parts[0] === 'ocf') {
    if (parts.length !== 3) throw new AgentSpecError(`bad agent name '${text}': expected ocf:PROVIDER:TYPE`);
    spec = { class: 'ocf', provider: parts[1]!, type: parts[2]! };
  } else if (parts[0] === 'lsb') {
    if (parts.length !== 2) throw new AgentSpecError(`bad agent name '${text}': expected lsb:TYPE`);
    spec = { class: 'lsb', type: parts[1]! };
  } else {
    throw new AgentSpecError(`unsupported resource class '${parts[0]}' in '${text}' (supported: ocf, lsb)`);
  }
  if (!NAME_RE.test(spec.type)) throw new AgentSpecError(`bad agent type '${spec.type}' in '${text}'`);
  if (spec.provider !== undefined && !NAME_RE.test(spec.provider)) {
    throw new AgentSpecError(`bad provider '${spec.provider}' in '${text}'`);
  }
  return spec;
}

export function formatAgentSpec(spec: AgentSpec): string {
  return spec.class === 'ocf' ? `ocf:${spec.provider}:${spec.type}` : `lsb:${spec.type}`;
}

export interface AgentCandidate {
  /** The OCF root (becomes OCF_ROOT) or the init.d directory for lsb. */
  root: string;
  /** Provider whose directory holds the file (may differ from the one asked for). */
  provider?: string;
  path: string;
}

/**
 * Files to try, in order: every OCF root for the provider asked for, then,
 * for a fallback provider, every root for belay's own agent.
 */
export function agentCandidates(spec: AgentSpec, ocfRoots: string[], lsbDirs: string[]): AgentCandidate[] {
  if (spec.class === 'lsb') return lsbDirs.map((dir) => ({ root: dir, path: join(dir, spec.type) }));
  const provider = spec.provider ?? 'heartbeat';
  const out: AgentCandidate[] = ocfRoots.map((root) => ({ root, provider, path: join(root, 'resource.d', provider, spec.type) }));
  if (FALLBACK_PROVIDERS.has(provider)) {
    for (const root of ocfRoots) {
      out.push({ root, provider: BELAY_PROVIDER, path: join(root, 'resource.d', BELAY_PROVIDER, spec.type) });
    }
  }
  return out;
}
