/**
 * crmsh 4.4.1's regression cases (../shared/crmsh-cases), driven as crmsh's
 * own runner (test/evaltest.sh, test/crm-interface) drives them, against
 * both belay's `crm` and the real crmsh on a CIB file (CIB_file=...).
 *
 * - `show NAME`, `showxml NAME`, `session NAME`, `filesession NAME` blocks
 *   (lines up to ".") are fed as one crm session on stdin; other lines are
 *   single commands (`crm -R ARGS`, words split on blanks as the shell does
 *   with an unquoted $*).
 * - After every statement at the configure level a probe (`show xml`, then
 *   `show`) is fed too, so one invocation per block gives each step's
 *   verdict, resulting CIB and `show` text. The probes' output is left out
 *   when comparing with the suite's .exp.
 * - A step is a line run at the configure level (or a single
 *   `configure ...` command). Its verdict is whether the tool printed an
 *   ERROR for it.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawElement } from '../../src/cib/model.js';
import { parseXmlTree } from '../../src/cib/xml.js';

export const CASES_DIR = join(import.meta.dirname, '../../../shared/crmsh-cases');
export const ROOT = join(import.meta.dirname, '../..');
export const REAL_CRM = '/usr/sbin/crm';

export type Tool = 'belay' | 'crmsh';

const EMPTY_CIB = `<cib crm_feature_set="3.16.1" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config/>
    <nodes/>
    <resources/>
    <constraints/>
  </configuration>
  <status/>
</cib>
`;

/** The sample CIB crmsh's runner makes before each case (crm_mksample). */
const MKSAMPLE = `configure
node node1
property stonith-enabled=false
primitive p0 ocf:pacemaker:Dummy
primitive p1 ocf:pacemaker:Dummy
primitive p2 ocf:heartbeat:Delay params startdelay=2 mondelay=2 stopdelay=2
primitive p3 ocf:pacemaker:Dummy
clone c1 p1
clone m1 p2 meta promotable=true
op_defaults timeout=60s
commit
up
`;

/** evaltest.sh reads lines with `read` (no -r): a backslash joins lines, other backslashes escape. */
function shellRead(lines: string[], i: number): { text: string; next: number } {
  let out = '';
  let k = i;
  for (;;) {
    const l = lines[k] ?? '';
    k++;
    let cont = false;
    for (let j = 0; j < l.length; j++) {
      const c = l[j]!;
      if (c === '\\') {
        if (j === l.length - 1) {
          cont = true;
          break;
        }
        out += l[++j];
      } else out += c;
    }
    if (!cont || k >= lines.length) break;
  }
  return { text: out.trim(), next: k };
}

export interface Block {
  kind: 'session' | 'single' | 'setenv';
  /** The directive: show, showxml, session, filesession, or the single command's words. */
  directive: string;
  /** Session lines (or, for single, the one command line). */
  lines: string[];
}

export function parseCase(name: string): Block[] {
  const lines = readFileSync(join(CASES_DIR, name), 'utf8').split('\n');
  const blocks: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const { text, next } = shellRead(lines, i);
    i = next;
    if (text === '' || text.startsWith('#')) continue;
    const [cmd = '', ...rest] = text.split(/\s+/);
    if (cmd === '%stop') break;
    if (cmd.startsWith('%')) {
      blocks.push({ kind: 'setenv', directive: cmd.slice(1), lines: [rest.join(' ')] });
      continue;
    }
    if (cmd === 'show' || cmd === 'showxml' || cmd === 'session' || cmd === 'filesession') {
      const body: string[] = [];
      while (i < lines.length) {
        const r = shellRead(lines, i);
        i = r.next;
        if (r.text === '.') break;
        body.push(r.text);
      }
      blocks.push({ kind: 'session', directive: text, lines: body });
      continue;
    }
    blocks.push({ kind: 'single', directive: text, lines: [text] });
  }
  return blocks;
}

