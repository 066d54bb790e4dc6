/**
 * OCF meta-data: parse the XML an agent prints for `meta-data`, and check a
 * resource's parameters against it (required present, defaults applied,
 * unique values not shared). Pure: text in, values out.
 */
import { SaxesParser, type SaxesTagPlain } from 'saxes';

export interface ParameterMeta {
  name: string;
  required: boolean;
  unique: boolean;
  /** OCF 1.1: changing it needs only `reload` (not a restart). */
  reloadable: boolean;
  deprecated: boolean;
  type: string;
  default?: string;
  shortdesc: string;
  longdesc: string;
}

export interface ActionMeta {
  name: string;
  timeout?: string;
  interval?: string;
  depth?: string;
  role?: string;
  startDelay?: string;
}

export interface AgentMetadata {
  name: string;
  version?: string;
  shortdesc: string;
  longdesc: string;
  parameters: ParameterMeta[];
  actions: ActionMeta[];
}

export class MetadataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MetadataError';
  }
}

/** Parse meta-data XML; throws MetadataError naming line and column on bad XML. */
export function parseMetadata(xml: string): AgentMetadata {
  const parser = new SaxesParser({ xmlns: false, position: true });
  const meta: AgentMetadata = { name: '', shortdesc: '', longdesc: '', parameters: [], actions: [] };
  const stack: string[] = [];
  let param: ParameterMeta | undefined;
  let text = '';
  let textLang: string | undefined;
  let sawRoot = false;
  /** fence-agents write the short description as an attribute of the root. */
  let rootShortdesc: string | undefined;
  let error: Error | undefined;

  parser.on('error', (e) => {
    error ??= new MetadataError(`meta-data is not well-formed XML: ${e.message}`);
  });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    const a = tag.attributes as Record<string, string>;
    const parent = stack[stack.length - 1];
    stack.push(tag.name);
    switch (tag.name) {
      case 'resource-agent':
        if (stack.length === 1) {
          sawRoot = true;
          meta.name = a.name ?? '';
          if (a.version !== undefined) meta.version = a.version;
          rootShortdesc = a.shortdesc;
        }
        break;
      case 'parameter':
        if (parent === 'parameters') {
          param = {
            name: a.name ?? '',
            required: a.required === '1' || a.required === 'true',
            unique: a.unique === '1' || a.unique === 'true',
            reloadable: a.reloadable === '1' || a.reloadable === 'true',
            deprecated: a.deprecated === '1' || a.deprecated === 'true',
            type: 'string',
            shortdesc: '',
            longdesc: '',
          };
        }
        break;
      case 'content':
        if (param) {
          param.type = a.type ?? 'string';
          if (a.default !== undefined) param.default = a.default;
        }
        break;
      case 'action':
        if (parent === 'actions') {
          const act: ActionMeta = { name: a.name ?? '' };
          if (a.timeout !== undefined) act.timeout = a.timeout;
          if (a.interval !== undefined) act.interval = a.interval;
          if (a.depth !== undefined) act.depth = a.depth;
          if (a.role !== undefined) act.role = a.role;
          if (a['start-delay'] !== undefined) act.startDelay = a['start-delay'];
          meta.actions.push(act);
        }
        break;
      case 'shortdesc':
      case 'longdesc':
        text = '';
        textLang = a.lang;
        break;
    }
  });
  parser.on('text', (t) => {
    const top = stack[stack.length - 1];
    if (top === 'shortdesc' || top === 'longdesc') text += t;
  });
  parser.on('cdata', (t) => {
    const top = stack[stack.length - 1];
    if (top === 'shortdesc' || top === 'longdesc') text += t;
  });
  parser.on('closetag', (tag) => {
    stack.pop();
    const parent = stack[stack.length - 1];
    if (tag.name === 'shortdesc' || tag.name === 'longdesc') {
      // Prefer English (or unlabelled) text; keep the first found.
      if (textLang !== undefined && textLang !== 'en') return;
      const value = tag.name === 'shortdesc' ? text.trim() : dedent(text);
      if (parent === 'parameter' && param) {
        if (param[tag.name] === '') param[tag.name] = value;
      } else if (parent === 'resource-agent') {
        if (meta[tag.name] === '') meta[tag.name] = value;
      }
    } else if (tag.name === 'parameter' && param) {
      if (param.name !== '') meta.parameters.push(param);
      param = undefined;
    }
  });
  try {
    parser.write(xml).close();
  } catch (e) {
    error ??= new MetadataError(`meta-data is not well-formed XML: ${(e as Error).message}`);
  }
  if (error) throw error;
  if (!sawRoot) throw new MetadataError('meta-data has no <resource-agent> root element');
  if (meta.shortdesc === '' && rootShortdesc) meta.shortdesc = rootShortdesc.trim();
  return meta;
}

