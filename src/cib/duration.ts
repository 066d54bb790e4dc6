/**
 * Pacemaker time values: "15s", "1m", "2h", "500ms", "10" (seconds when no
 * unit is given), and ISO 8601 durations ("PT1M30S").
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  msec: 1,
  us: 0.001,
  usec: 0.001,
  s: 1000,
  sec: 1000,
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
};

/** Milliseconds, or NaN when the text is not a time value. */
export function parseDurationMs(text: string | undefined, fallbackMs = 0): number {
  if (text === undefined) return fallbackMs;
  const t = text.trim();
  if (t === '') return fallbackMs;
  if (/^P/i.test(t)) return parseIso8601Duration(t);
  const m = /^(\d+(?:\.\d+)?)\s*([a-zA-Z]*)$/.exec(t);
  if (!m) return Number.NaN;
  const unit = (m[2] ?? '').toLowerCase();
  const factor = unit === '' ? 1000 : UNIT_MS[unit];
  if (factor === undefined) return Number.NaN;
  return Math.round(Number.parseFloat(m[1]!) * factor);
}

function parseIso8601Duration(t: string): number {
  const m = /^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i.exec(t);
  if (!m) return Number.NaN;
  const n = (i: number) => (m[i] ? Number.parseFloat(m[i]!) : 0);
  const days = n(1) * 365 + n(2) * 30 + n(3) * 7 + n(4);
  return Math.round(((days * 24 + n(5)) * 60 + n(6)) * 60_000 + n(7) * 1000);
}