/** One input line fed to a tool, and whether it is a probe or a counted step. */
interface Fed {
  text: string;
  probe?: 'xml' | 'show';
  /** A configure-level statement: counted as a step. */
  step?: boolean;
}

const NAV = new Set(['up', 'end', 'back', 'cd', 'quit', 'exit', 'bye']);
const NO_PROBE = new Set(['_regtest', '_test', 'show', 'commit', 'verify', 'help', 'ptest', 'simulate', 'save', 'history', 'cib', 'template', 'schema', 'graph', 'refresh']);

/** The session input as crm-interface builds it, with probes after each configure-level statement. */
function sessionInput(block: Block): Fed[] {
  const [dir] = block.directive.split(/\s+/);
  let body: string[] = block.lines;
  if (dir === 'show' || dir === 'showxml') {
    body = ['configure', '_regtest on', 'erase', 'erase nodes', ...block.lines, dir === 'show' ? 'show' : 'show xml', 'commit'];
  }
  const out: Fed[] = [];
  let level: string | undefined;
  for (const l of body) {
    const words = l.split(/\s+/);
    const w0 = words[0] ?? '';
    if (level === undefined) {
      if (w0 === 'configure' && words.length === 1) {
        level = 'configure';
        out.push({ text: l });
        continue;
      }
      if (words.length === 1 && /^[a-z]+$/.test(w0) && !NAV.has(w0)) level = w0;
      out.push({ text: l, ...(w0 === 'configure' ? { step: true } : {}) });
      continue;
    }
    if (NAV.has(w0)) {
      level = undefined;
      out.push({ text: l });
      continue;
    }
    if (level !== 'configure') {
      out.push({ text: l });
      continue;
    }
    out.push({ text: l, step: w0 !== '_regtest' });
    if (!NO_PROBE.has(w0) && w0 !== 'erase') {
      out.push({ text: 'show xml', probe: 'xml' }, { text: 'show', probe: 'show' });
    }
  }
  return out;
}

export interface StepResult {
  case: string;
  /** 1-based index of the block in the case and of the line in the block. */
  block: number;
  line: number;
  stmt: string;
  /** Output of the statement (stdout and stderr interleaved), per tool. */
  out: Record<Tool, string>;
  /** Did the statement print an ERROR. */
  error: Record<Tool, boolean>;
  /** show xml / show after the statement (when probed). */
  xml: Partial<Record<Tool, string>>;
  show: Partial<Record<Tool, string>>;
  /** crmsh's sort_elements user option in effect when the step ran (set by `options sort_elements ...`). */
  sortElements: boolean;
}

/** crmsh's boolean user option values (config.py's is_boolean_true). */
function optionTrue(v: string): boolean {
  return ['yes', 'true', 'on', '1'].includes(v.toLowerCase());
}

function toolCommand(tool: Tool, args: string[]): [string, string[]] {
  if (tool === 'crmsh') return [REAL_CRM, args];
  return [process.execPath, [join(process.env['BELAY_ROOT'] ?? ROOT, 'bin/crm'), ...args]];
}

/**
 * Real crmsh's outputs, cached by what determines them: crmsh's version, the
 * arguments, the input and the CIB file before the call. A new crmsh version
 * (or any change of input) misses the cache and runs crmsh again.
 */
const CACHE_DIR = join(import.meta.dirname, 'crmsh-cache');
let cacheFile: string | undefined;
let cache: Record<string, { out: string; cib: string }> = {};
let cacheUsed = new Set<string>();
let version: string | undefined;

function openCache(name: string): void {
  version ??= crmshVersion();
  cacheFile = join(CACHE_DIR, `${name}.json`);
  cache = existsSync(cacheFile) ? JSON.parse(readFileSync(cacheFile, 'utf8')) : {};
  cacheUsed = new Set();
}

