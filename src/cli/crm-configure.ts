/**
 * `crm configure ...` on a CIB file (CIB_file=PATH).
 *
 * Every command reads the file, computes the new CIB purely (src/cib/edit.ts,
 * src/crmsh/), checks it (src/cib/validate.ts) and writes it atomically with
 * the epoch bumped. On any error the file is left byte-for-byte untouched.
 */
import { fencingConfigErrors } from '../fencing/fencer.js';
import { readFileSync } from 'node:fs';
import { activeOn, allResources, constraintRefs, deleteIds, findResource, mergeConfiguration, modifyGroup, renameObject, replaceConfiguration, targetRole } from '../cib/edit.js';
import { CibError } from '../cib/errors.js';
import { emptyCib, type Cib, type Primitive } from '../cib/model.js';
import { fenceAgentDirs, fenceAgentPath } from '../fencing/agent.js';
import { validateCib } from '../cib/validate.js';
import { expandPrimitive } from '../cib/template.js';
import { cibToXml, constraintToXml, parseCibXml, resourceToXml } from '../cib/xml.js';
import { applyItem, applyItems, setAttributePath } from '../crmsh/apply.js';
import { harvestItemIds } from '../crmsh/ids.js';
import { parseStatement, type ConfigItem } from '../crmsh/parse.js';
import { showConfiguration, showStatements } from '../crmsh/show.js';
import { argvTokens, tokenize } from '../crmsh/tokenize.js';
import { commitCib, currentSession, loadCib, userOptions, type CibHandle } from './crm-cibfile.js';

const CREATE_COMMANDS = new Set([
  'primitive',
  'rsc_template',
  'role',
  'acl_target',
  'acl_group',
  'alert',
  'group',
  'clone',
  'ms',
  'location',
  'colocation',
  'collocation',
  'order',
  'property',
  'rsc_defaults',
  'op_defaults',
  'node',
  'rsc_ticket',
  'tag',
  'master',
  'monitor',
  'fencing_topology',
]);

const HELP = `usage: crm configure COMMAND ...
  primitive ID AGENT [params N=V...] [meta N=V...] [utilization N=V...] [op NAME N=V...]...
  group ID RSC... [meta N=V...]
  clone ID RSC [meta N=V...]
  ms ID RSC [meta N=V...]                      (a promotable clone)
  location ID RSC SCORE: NODE | location ID RSC rule [SCORE:] EXPR ...
  colocation ID SCORE: RSC[:ROLE] WITH-RSC[:ROLE] | ... ( A B ) ...
  order ID [KIND|SCORE:] FIRST[:ACTION] THEN[:ACTION] [symmetrical=BOOL]
  property [SET:] N=V...    rsc_defaults N=V...    op_defaults N=V...
  node [ID:] UNAME [attributes N=V...] [utilization N=V...]
  delete ID...              show [xml] [ID...]      verify
  load replace|update FILE  load xml replace|update FILE   (crmsh text, .xml or .yaml)
  edit [ID...]              (opens $EDITOR on the crmsh text)
`;

export async function runConfigure(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(HELP);
    return cmd === undefined ? 1 : 0;
  }
  if (CREATE_COMMANDS.has(cmd)) return create(args);
  switch (cmd) {
    case 'show':
      return show(rest);
    case 'delete':
    case 'del':
    case 'rm':
      return del(rest);
    case 'load':
      return load(rest);
    case 'verify':
      return verify();
    case 'edit':
      return edit(rest);
    case 'filter':
      return filter(rest);
    case 'set':
      return setPath(rest);
    case 'save':
      return save(rest);
    case 'modgroup':
      return modgroup(rest);
    case 'erase':
      return erase(rest);
    case 'rename':
      return rename(rest);
    case 'commit':
    case 'end':
    case 'up':
      // Every command is committed at once; crmsh scripts that say "commit" still work.
      return 0;
    default:
      throw new CibError(`crm configure: unknown command "${cmd}" (try: crm configure help)`);
  }
}

