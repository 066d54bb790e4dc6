/**
 * `crm ra ...`: resource agent information, as crmsh's `ra` level.
 *   crm ra classes
 *   crm ra list ocf [PROVIDER] | crm ra list lsb | crm ra list stonith
 *   crm ra providers TYPE
 *   crm ra info|meta AGENT [--xml]
 */
import {
  AgentSpecError,
  Executor,
  formatAgentSpec,
  listLsbAgents,
  listOcfAgents,
  listOcfProviders,
  parseAgentSpec,
  parseMetadata,
  type AgentMetadata,
  type AgentSpec,
} from '../executor/index.js';
import { FENCER_PARAMETERS, fenceAgentDirs, fenceAgentPath, listFenceAgents, parseFenceMetadata, runFenceAgent } from '../fencing/agent.js';

const USAGE = `usage: crm ra classes
       crm ra list ocf [PROVIDER] | crm ra list lsb | crm ra list stonith
       crm ra providers TYPE
       crm ra info AGENT [--xml]      (also: crm ra meta AGENT)
AGENT is ocf:PROVIDER:TYPE, lsb:NAME, stonith:fence_NAME, or a bare TYPE (ocf:heartbeat:TYPE)
`;

export async function runRa(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case 'classes':
      return classes();
    case 'list':
      return list(rest);
    case 'providers':
      return providers(rest);
    case 'info':
    case 'meta':
      return info(rest);
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 2 : 0;
    default:
      process.stderr.write(`crm ra: unknown command '${cmd}'\n${USAGE}`);
      return 2;
  }
}

function classes(): number {
  const provs = listOcfProviders();
  process.stdout.write(`lsb\nocf / ${provs.join(' ')}\nstonith\n`);
  return 0;
}

/** crmsh prints lists in columns; so do we (one per line when narrow). */
export function multicolumn(names: string[], width = 79): string {
  if (names.length === 0) return '';
  const colWidth = Math.max(...names.map((n) => n.length)) + 2;
  const perLine = Math.max(1, Math.floor(width / colWidth));
  const lines: string[] = [];
  for (let i = 0; i < names.length; i += perLine) {
    lines.push(
      names
        .slice(i, i + perLine)
        .map((n, j, row) => (j === row.length - 1 ? n : n.padEnd(colWidth)))
        .join(''),
    );
  }
  return lines.join('\n') + '\n';
}

function list(rest: string[]): number {
  const [cls, provider, extra] = rest;
  if (extra !== undefined) {
    process.stderr.write(`crm ra list: too many arguments\n${USAGE}`);
    return 2;
  }
  if (cls === 'ocf') {
    const agents = listOcfAgents(undefined, provider);
    if (provider !== undefined && agents.length === 0) {
      process.stderr.write(`crm ra list: no agents of provider '${provider}' (providers: ${listOcfProviders().join(', ')})\n`);
      return 1;
    }
    const types = [...new Set(agents.map((a) => a.type))].sort((a, b) => a.localeCompare(b));
    process.stdout.write(multicolumn(types));
    return 0;
  }
  if (cls === 'lsb') {
    process.stdout.write(multicolumn(listLsbAgents()));
    return 0;
  }
  if (cls === 'stonith') {
    if (provider !== undefined) {
      process.stderr.write(`crm ra list stonith: takes no provider\n${USAGE}`);
      return 2;
    }
    process.stdout.write(multicolumn(listFenceAgents()));
    return 0;
  }
  process.stderr.write(`crm ra list: class must be 'ocf', 'lsb' or 'stonith'${cls ? `, not '${cls}'` : ''}\n${USAGE}`);
  return 2;
}

function providers(rest: string[]): number {
  const [type] = rest;
  if (type === undefined) {
    process.stderr.write(`crm ra providers: which agent type?\n${USAGE}`);
    return 2;
  }
  const provs = listOcfProviders(undefined, type);
  if (provs.length === 0) {
    process.stderr.write(`crm ra providers: no OCF agent named '${type}'\n`);
    return 1;
  }
  process.stdout.write(provs.join(' ') + '\n');
  return 0;
}

