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
  // As Pacemaker reads them: Y, W, D (and M = months) before the T, H, M
  // (minutes), S after it; H and S are taken before the T too ("P30S").
  const m = /^P((?:\d+(?:\.\d+)?[YMWDHS])*)(?:T((?:\d+(?:\.\d+)?[HMS])+))?$/i.exec(t);
  if (!m || (m[1] === '' && m[2] === undefined)) return Number.NaN;
  const DAY = 86_400_000;
  const dateUnits: Record<string, number> = { Y: 365 * DAY, M: 30 * DAY, W: 7 * DAY, D: DAY, H: 3_600_000, S: 1000 };
  const timeUnits: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000 };
  let ms = 0;
  for (const [part, units] of [[m[1] ?? '', dateUnits], [m[2] ?? '', timeUnits]] as const) {
    for (const c of part.matchAll(/(\d+(?:\.\d+)?)([A-Z])/gi)) ms += Number.parseFloat(c[1]!) * units[c[2]!.toUpperCase()]!;
  }
  return Math.round(ms);
}