async function create(args: string[]): Promise<number> {
  const item = parseStatement({ tokens: argvTokens(args) });
  if (args[0] === 'master') {
    process.stderr.write(`WARNING: This command 'master' is deprecated, please use 'ms'\nINFO: "master" is accepted as "ms"\n`);
  }
  if (item.kind === 'clone' && item.clone.tag === 'master') {
    process.stderr.write(`WARNING: "ms" is deprecated. Please use "clone ${item.clone.id} ${item.member} meta promotable=true"\n`);
  }
  const handle = await loadCib();
  const cib = handle.cib;
  const notes: string[] = [];
  const next = applyItem(cib, item, 'create', notes);
  checkStonithAgents(handle, next);
  await commitCib(handle, next);
  for (const n of notes) process.stderr.write(`INFO: ${n}\n`);
  return 0;
}

/**
 * A fence device whose agent is not installed would be started, fail on
 * every node, and leave the cluster unable to fence: on the live cluster it
 * is refused. A CIB file may be written for other machines, so there it is
 * accepted silently, as crmsh does. Only devices this edit
 * adds or changes are checked, so an old configuration can still be edited.
 */
export function checkStonithAgents(handle: CibHandle, after: Cib): void {
  if (handle.path !== undefined) return;
  const old = new Map<string, string>();
  // A primitive made from a template has the template's agent (cib/template.ts).
  const agent = (cib: Cib, p: Primitive): Primitive | undefined => {
    try {
      return expandPrimitive(cib.configuration, p);
    } catch {
      return undefined; // no such template: validateCib says so
    }
  };
  for (const r of allResources(handle.cib)) {
    const p = r.tag === 'primitive' ? agent(handle.cib, r as Primitive) : undefined;
    if (p) old.set(p.id, `${p.class}:${p.type}`);
  }
  for (const r of allResources(after)) {
    if (r.tag !== 'primitive') continue;
    const p = agent(after, r as Primitive);
    if (!p) continue;
    if (p.class !== 'stonith' || old.get(p.id) === `stonith:${p.type}`) continue;
    if (fenceAgentPath(p.type) !== undefined) continue;
    throw new CibError(
      `stonith:${p.type} of "${p.id}": no such fence agent (no executable ${p.type} in ${fenceAgentDirs().join(', ')}); "crm ra list stonith" lists the installed ones`,
    );
  }
}

async function show(args: string[]): Promise<number> {
  const handle0 = await loadCib();
  const { cib } = handle0;
  if (args[0] === 'xml') {
    const ids = args.slice(1);
    if (ids.length === 0) {
      process.stdout.write(cibToXml(cib, { omitStatus: true, declaration: true }));
      return 0;
    }
    for (const id of ids) {
      const r = findAnyResource(cib, id);
      const c = cib.configuration.constraints.find((x) => x.id === id);
      if (r) process.stdout.write(resourceToXml(r));
      else if (c) process.stdout.write(constraintToXml(c));
      else throw new CibError(`object "${id}" does not exist`);
    }
    return 0;
  }
  if (args.length && args.some((a) => /^(type|related):/.test(a) || a === 'changed')) {
    process.stdout.write(showFiltered(cib, args, handle0.path === undefined ? undefined : handle0));
    return 0;
  }
  const opts = { sortElements: userOptions.sortElements };
  if (args.length) {
    const text = showConfiguration(cib, args, opts);
    const shown = new Set(args.filter((id) => text.length > 0 && showConfiguration(cib, [id]).length > 0));
    const missing = args.filter((id) => !shown.has(id));
    if (missing.length) throw new CibError(`object "${missing[0]}" does not exist`);
    process.stdout.write(text);
    return 0;
  }
  process.stdout.write(showConfiguration(cib, undefined, opts));
  return 0;
}

/**
 * crmsh's show filters: `type:KIND` (primitive, group, location, ...),
 * `related:ID` (the object and what names it), `changed` (objects that
 * differ from the stored CIB: pending edits of a crm session).
 */