function closeCache(): void {
  if (!cacheFile) return;
  const kept: typeof cache = {};
  for (const k of [...cacheUsed].sort()) kept[k] = cache[k]!;
  if (JSON.stringify(kept) !== JSON.stringify(cache)) {
    mkdirSync(CACHE_DIR, { recursive: true });
    writeFileSync(cacheFile, JSON.stringify(kept, null, 1) + '\n');
  }
  cacheFile = undefined;
}

/** Run a tool with stdout and stderr going to one file, so their order is kept. */
function runTool(tool: Tool, args: string[], input: string, env: NodeJS.ProcessEnv, dir: string): string {
  if (tool === 'crmsh' && cacheFile && process.env['CRMSH_CACHE'] !== 'off') {
    const cibPath = env['CIB_file']!;
    const before = existsSync(cibPath) ? readFileSync(cibPath, 'utf8') : '';
    const key = hash(JSON.stringify([version, args, input, before]));
    cacheUsed.add(key);
    const hit = cache[key];
    if (hit) {
      writeFileSync(cibPath, hit.cib);
      return hit.out;
    }
    const out = runToolNow(tool, args, input, env, dir);
    cache[key] = { out, cib: existsSync(cibPath) ? readFileSync(cibPath, 'utf8') : '' };
    return out;
  }
  return runToolNow(tool, args, input, env, dir);
}

function runToolNow(tool: Tool, args: string[], input: string, env: NodeJS.ProcessEnv, dir: string): string {
  const outFile = join(dir, `${tool}.out`);
  const fd = openSync(outFile, 'w');
  try {
    const [cmd, argv] = toolCommand(tool, args);
    // In the case's own directory: cases write files (configure save sample.txt).
    spawnSync(cmd, argv, { input, env, cwd: dir, stdio: ['pipe', fd, fd], timeout: 120_000 });
  } finally {
    closeSync(fd);
  }
  return readFileSync(outFile, 'utf8');
}

/** Split a -R transcript into segments, one per `.INP:` line. */
function segments(out: string): Array<{ inp: string; body: string[] }> {
  const segs: Array<{ inp: string; body: string[] }> = [];
  for (const l of out.split('\n')) {
    if (l.startsWith('.INP: ')) segs.push({ inp: l.slice(6), body: [] });
    else if (segs.length) segs[segs.length - 1]!.body.push(l);
  }
  return segs;
}

/** Lines of tool output that say nothing about the configuration (external calls crmsh makes). */
export function cleanOutput(lines: string[]): string[] {
  return lines
    .filter((l) => !l.startsWith('.EXT ') && l !== '')
    .map((l) => l.replace(/^(ERROR|WARNING|INFO|CRIT): \d+: /, '$1: '));
}

