/**
 * The agent's side of the fence-agents protocol, for fence agents written
 * in TypeScript (fence_belay_lab): options from the command line (`-o
 * reboot -n n1`, `--plug=n1`) or, with no arguments, key=value lines on
 * stdin (what Pacemaker's fencer writes), and the `metadata` XML in the
 * shape fence-agents' fencing.py prints it. Pure: text in, values out.
 */

export interface FenceOptionSpec {
  /** The stdin name, e.g. 'plug', 'power_timeout'. */
  name: string;
  /** Short command-line flag without the dash, e.g. 'n'. */
  short?: string;
  /** Long command-line flag without the dashes, e.g. 'plug', 'power-timeout'. */
  long: string;
  /** What the value looks like in --help and <getopt>, e.g. 'id'; absent for a flag without value. */
  arg?: string;
  type: 'string' | 'second' | 'integer' | 'boolean';
  default?: string;
  required?: boolean;
  shortdesc: string;
  /** Other stdin names that mean this option (fence-agents accept `port` for `plug`). */
  aliases?: string[];
}

export interface FenceAgentDescription {
  name: string;
  shortdesc: string;
  longdesc: string;
  vendorUrl: string;
  options: FenceOptionSpec[];
  /** Actions the agent supports, for <actions>. */
  actions: string[];
}

export class FenceUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FenceUsageError';
  }
}

export interface ParsedFenceInput {
  /** Values by option name, defaults filled in. */
  options: Record<string, string>;
  /** Lines the agent ignored, as fencing.py warns about them. */
  warnings: string[];
}

const TRUE_WORDS = new Set(['1', 'yes', 'y', 'on', 'true', 't']);

export function isTrue(v: string | undefined): boolean {
  return v !== undefined && TRUE_WORDS.has(v.trim().toLowerCase());
}

/**
 * Read an agent's input: the command line when it has arguments, else the
 * stdin text (fencing.py decides the same way). Throws FenceUsageError on a
 * malformed command line; unknown stdin lines are warnings only, since
 * Pacemaker passes its own (nodename=, pcmk_*) to every agent.
 */
export function parseFenceInput(desc: FenceAgentDescription, argv: string[], stdin: string | undefined): ParsedFenceInput {
  const options: Record<string, string> = {};
  const warnings: string[] = [];
  const byName = new Map<string, FenceOptionSpec>();
  for (const o of desc.options) {
    byName.set(o.name, o);
    for (const a of o.aliases ?? []) byName.set(a, o);
  }
  if (argv.length > 0) {
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      let spec: FenceOptionSpec | undefined;
      let value: string | undefined;
      if (arg.startsWith('--')) {
        const eq = arg.indexOf('=');
        const long = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
        spec = desc.options.find((o) => o.long === long);
        if (!spec) throw new FenceUsageError(`unknown option --${long}`);
        if (eq >= 0) value = arg.slice(eq + 1);
      } else if (arg.startsWith('-') && arg.length >= 2) {
        spec = desc.options.find((o) => o.short === arg[1]);
        if (!spec) throw new FenceUsageError(`unknown option ${arg.slice(0, 2)}`);
        if (arg.length > 2) value = arg.slice(2);
      } else {
        throw new FenceUsageError(`unexpected argument '${arg}'`);
      }
      if (spec.arg === undefined) {
        if (value !== undefined) throw new FenceUsageError(`option --${spec.long} takes no value`);
        options[spec.name] = '1';
        continue;
      }
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined) throw new FenceUsageError(`option --${spec.long} needs a value`);
      }
      options[spec.name] = value;
    }
  } else {
    for (const raw of (stdin ?? '').split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const eq = line.indexOf('=');
      const name = eq < 0 ? line : line.slice(0, eq).trim();
      // Old agents' name for the action.
      const spec = byName.get(name === 'option' ? 'action' : name);
      if (!spec) {
        warnings.push(`Parse error: Ignoring unknown option '${line}'`);
        continue;
      }
      const value = eq < 0 ? '1' : line.slice(eq + 1);
      options[spec.name] = spec.type === 'boolean' ? (isTrue(value) ? '1' : '0') : value;
    }
  }
  for (const o of desc.options) {
    if (options[o.name] === undefined && o.default !== undefined) options[o.name] = o.default;
  }
  for (const o of desc.options) {
    const v = options[o.name];
    if (v === undefined) continue;
    if ((o.type === 'second' && !/^\d+(\.\d+)?$/.test(v)) || (o.type === 'integer' && !/^-?\d+$/.test(v))) {
      throw new FenceUsageError(`${o.name} must be ${o.type === 'second' ? 'a number of seconds' : 'an integer'}, got '${v}'`);
    }
  }
  return { options, warnings };
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function getoptText(o: FenceOptionSpec): string {
  const long = `--${o.long}${o.arg !== undefined ? `=[${o.arg}]` : ''}`;
  return o.short ? `-${o.short}, ${long}` : long;
}

/** `metadata` as fence-agents print it (shortdesc an attribute of the root, <getopt mixed=...>). */
export function renderFenceMetadata(desc: FenceAgentDescription): string {
  const out = ['<?xml version="1.0" ?>', `<resource-agent name="${xmlEscape(desc.name)}" shortdesc="${xmlEscape(desc.shortdesc)}" >`];
  out.push(`<longdesc>${xmlEscape(desc.longdesc)}</longdesc>`);
  out.push(`<vendor-url>${xmlEscape(desc.vendorUrl)}</vendor-url>`);
  out.push('<parameters>');
  const param = (name: string, o: FenceOptionSpec, extra = '') => {
    out.push(`\t<parameter name="${name}" unique="0" required="${o.required ? 1 : 0}"${extra}>`);
    out.push(`\t\t<getopt mixed="${xmlEscape(getoptText(o))}" />`);
    const def = o.default !== undefined ? `default="${xmlEscape(o.default)}" ` : '';
    out.push(`\t\t<content type="${o.arg === undefined ? 'boolean' : o.type}" ${def} />`);
    out.push(`\t\t<shortdesc lang="en">${xmlEscape(o.shortdesc)}</shortdesc>`);
    out.push('\t</parameter>');
  };
  for (const o of desc.options) {
    param(o.name, o);
    // fencing.py lists the other names too, marked so tools know which to prefer.
    for (const a of o.aliases ?? []) param(a, o, ` deprecated="1"`);
  }
  out.push('</parameters>');
  out.push('<actions>');
  for (const a of desc.actions) out.push(`\t<action name="${xmlEscape(a)}"${a === 'on' ? ' automatic="0"' : ''} />`);
  out.push('</actions>');
  out.push('</resource-agent>');
  return `${out.join('\n')}\n`;
}

/** `--help` text in fence-agents' layout. */
export function renderFenceUsage(desc: FenceAgentDescription): string {
  const lines = ['Usage:', `\t${desc.name} [options]`, 'Options:'];
  for (const o of desc.options) {
    const flag = getoptText(o).replace('=[', ' [');
    lines.push(`   ${flag.padEnd(32)}${o.shortdesc}`);
  }
  return `${lines.join('\n')}\n`;
}