function showFiltered(cib: Cib, args: string[], handle?: CibHandle): string {
  const stored = currentSession()?.handle.cib ?? handle?.cib ?? cib;
  const before = new Map(showStatements(stored).map((s) => [s.ids[0], s.text]));
  const st = showStatements(cib);
  return st
    .filter((s) =>
      args.some((a) => {
        if (a === 'changed') return before.get(s.ids[0]) !== s.text;
        if (a.startsWith('type:')) return s.text.split(' ', 1)[0] === a.slice(5);
        if (a.startsWith('related:')) {
          const id = a.slice(8);
          if (s.ids.includes(id)) return true;
          const c = cib.configuration.constraints.find((x) => s.ids.includes(x.id));
          return c !== undefined && constraintRefs(c).includes(id);
        }
        return s.ids.includes(a);
      }),
    )
    .map((s) => s.text + '\n')
    .join('');
}

function findAnyResource(cib: Cib, id: string) {
  const walk = (list: Cib['configuration']['resources']): Cib['configuration']['resources'][number] | undefined => {
    for (const r of list) {
      if (r.id === id) return r;
      if (r.tag === 'group') {
        const f = walk((r as { children: Cib['configuration']['resources'] }).children);
        if (f) return f;
      } else if (r.tag === 'clone' || r.tag === 'master') {
        const f = walk([(r as { child: Cib['configuration']['resources'][number] }).child]);
        if (f) return f;
      }
    }
    return undefined;
  };
  return walk(cib.configuration.resources);
}

async function del(args: string[]): Promise<number> {
  const force = args.some((a) => a === '--force' || a === '-f' || a === '-F');
  const ids = args.filter((a) => a !== '--force' && a !== '-f' && a !== '-F');
  if (ids.length === 0) throw new CibError('crm configure delete: name at least one id');
  const handle = await loadCib();
  const cib = handle.cib;
  // As crmsh: a resource the cluster runs must be stopped first (crm resource stop NAME).
  for (const id of ids) {
    if (force || !findResource(cib, id)) continue;
    const on = activeOn(cib, id);
    const role = targetRole(cib, id)?.toLowerCase();
    if (on.length && role !== 'stopped') {
      throw new CibError(`resource "${id}" is running (on ${on.join(', ')}), can't delete it: run "crm resource stop ${id}" first, or delete --force`);
    }
  }
  const notes: string[] = [];
  const next = deleteIds(cib, ids, notes);
  await commitCib(handle, next);
  for (const n of notes) process.stderr.write(`INFO: ${n}\n`);
  return 0;
}

