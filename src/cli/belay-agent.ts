/**
 * `belay agent AGENT ACTION [--param NAME=VALUE]...`: run one agent action by
 * hand, outside any cluster, the way `crm_resource --force-start /
 * --force-stop / --force-check` does, and print the rc with its name and
 * what the agent said. The exit code is the OCF rc (124 on a timeout).
 */
import { Command, InvalidArgumentError } from 'commander';
import { parseDurationMs } from '../cib/duration.js';
import { Executor, rcText, type OperationResult } from '../executor/index.js';

/** crm_resource's exit code for a timed-out operation (CRM_EX_TIMEOUT). */
export const EXIT_TIMEOUT = 124;

function collectPair(value: string, previous: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected NAME=VALUE, got '${value}'`);
  return { ...previous, [value.slice(0, eq)]: value.slice(eq + 1) };
}

function duration(value: string): number {
  const ms = parseDurationMs(value);
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidArgumentError(`bad duration '${value}' (e.g. 20s, 500ms, 1m)`);
  return ms;
}

/** Pacemaker's names for the hand-run actions. */
const FORCE_NAMES: Record<string, string> = { start: 'force-start', stop: 'force-stop', monitor: 'force-check' };

export function formatAgentResult(r: OperationResult): string {
  const lines: string[] = [];
  const force = FORCE_NAMES[r.action];
  const op = force ? `${force} (${r.action})` : r.action;
  if (r.status === 'timeout') {
    lines.push(`Operation ${op} for ${r.rscId} (${r.agent}) timed out after ${r.durationMs}ms: process group killed`);
  } else {
    lines.push(`Operation ${op} for ${r.rscId} (${r.agent}) returned: '${rcText(r.rc)}' (${r.rc}, ${r.rcName})`);
  }
  if (r.exitCode !== null && r.exitCode !== r.rc) lines.push(`  agent exit code ${r.exitCode}`);
  if (r.exitReason) lines.push(`  reason: ${r.exitReason}`);
  for (const w of r.warnings) lines.push(`  warning: ${w}`);
  for (const [name, text] of [
    ['stdout', r.stdout],
    ['stderr', r.stderr],
  ] as const) {
    const body = text.replace(/\n+$/, '');
    if (body === '') continue;
    for (const l of body.split('\n')) lines.push(` >  ${name}: ${l}`);
  }
  return lines.join('\n') + '\n';
}

export function registerAgentCommands(program: Command): void {
  program
    .command('agent')
    .description('run one resource agent action by hand (like crm_resource --force-start/--force-stop/--force-check)')
    .argument('<agent>', 'ocf:PROVIDER:TYPE, lsb:NAME, or a bare TYPE (ocf:heartbeat:TYPE)')
    .argument('<action>', 'start, stop, monitor, meta-data, validate-all, reload, promote, demote, notify, ...')
    .option('-p, --param <name=value>', 'a resource parameter (repeatable); becomes OCF_RESKEY_<name>', collectPair, {})
    .option('-m, --meta <name=value>', 'a meta attribute (repeatable); becomes OCF_RESKEY_CRM_meta_<name>', collectPair, {})
    .option('-t, --timeout <duration>', 'operation timeout', duration, 20_000)
    .option('-i, --interval <duration>', 'monitor interval (0 = probe)', duration, 0)
    .option('--id <resource>', 'resource id (OCF_RESOURCE_INSTANCE); default: the agent type')
    .option('--netns <name>', 'run the agent inside this network namespace (ip netns exec)')
    .option('--no-check', 'skip the meta-data check of required parameters')
    .option('--json', 'print the result as JSON')
    .action(async (agent: string, action: string, opts: AgentOptions) => {
      process.exitCode = await runAgentCommand(agent, action, opts);
    });
}

interface AgentOptions {
  param: Record<string, string>;
  meta: Record<string, string>;
  timeout: number;
  interval: number;
  id?: string;
  netns?: string;
  check: boolean;
  json?: boolean;
}

async function runAgentCommand(agent: string, action: string, opts: AgentOptions): Promise<number> {
  const executor = new Executor(opts.netns ? { prefix: ['ip', 'netns', 'exec', opts.netns] } : {});
  const id = opts.id ?? agent.split(':').pop() ?? agent;
  const r = await executor.execute({
    rscId: id,
    agent,
    action,
    params: opts.param,
    meta: opts.meta,
    timeoutMs: opts.timeout,
    intervalMs: opts.interval,
    checkParams: opts.check,
  });
  if (opts.json) {
    process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  } else if (action === 'meta-data' && r.rc === 0) {
    process.stdout.write(r.stdout.endsWith('\n') ? r.stdout : r.stdout + '\n');
  } else {
    process.stdout.write(formatAgentResult(r));
  }
  return r.status === 'timeout' ? EXIT_TIMEOUT : r.rc;
}