async function info(rest: string[]): Promise<number> {
  const xml = rest.includes('--xml');
  const names = rest.filter((a) => a !== '--xml');
  if (names.length !== 1) {
    process.stderr.write(`crm ra info: give exactly one agent\n${USAGE}`);
    return 2;
  }
  if (names[0]!.startsWith('stonith:')) return stonithInfo(names[0]!.slice('stonith:'.length), xml);
  let spec: AgentSpec;
  try {
    spec = parseAgentSpec(names[0]!);
  } catch (e) {
    if (e instanceof AgentSpecError) {
      process.stderr.write(`crm ra info: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  const executor = new Executor();
  const resolved = executor.resolve(spec);
  if (!resolved) {
    process.stderr.write(`crm ra info: agent ${formatAgentSpec(spec)} not found\n`);
    return 5;
  }
  if (spec.class === 'lsb') {
    process.stdout.write(`${spec.type} (lsb:${spec.type})\n\nLSB init script ${resolved.path}\n\nOperations: start stop status restart\n`);
    return 0;
  }
  const r = await executor.execute({ rscId: spec.type, agent: spec, action: 'meta-data', timeoutMs: 10_000 });
  if (r.rc !== 0) {
    process.stderr.write(`crm ra info: ${formatAgentSpec(spec)} meta-data failed: ${r.rcName}${r.exitReason ? `: ${r.exitReason}` : ''}\n`);
    return r.rc || 1;
  }
  if (xml) {
    process.stdout.write(r.stdout.endsWith('\n') ? r.stdout : r.stdout + '\n');
    return 0;
  }
  let meta: AgentMetadata;
  try {
    meta = parseMetadata(r.stdout);
  } catch (e) {
    process.stderr.write(`crm ra info: ${formatAgentSpec(spec)}: ${(e as Error).message}\n`);
    return 1;
  }
  const via = resolved.provider && resolved.provider !== spec.provider ? `ocf:${resolved.provider}:${spec.type}` : undefined;
  process.stdout.write(formatInfo(meta, formatAgentSpec(spec), via));
  return 0;
}

/** `crm ra info stonith:fence_X`: the agent's own metadata, then the parameters the fencer reads for every device. */
async function stonithInfo(agent: string, xml: boolean): Promise<number> {
  if (fenceAgentPath(agent) === undefined) {
    process.stderr.write(`crm ra info: fence agent stonith:${agent} not found (looked in ${fenceAgentDirs().join(', ')}; see crm ra list stonith)\n`);
    return 5;
  }
  const r = await runFenceAgent(agent, 'metadata', {}, { timeoutMs: 20_000 });
  if (r.timedOut || r.rc !== 0) {
    process.stderr.write(`crm ra info: stonith:${agent} metadata failed (${r.timedOut ? 'timed out' : `rc ${r.rc}`}): ${r.stderr.trim()}\n`);
    return 1;
  }
  if (xml) {
    process.stdout.write(r.stdout.endsWith('\n') ? r.stdout : r.stdout + '\n');
    return 0;
  }
  let meta: AgentMetadata;
  try {
    meta = parseFenceMetadata(r.stdout);
  } catch (e) {
    process.stderr.write(`crm ra info: stonith:${agent}: ${(e as Error).message}\n`);
    return 1;
  }
  const own = new Set(meta.parameters.map((p) => p.name));
  const shown: AgentMetadata = {
    ...meta,
    parameters: [...meta.parameters, ...FENCER_PARAMETERS.filter((p) => !own.has(p.name))],
    // What the cluster runs on a fence device: the agent's fencing actions, and start/stop/monitor of the resource.
    actions: [
      ...meta.actions.filter((a) => !['metadata', 'manpage', 'validate-all', 'list-status', 'start', 'stop'].includes(a.name)),
      { name: 'start', timeout: '20s' },
      { name: 'stop', timeout: '20s' },
    ],
  };
  process.stdout.write(formatInfo(shown, `stonith:${agent}`));
  return 0;
}

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((l) => (l.trim() === '' ? '' : prefix + l))
    .join('\n');
}

/** crmsh's `ra info` layout. */
export function formatInfo(meta: AgentMetadata, name: string, providedBy?: string): string {
  const out: string[] = [];
  out.push(`${meta.shortdesc || meta.name} (${name})${providedBy ? ` [provided by ${providedBy}]` : ''}`);
  out.push('');
  if (meta.longdesc) out.push(meta.longdesc, '');
  out.push('Parameters (*: required, []: default):', '');
  for (const p of meta.parameters) {
    const star = p.required ? '*' : '';
    const def = p.default !== undefined && p.default !== '' ? `, [${p.default}]` : '';
    out.push(`${p.name}${star} (${p.type}${def}): ${p.shortdesc}`);
    if (p.longdesc && p.longdesc !== p.shortdesc) out.push(indent(p.longdesc, '    '));
    out.push('');
  }
  out.push("Operations' defaults (advisory minimum):", '');
  for (const a of meta.actions) {
    if (a.name === 'meta-data' || a.name === 'usage' || a.name === 'methods') continue;
    const attrs: string[] = [];
    if (a.timeout) attrs.push(`timeout=${a.timeout}`);
    if (a.interval) attrs.push(`interval=${a.interval}`);
    if (a.depth) attrs.push(`depth=${a.depth}`);
    if (a.role) attrs.push(`role=${a.role}`);
    out.push(`    ${a.name.padEnd(14)}${attrs.join(' ')}`);
  }
  return out.join('\n') + '\n';
}
