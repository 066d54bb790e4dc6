/**
 * The environment an agent runs with (OCF Resource Agent API 1.1). Pure.
 * Parameters travel only here, as OCF_RESKEY_<name>, never on a command line
 * or through a shell, so a value is just bytes to the agent.
 */
import type { AgentSpec } from './agent-id.js';

export const OCF_RA_VERSION_MAJOR = '1';
export const OCF_RA_VERSION_MINOR = '1';

/** PATH for agents: the sbin directories first, as init systems give daemons. */
export const DEFAULT_AGENT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface AgentEnvInput {
  spec: AgentSpec;
  /** OCF root the agent was found under (OCF_ROOT). */
  ocfRoot?: string;
  /** Provider directory the file lives in, when it differs from spec.provider. */
  provider?: string;
  /** Resource id (OCF_RESOURCE_INSTANCE). */
  instance: string;
  params: Record<string, string>;
  /** Meta attributes, e.g. clone, clone_max, notify (become OCF_RESKEY_CRM_meta_<name>). */
  meta?: Record<string, string>;
  timeoutMs: number;
  intervalMs: number;
  /** Monitor depth (OCF_CHECK_LEVEL). */
  depth?: number;
  /** Name of the action (CRM_meta_name). */
  action: string;
  /** Base environment (PATH, LANG, ...); defaults to a PATH only. */
  base?: Record<string, string>;
}

export class AgentEnvError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AgentEnvError';
  }
}

function checkName(kind: string, name: string): void {
  if (name === '' || /[=\0]/.test(name)) throw new AgentEnvError(`bad ${kind} name '${name}'`);
}

function checkValue(kind: string, name: string, value: string): void {
  // The one byte an environment cannot carry.
  if (value.includes('\0')) throw new AgentEnvError(`${kind} '${name}' contains a NUL byte`);
}

/** Meta attribute names use '-' in the CIB and '_' in the environment. */
export function metaEnvName(name: string): string {
  return `OCF_RESKEY_CRM_meta_${name.replace(/-/g, '_')}`;
}

export function buildAgentEnv(input: AgentEnvInput): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_AGENT_PATH, ...(input.base ?? {}) };
  if (input.spec.class === 'ocf') {
    if (input.ocfRoot !== undefined) env.OCF_ROOT = input.ocfRoot;
    env.OCF_RA_VERSION_MAJOR = OCF_RA_VERSION_MAJOR;
    env.OCF_RA_VERSION_MINOR = OCF_RA_VERSION_MINOR;
    env.OCF_RESOURCE_INSTANCE = input.instance;
    env.OCF_RESOURCE_TYPE = input.spec.type;
    env.OCF_RESOURCE_PROVIDER = input.provider ?? input.spec.provider ?? '';
    for (const [name, value] of Object.entries(input.params)) {
      checkName('parameter', name);
      checkValue('parameter', name, value);
      env[`OCF_RESKEY_${name}`] = value;
    }
    for (const [name, value] of Object.entries(input.meta ?? {})) {
      checkName('meta attribute', name);
      checkValue('meta attribute', name, value);
      env[metaEnvName(name)] = value;
    }
    env.OCF_RESKEY_CRM_meta_timeout = String(input.timeoutMs);
    env.OCF_RESKEY_CRM_meta_interval = String(input.intervalMs);
    env.OCF_RESKEY_CRM_meta_name = input.action;
    if (input.depth !== undefined) env.OCF_CHECK_LEVEL = String(input.depth);
  }
  return env;
}