export function isError(lines: string[]): boolean {
  return lines.some((l) => /^(ERROR|CRIT): /.test(l) && !/crm_verify|\(unpack_|\(cluster_status\)|\(pe_|\(native_|\(check_|\(unpack_config\)|error: /.test(l));
}

export interface CaseRun {
  steps: StepResult[];
  /** The whole transcript of each tool (probes removed), for the .exp comparison. */
  transcript: Record<Tool, string>;
}

export function runCase(name: string, tools: Tool[] = ['belay', 'crmsh']): CaseRun {
  const blocks = parseCase(name);
  const steps = new Map<string, StepResult>();
  const transcript: Record<Tool, string> = { belay: '', crmsh: '' };
  for (const tool of tools) {
    if (tool === 'crmsh') openCache(name);
    const dir = mkdtempSync(join(tmpdir(), `crmsh-case-${tool}-`));
    try {
      const cib = join(dir, 'cib.xml');
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dir, CIB_file: cib, PYTHONUNBUFFERED: '1', LANG: 'C.UTF-8' };
      // crmsh needs the file to exist: start from Pacemaker's empty CIB (cibadmin --empty).
      writeFileSync(cib, EMPTY_CIB);
      if (tool === 'crmsh') {
        for (const o of [['options', 'reset'], ['options', 'check-frequency', 'on-verify'], ['options', 'check-mode', 'relaxed']]) runTool(tool, o, '', env, dir);
      }
      runTool(tool, tool === 'crmsh' ? [] : ['-f', '-'], MKSAMPLE, env, dir);
      let showobj = '';
      // crm.conf lives in HOME (this case's directory): the option lasts for the case.
      let sortElements = true;
      let bi = 0;
      for (const b of blocks) {
        bi++;
        if (b.kind === 'setenv') {
          const m = /^showobj=(.*)$/.exec(b.lines[0]!);
          if (m) showobj = m[1]!;
          transcript[tool] += `.${b.directive.toUpperCase()} ${b.lines[0]}\n`;
          continue;
        }
        transcript[tool] += `.TRY ${b.kind === 'session' ? b.directive.split(/\s+/).slice(1).join(' ') : b.directive}\n`;
        let fed: Fed[];
        let args: string[];
        let input: string;
        let runEnv = env;
        if (b.kind === 'single') {
          const words = b.directive.split(/\s+/);
          args = ['-R', ...words];
          input = '';
          fed = [{ text: b.directive, step: words[0] === 'configure' || (words[0] === '-F' && words[1] === 'configure') }];
        } else {
          fed = sessionInput(b);
          args = tool === 'crmsh' ? ['-R'] : ['-R', '-f', '-'];
          input = fed.map((f) => f.text).join('\n') + '\n';
          if (b.directive.startsWith('filesession')) {
            // crm-interface: the session works on a copy of the configuration without node1.
            const copy = join(dir, 'file-session.xml');
            runTool(tool, tool === 'crmsh' ? [] : ['-f', '-'], 'configure\ndelete node1\ncommit\n', env, dir);
            writeFileSync(copy, readFileSync(cib));
            runEnv = { ...env, CIB_file: copy };
          }
        }
        const out = runTool(tool, args, input, runEnv, dir);
        let segs: Array<{ inp: string; body: string[] }>;
        if (b.kind === 'single') {
          segs = [{ inp: b.directive, body: out.split('\n').filter((l) => !l.startsWith('.INP: ')) }];
        } else segs = segments(out);
        // Match segments to fed lines in order (each fed line is echoed once).
        let si = 0;
        let lastStep: StepResult | undefined;
        let li = 0;
        for (const f of fed) {
          const seg = segs[si];
          if (!seg) break;
          si++;
          const body = cleanOutput(seg.body);
          const so = /^(?:options\s+)?sort[_-]elements\s+(\S+)$/.exec(f.text.trim());
          if (so) sortElements = optionTrue(so[1]!);
          if (f.probe) {
            if (lastStep) {
              const text = seg.body.filter((l) => !l.startsWith('.EXT ')).join('\n');
              if (f.probe === 'xml') lastStep.xml[tool] = text;
              else lastStep.show[tool] = text;
            }
            continue;
          }
          li++;
          transcript[tool] += `.INP: ${f.text}\n` + body.map((l) => l + '\n').join('');
          if (!f.step) {
            lastStep = undefined;
            continue;
          }
          const key = `${bi}:${li}`;
          let st = steps.get(key);
          if (!st) {
            st = { case: name, block: bi, line: li, stmt: f.text, out: { belay: '', crmsh: '' }, error: { belay: false, crmsh: false }, xml: {}, show: {}, sortElements };
            steps.set(key, st);
          }
          st.out[tool] = body.join('\n');
          st.error[tool] = isError(body);
          lastStep = st;
        }
        if (showobj && b.kind === 'single') {
          const o = runTool(tool, tool === 'crmsh' ? ['-R'] : ['-R', '-f', '-'], `configure\n_regtest on\nshow xml ${showobj}\n`, env, dir);
          transcript[tool] += cleanOutput(o.split('\n')).join('\n') + '\n';
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
      if (tool === 'crmsh') closeCache();
    }
  }
  return { steps: [...steps.values()], transcript };
}

// ---------------------------------------------------------------------------
// Comparisons

/** A configuration as canonical text: attributes sorted, whitespace and the <cib> attributes ignored. */
export function canonicalConfiguration(xml: string): string | undefined {
  const start = xml.indexOf('<cib');
  if (start < 0) return undefined;
  let tree: RawElement;
  try {
    tree = parseXmlTree(xml.slice(start));
  } catch {
    return undefined;
  }
  const conf = tree.children.find((c) => c.tag === 'configuration');
  if (!conf) return undefined;
  const lines: string[] = [];
  // The order of sections in <configuration> (an interleave in Pacemaker's schema) and of objects within these sections means nothing to Pacemaker (nor to
  // crmsh, which shows them sorted): compare them sorted by tag and id. Order
  // inside an object (group members, ops, nvpairs) is kept.
  const UNORDERED = new Set(['configuration', 'nodes', 'resources', 'constraints', 'crm_config', 'rsc_defaults', 'op_defaults', 'tags', 'acls', 'alerts', 'fencing-topology']);
  const walk = (e: RawElement, depth: number) => {
    if (UNORDERED.has(e.tag)) {
      const key = (c: RawElement) => `${c.tag}\u0000${c.attrs.id ?? ''}\u0000${c.attrs.target ?? ''}\u0000${c.attrs.index ?? ''}`;
      e = { ...e, children: [...e.children].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0)) };
    }
    const attrs = Object.keys(e.attrs)
      .sort()
      .map((k) => `${k}=${JSON.stringify(e.attrs[k])}`)
      .join(' ');
    lines.push(`${'  '.repeat(depth)}<${e.tag}${attrs ? ' ' + attrs : ''}>${e.text?.trim() ? JSON.stringify(e.text.trim()) : ''}`);
    // Empty sections are the same as absent ones.
    for (const c of e.children) if (!(depth === 0 && c.children.length === 0 && Object.keys(c.attrs).length === 0)) walk(c, depth + 1);
  };
  walk(conf, 0);
  return lines.join('\n');
}

/** The .exp transcript split as ours: by .TRY / .INP lines, filtered the same way. */
export function expTranscript(name: string): string | undefined {
  const f = join(CASES_DIR, `${name}.exp`);
  if (!existsSync(f)) return undefined;
  return normaliseTranscript(readFileSync(f, 'utf8'));
}

export function normaliseTranscript(text: string): string {
  return cleanOutput(text.split('\n'))
    .filter((l) => !/^\s*$/.test(l))
    .map((l) => l.replace(/\s+/g, ' ').trim())
    .join('\n');
}

/** .exp lines per `.INP:` (in order), for a per-step comparison. */
export function expSegments(name: string): Array<{ inp: string; body: string[] }> {
  const f = join(CASES_DIR, `${name}.exp`);
  if (!existsSync(f)) return [];
  const segs: Array<{ inp: string; body: string[] }> = [];
  for (const l of readFileSync(f, 'utf8').split('\n')) {
    if (l.startsWith('.INP: ')) segs.push({ inp: l.slice(6), body: [] });
    else if (l.startsWith('.TRY ')) segs.push({ inp: l.slice(5), body: [] });
    else if (segs.length) segs[segs.length - 1]!.body.push(l);
  }
  return segs.map((s) => ({ inp: s.inp, body: cleanOutput(s.body).filter((l) => !/^\s*$/.test(l)) }));
}

export function caseNames(): string[] {
  return readdirSync(CASES_DIR)
    .filter((f) => !f.includes('.') && f !== 'README' && f !== 'basicset' && existsSync(join(CASES_DIR, `${f}.exp`)))
    .sort();
}

/** crmsh's version, so a cache of its outputs is thrown away when it changes. */
export function crmshVersion(): string {
  const r = spawnSync(REAL_CRM, ['--version'], { encoding: 'utf8' });
  const d = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'crmsh'], { encoding: 'utf8' });
  return `${(r.stdout || '').trim()} ${(d.stdout || '').trim()}`;
}

export function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 24);
}