/** Read a configuration file: XML (.xml or starting with "<"), YAML (.yaml/.yml) or crmsh text. */
export async function readConfigFile(file: string, forceXml: boolean): Promise<{ conf?: Cib['configuration']; items?: ConfigItem[]; generated?: Set<string> }> {
  let text: string;
  try {
    text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
  } catch (e) {
    throw new CibError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (forceXml || /\.xml$/i.test(file) || text.trimStart().startsWith('<')) {
    return { conf: parseCibXml(text, file).configuration };
  }
  if (/\.ya?ml$/i.test(file)) {
    const { parseCibYaml } = await import('../cib/yaml.js');
    return { conf: parseCibYaml(text, file).configuration };
  }
  const generated = new Set<string>();
  return { items: tokenize(text, file).map((st) => parseStatement(st, generated)), generated };
}

/** The ids the current session keeps taken (crmsh's id store between commits). */
function reservedIds(): Set<string> {
  const s = currentSession();
  if (!s) return new Set();
  return (s.reservedIds ??= new Set());
}

async function load(args: string[]): Promise<number> {
  let a = args;
  let forceXml = false;
  if (a[0] === 'xml') {
    forceXml = true;
    a = a.slice(1);
  }
  const [method, file, ...extra] = a;
  if ((method !== 'replace' && method !== 'update' && method !== 'push') || file === undefined || extra.length) {
    throw new CibError('usage: crm configure load [xml] replace|update FILE');
  }
  const src = await readConfigFile(file, forceXml);
  const handle = await loadCib();
  const cib = handle.cib;
  let next: Cib;
  if (src.conf) {
    next = method === 'update' ? mergeConfiguration(cib, src.conf) : replaceConfiguration(cib, src.conf);
  } else if (method === 'update') {
    next = applyItems(cib, harvestItemIds(cib, src.items!, src.generated!, reservedIds()), 'update');
  } else {
    const base = emptyCib();
    base.configuration.nodes = cib.configuration.nodes;
    const built = applyItems(base, src.items!, 'update');
    next = replaceConfiguration(cib, built.configuration);
  }
  checkStonithAgents(handle, next);
  await commitCib(handle, next);
  return 0;
}

async function verify(): Promise<number> {
  const { cib } = await loadCib();
  const problems = validateCib(cib);
  for (const p of problems) process.stderr.write(`ERROR: ${p.message}\n`);
  // As crm_verify: fencing enabled without a device is an error of the configuration.
  const fencing = fencingConfigErrors(cib.configuration);
  for (const e of fencing) process.stderr.write(`error: ${e}\n`);
  if (fencing.length) process.stderr.write('Errors found during check: config not valid\n');
  return problems.length || fencing.length ? 1 : 0;
}

/** Open $EDITOR on the crmsh text, then load the result back (replace for the whole configuration). */
async function edit(ids: string[]): Promise<number> {
  const { spawnSync } = await import('node:child_process');
  return rewrite(ids, (file) => {
    const editor = process.env.EDITOR || process.env.VISUAL || 'vi';
    // The editor gets the file name as an argument, never through a shell line.
    const r = spawnSync(editor, [file], { stdio: 'inherit' });
    if (r.error) throw new CibError(`cannot run the editor "${editor}": ${r.error.message}`);
    if (r.status !== 0) throw new CibError(`the editor "${editor}" failed (exit ${r.status}); nothing changed`);
    return readFileSync(file, 'utf8');
  });
}

/**
 * `filter CMD [ID...]` (crmsh): the crmsh text of the configuration (or of
 * the named objects) goes through CMD, a command line the administrator
 * typed (run by /bin/sh as crmsh does), and its output is loaded back as
 * `edit` would.
 */
async function filter(args: string[]): Promise<number> {
  const [cmd, ...ids] = args;
  if (cmd === undefined) throw new CibError('usage: crm configure filter CMD [ID...]');
  const { spawnSync } = await import('node:child_process');
  return rewrite(ids, (file) => {
    const r = spawnSync('/bin/sh', ['-c', cmd], { input: readFileSync(file), encoding: 'utf8' });
    if (r.error) throw new CibError(`cannot run the filter "${cmd}": ${r.error.message}`);
    if (r.status !== 0) throw new CibError(`the filter "${cmd}" failed (exit ${r.status}): ${r.stderr.trim()}`);
    return r.stdout;
  }, true);
}

/**
 * Edit the crmsh text of the configuration (or of the named objects) with
 * CHANGE, then apply the result. A filter gets one line per object and no
 * comments, as crmsh gives it (format -1).
 */
async function rewrite(ids: string[], change: (file: string) => string, oneLine = false): Promise<number> {
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const handle = await loadCib();
  const cib = handle.cib;
  for (const id of ids) if (showConfiguration(cib, [id]) === '') throw new CibError(`object "${id}" does not exist`);
  const dir = mkdtempSync(join(tmpdir(), 'crm-edit-'));
  const file = join(dir, 'configuration.crm');
  const before = showConfiguration(cib, ids.length ? ids : undefined, { oneLine });
  writeFileSync(file, before);
  try {
    const after = change(file);
    if (after === before) return 0;
    const generated = new Set<string>();
    const items = harvestItemIds(cib, tokenize(after, file).map((st) => parseStatement(st, generated)), generated, reservedIds());
    let next: Cib;
    if (ids.length) {
      // Edited objects: those removed from the text are deleted, the rest updated.
      const kept = new Set(items.map(itemIds).flat());
      const gone = ids.filter((id) => !kept.has(id));
      next = applyItems(gone.length ? deleteIds(cib, gone) : cib, items, 'update');
    } else {
      const base = emptyCib();
      const built = applyItems(base, items, 'update');
      next = replaceConfiguration(cib, built.configuration);
      next.configuration.nodes = built.configuration.nodes;
    }
    await commitCib(handle, next);
    return 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `set ID.[OP.][INTERVAL.]NAME VALUE` (crmsh): change one attribute in place. */
async function setPath(args: string[]): Promise<number> {
  const [path, value, ...extra] = args;
  if (path === undefined || value === undefined || extra.length) throw new CibError('usage: crm configure set ID.[OP.][INTERVAL.]NAME VALUE');
  const handle = await loadCib();
  await commitCib(handle, setAttributePath(handle.cib, path, value));
  return 0;
}

/** `modgroup GROUP add RSC [after|before MEMBER]` / `modgroup GROUP remove RSC` (crmsh). */
async function modgroup(args: string[]): Promise<number> {
  const [group, op, rsc, position, member, ...extra] = args;
  const usage = 'usage: crm configure modgroup GROUP add RSC [after|before MEMBER] | modgroup GROUP remove RSC';
  if (group === undefined || (op !== 'add' && op !== 'remove') || rsc === undefined || extra.length) throw new CibError(usage);
  if (position !== undefined && (op !== 'add' || (position !== 'after' && position !== 'before') || member === undefined)) throw new CibError(usage);
  const handle = await loadCib();
  const where = position !== undefined ? { position: position as 'after' | 'before', member: member! } : undefined;
  await commitCib(handle, modifyGroup(handle.cib, group, op, rsc, where));
  return 0;
}

/** `save [xml] FILE` (crmsh): the configuration as crmsh text (or CIB XML) in a file. */
async function save(args: string[]): Promise<number> {
  const xml = args[0] === 'xml';
  const file = xml ? args[1] : args[0];
  if (file === undefined) throw new CibError('usage: crm configure save [xml] FILE');
  const { cib } = await loadCib();
  const { atomicWriteFileSync } = await import('../lib/atomic-write.js');
  atomicWriteFileSync(file, xml ? cibToXml(cib, { omitStatus: true, declaration: true }) : showConfiguration(cib));
  return 0;
}

/** `erase [nodes]` (crmsh): remove every object but the nodes, or (with "nodes") the nodes. */
async function erase(args: string[]): Promise<number> {
  if (args.length > 1 || (args.length === 1 && args[0] !== 'nodes')) throw new CibError('usage: crm configure erase [nodes]');
  const handle = await loadCib();
  const next = structuredClone(handle.cib);
  if (args[0] === 'nodes') next.configuration.nodes = [];
  else next.configuration = { ...emptyCib().configuration, nodes: next.configuration.nodes };
  await commitCib(handle, next);
  return 0;
}

/** `rename OLD NEW` (crmsh): a resource or constraint gets a new id; references follow. */
async function rename(args: string[]): Promise<number> {
  const [from, to, ...extra] = args;
  if (from === undefined || to === undefined || extra.length) throw new CibError('usage: crm configure rename OLD-ID NEW-ID');
  const handle = await loadCib();
  await commitCib(handle, renameObject(handle.cib, from, to));
  return 0;
}

function itemIds(it: ConfigItem): string[] {
  switch (it.kind) {
    case 'primitive':
      return [it.primitive.id];
    case 'group':
      return [it.group.id];
    case 'clone':
      return [it.clone.id];
    case 'constraint':
      return [it.constraint.id];
    case 'node':
      return [it.node.id, it.node.uname];
    case 'xml':
      return [];
    case 'ticket':
      return [it.constraint.id];
    case 'monitor':
      return [it.rsc];
    case 'tag':
      return [it.tag.attrs.id!];
    case 'section':
      return [it.element.attrs.id!];
    case 'fencing_topology':
      return ['fencing_topology'];
    default:
      return it.setId ? [it.setId] : [];
  }
}