function dedent(text: string): string {
  const lines = text.replace(/^\s*\n/, '').replace(/\s+$/, '').split('\n');
  const indents = lines.filter((l) => l.trim() !== '').map((l) => /^[ \t]*/.exec(l)![0].length);
  const cut = indents.length ? Math.min(...indents) : 0;
  return lines.map((l) => l.slice(cut)).join('\n');
}

export interface PreparedParams {
  /** Parameters with defaults filled in for the ones not given. */
  params: Record<string, string>;
  /** Problems that make the configuration invalid (OCF_ERR_CONFIGURED). */
  errors: string[];
  /** Things worth a log line (unknown parameter names). */
  warnings: string[];
}

/**
 * Check a resource's parameters against the agent's meta-data: every
 * required parameter must be given (an empty value counts as missing, as
 * ocf_is_true/ocf-shellfuncs treat it); unknown names are warned about but
 * passed through (agents accept undocumented knobs).
 *
 * With `applyDefaults`, defaults from the meta-data fill parameters not
 * given (empty defaults are left out: agents treat unset and empty alike).
 * The executor asks for that for belay's own agents only: Pacemaker passes
 * just what is configured, and some stock agents' defaults are prose.
 */
export function prepareParams(meta: AgentMetadata, given: Record<string, string>, applyDefaults = true): PreparedParams {
  const params: Record<string, string> = { ...given };
  const errors: string[] = [];
  const warnings: string[] = [];
  const known = new Set(meta.parameters.map((p) => p.name));
  for (const p of meta.parameters) {
    const v = given[p.name];
    if (v === undefined || v === '') {
      if (p.required) errors.push(`required parameter '${p.name}' of ${meta.name} is missing`);
      else if (applyDefaults && p.default !== undefined && p.default !== '' && v === undefined) params[p.name] = p.default;
      continue;
    }
    if (p.type === 'integer' && !/^[+-]?\d+$/.test(v.trim())) {
      errors.push(`parameter '${p.name}' of ${meta.name} must be an integer, got '${v}'`);
    }
  }
  for (const name of Object.keys(given)) {
    if (!known.has(name)) warnings.push(`parameter '${name}' is not described in ${meta.name}'s meta-data`);
  }
  return { params, errors, warnings };
}

/**
 * Unique parameters: no two resources of the same agent may share a value
 * (two FloatIPs with the same ip). `others` are the other resources of the
 * same agent, by id. Returns one message per clash.
 */
export function uniqueConflicts(
  meta: AgentMetadata,
  id: string,
  params: Record<string, string>,
  others: Iterable<[string, Record<string, string>]>,
): string[] {
  const out: string[] = [];
  const uniques = meta.parameters.filter((p) => p.unique);
  if (uniques.length === 0) return out;
  for (const [otherId, otherParams] of others) {
    if (otherId === id) continue;
    for (const p of uniques) {
      const v = params[p.name];
      if (v !== undefined && v !== '' && otherParams[p.name] === v) {
        out.push(`parameter '${p.name}'='${v}' of ${id} is unique but ${otherId} has it too`);
      }
    }
  }
  return out;
}
