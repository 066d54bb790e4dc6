/**
 * Rule evaluation (Pacemaker's rules: expression, date_expression, date_spec,
 * nested rules with boolean-op). Pure: node attributes and "now" are passed in.
 */
import type { NvSet, RuleNode } from '../cib/model.js';

export interface RuleContext {
  /** Node attributes (#uname etc.), when evaluating for a node. */
  node?: Map<string, string>;
  /** Seconds since the epoch. */
  now: number;
  /** Resource meta/params for value-source (unused for now). */
  rscClass?: string;
  rscProvider?: string;
  rscType?: string;
  opName?: string;
  opInterval?: number;
}

function compareValues(a: string, b: string, type: string): number {
  if (type === 'integer') {
    const x = Number.parseInt(a, 10);
    const y = Number.parseInt(b, 10);
    if (!Number.isNaN(x) && !Number.isNaN(y)) return x < y ? -1 : x > y ? 1 : 0;
  }
  if (type === 'integer' || type === 'number') {
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return a < b ? -1 : a > b ? 1 : 0;
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (type === 'version') {
    const xa = a.split('.').map((s) => Number.parseInt(s, 10) || 0);
    const ya = b.split('.').map((s) => Number.parseInt(s, 10) || 0);
    for (let i = 0; i < Math.max(xa.length, ya.length); i++) {
      const d = (xa[i] ?? 0) - (ya[i] ?? 0);
      if (d !== 0) return d < 0 ? -1 : 1;
    }
    return 0;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

function evalExpression(e: RuleNode, ctx: RuleContext): boolean {
  const attr = e.attrs['attribute'] ?? '';
  const op = e.attrs['operation'] ?? '';
  const value = e.attrs['value'];
  const actual = ctx.node?.get(attr);
  let type = e.attrs['type'];
  if (type === undefined) {
    // Pacemaker infers a numeric comparison for lt/gt/lte/gte when both look numeric.
    const numeric = value !== undefined && actual !== undefined && /^-?\d+(\.\d+)?$/.test(value) && /^-?\d+(\.\d+)?$/.test(actual);
    type = ['lt', 'gt', 'lte', 'gte'].includes(op) && numeric ? 'number' : 'string';
  }
  switch (op) {
    case 'defined':
      return actual !== undefined;
    case 'not_defined':
      return actual === undefined;
  }
  if (actual === undefined || value === undefined) return op === 'ne' && actual === undefined ? true : false;
  const c = compareValues(actual, value, type);
  switch (op) {
    case 'eq': return type === 'string' ? actual.toLowerCase() === value.toLowerCase() || c === 0 : c === 0;
    case 'ne': return type === 'string' ? actual.toLowerCase() !== value.toLowerCase() : c !== 0;
    case 'lt': return c < 0;
    case 'lte': return c <= 0;
    case 'gt': return c > 0;
    case 'gte': return c >= 0;
  }
  return false;
}

/** Parse an ISO 8601 date ("2014-05-07 00:28:00", "2017-08-21T17:12:54Z") to epoch seconds. */
export function parseIsoDate(text: string): number {
  let t = text.trim().replace(' ', 'T');
  // Ordinal (2005-020) and week (2005-W03-4) dates
  const ord = /^(\d{4})-(\d{3})(T.*)?$/.exec(t);
  if (ord) {
    const base = Date.UTC(Number(ord[1]), 0, 1) / 1000 + (Number(ord[2]) - 1) * 86400;
    return base + (ord[3] ? timeOfDay(ord[3].slice(1)) : 0);
  }
  const wk = /^(\d{4})-?W(\d{2})-?(\d)?(T.*)?$/.exec(t);
  if (wk) {
    const y = Number(wk[1]);
    const jan4 = new Date(Date.UTC(y, 0, 4));
    const mondayWeek1 = Date.UTC(y, 0, 4) / 1000 - ((jan4.getUTCDay() + 6) % 7) * 86400;
    const base = mondayWeek1 + ((Number(wk[2]) - 1) * 7 + (Number(wk[3] ?? '1') - 1)) * 86400;
    return base + (wk[4] ? timeOfDay(wk[4].slice(1)) : 0);
  }
  if (/^\d{4}-\d{2}-\d{2}$/.test(t)) t += 'T00:00:00';
  if (!/[zZ]|[+-]\d{2}:?\d{2}$/.test(t)) t += 'Z';
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? Number.NaN : Math.floor(ms / 1000);
}

function timeOfDay(t: string): number {
  const m = /^(\d{2}):?(\d{2})?:?(\d{2})?/.exec(t);
  if (!m) return 0;
  return Number(m[1]) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

function durationSeconds(d: RuleNode): number {
  const a = d.attrs;
  const n = (k: string) => Number.parseInt(a[k] ?? '0', 10) || 0;
  return n('seconds') + 60 * n('minutes') + 3600 * n('hours') + 86400 * (n('days') + 7 * n('weeks') + 30 * n('months') + 365 * n('years'));
}

function inSpecRange(spec: string | undefined, v: number): boolean {
  if (spec === undefined) return true;
  for (const part of spec.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    const lo = Number(m[1]);
    const hi = m[2] !== undefined ? Number(m[2]) : lo;
    if (v >= lo && v <= hi) return true;
  }
  return false;
}

function evalDateSpec(s: RuleNode, now: number): boolean {
  const d = new Date(now * 1000);
  const a = s.attrs;
  const start = Date.UTC(d.getUTCFullYear(), 0, 1);
  const yday = Math.floor((d.getTime() - start) / 86400000) + 1;
  const wday = d.getUTCDay() === 0 ? 7 : d.getUTCDay();
  return (
    inSpecRange(a['years'], d.getUTCFullYear()) &&
    inSpecRange(a['months'], d.getUTCMonth() + 1) &&
    inSpecRange(a['monthdays'], d.getUTCDate()) &&
    inSpecRange(a['hours'], d.getUTCHours()) &&
    inSpecRange(a['minutes'], d.getUTCMinutes()) &&
    inSpecRange(a['seconds'], d.getUTCSeconds()) &&
    inSpecRange(a['yeardays'], yday) &&
    inSpecRange(a['weekdays'], wday)
  );
}

function evalDateExpression(e: RuleNode, now: number): boolean {
  const op = e.attrs['operation'] ?? 'in_range';
  const start = e.attrs['start'] !== undefined ? parseIsoDate(e.attrs['start']) : undefined;
  let end = e.attrs['end'] !== undefined ? parseIsoDate(e.attrs['end']) : undefined;
  switch (op) {
    case 'gt':
      return start !== undefined && now > start;
    case 'lt':
      return end !== undefined && now < end;
    case 'in_range': {
      if (end === undefined && start !== undefined) {
        const dur = e.children.find((c) => c.tag === 'duration');
        if (dur) end = start + durationSeconds(dur);
      }
      if (start !== undefined && now < start) return false;
      if (end !== undefined && now > end) return false;
      return start !== undefined || end !== undefined;
    }
    case 'date_spec': {
      const spec = e.children.find((c) => c.tag === 'date_spec');
      return spec ? evalDateSpec(spec, now) : false;
    }
  }
  return false;
}

/** Evaluate a <rule>. */
export function evalRule(rule: RuleNode, ctx: RuleContext): boolean {
  const or = (rule.attrs['boolean-op'] ?? 'and').toLowerCase() === 'or';
  const kids = rule.children.filter((c) => c.tag !== 'duration' && c.tag !== 'date_spec');
  if (kids.length === 0) return !or ? true : false;
  for (const c of kids) {
    let r: boolean;
    switch (c.tag) {
      case 'expression': r = evalExpression(c, ctx); break;
      case 'date_expression': r = evalDateExpression(c, ctx.now); break;
      case 'rule': r = evalRule(c, ctx); break;
      case 'rsc_expression':
        r = (c.attrs['class'] === undefined || c.attrs['class'] === ctx.rscClass) &&
          (c.attrs['provider'] === undefined || c.attrs['provider'] === ctx.rscProvider) &&
          (c.attrs['type'] === undefined || c.attrs['type'] === ctx.rscType);
        break;
      case 'op_expression':
        r = ctx.opName !== undefined && c.attrs['name'] === ctx.opName;
        break;
      default: r = false;
    }
    if (or && r) return true;
    if (!or && !r) return false;
  }
  return !or;
}

/**
 * Merge name/value sets in precedence order (higher score first, then
 * document order); sets whose rules fail are skipped; earlier values win.
 */
export function unpackNvSets(sets: NvSet[], ctx: RuleContext, into: Map<string, string> = new Map(), overwrite = false): Map<string, string> {
  const ordered = sets
    .map((s, i) => ({ s, i, score: s.score === undefined ? 0 : s.score.toUpperCase().includes('INFINITY') ? (s.score.startsWith('-') ? -1e6 : 1e6) : Number(s.score) || 0 }))
    .sort((a, b) => b.score - a.score || a.i - b.i);
  for (const { s } of ordered) {
    if (s.rules.length > 0 && !s.rules.every((r) => evalRule(r, ctx))) continue;
    for (const nv of s.nvpairs) {
      if (nv.value === undefined) continue;
      if (overwrite || !into.has(nv.name)) into.set(nv.name, nv.value);
    }
  }
  return into;
}
