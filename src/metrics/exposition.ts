/**
 * The Prometheus text exposition format (version 0.0.4), written by hand:
 * a family is a name, a type, a help line and samples; the writer escapes
 * label values and help text as the format says, prints +Inf/-Inf/NaN in
 * Prometheus' spelling, and keeps samples in the order given (families sort
 * nothing, so output is stable for a given input). No client library: the
 * format is small and a pure function of data is easy to test.
 */

export type MetricType = 'gauge' | 'counter' | 'histogram' | 'untyped';

export interface Sample {
  /** Suffix after the family name (histograms: _bucket, _sum, _count). */
  suffix?: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** The families as exposition text. Throws on a bad metric or label name (a bug, not input). */
export function renderFamilies(families: Family[]): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const f of families) {
    if (!NAME_RE.test(f.name)) throw new Error(`bad metric name '${f.name}'`);
    if (seen.has(f.name)) throw new Error(`metric family '${f.name}' given twice`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    const lines = new Set<string>();
    for (const s of f.samples) {
      const labels = Object.entries(s.labels);
      for (const [k] of labels) if (!LABEL_RE.test(k)) throw new Error(`bad label name '${k}' on ${f.name}`);
      const l = labels.length ? `{${labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
      const key = `${f.name}${s.suffix ?? ''}${l}`;
      // The same series twice is invalid exposition; the first one wins.
      if (lines.has(key)) continue;
      lines.add(key);
      out.push(`${key} ${formatValue(s.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

export function gauge(name: string, help: string, samples: Sample[] = []): Family {
  return { name, type: 'gauge', help, samples };
}

export function counter(name: string, help: string, samples: Sample[] = []): Family {
  return { name, type: 'counter', help, samples };
}

export function sample(value: number, labels: Record<string, string> = {}): Sample {
  return { labels, value };
}

/**
 * A histogram's state: cumulative counts per upper bound, sum and count, as
 * a Prometheus client keeps them. Observing is the shell's job; rendering is
 * pure.
 */
export class Histogram {
  readonly counts: number[];
  sum = 0;
  count = 0;
  constructor(readonly bounds: number[]) {
    this.counts = bounds.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.count++;
    for (let i = 0; i < this.bounds.length; i++) if (v <= this.bounds[i]!) this.counts[i]!++;
  }
  samples(labels: Record<string, string> = {}): Sample[] {
    return [
      ...this.bounds.map((b, i) => ({ suffix: '_bucket', labels: { ...labels, le: formatValue(b) }, value: this.counts[i]! })),
      { suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: this.count },
      { suffix: '_sum', labels, value: this.sum },
      { suffix: '_count', labels, value: this.count },
    ];
  }
}

export function histogram(name: string, help: string, samples: Sample[]): Family {
  return { name, type: 'histogram', help, samples };
}
