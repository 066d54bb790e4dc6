/**
 * Pacemaker scores: integers clamped to ±INFINITY (1,000,000), with
 * INFINITY + -INFINITY = -INFINITY (a ban always wins).
 */
export const INFINITY = 1_000_000;

/** Parse a score as Pacemaker does ("INFINITY", "+INFINITY", "-INFINITY", "inf", "123"). */
export function parseScore(text: string | undefined, fallback = 0): number {
  if (text === undefined) return fallback;
  const t = text.trim();
  if (t === '') return fallback;
  switch (t.toLowerCase()) {
    case 'infinity':
    case '+infinity':
    case 'inf':
    case '+inf':
    case 'mandatory':
      return INFINITY;
    case '-infinity':
    case '-inf':
      return -INFINITY;
    case 'red':
    case 'yellow':
    case 'green':
      return fallback; // node-health strategies name these; resolved elsewhere
  }
  if (!/^[+-]?\d+$/.test(t)) return Number.NaN;
  return clampScore(Number.parseInt(t, 10));
}

/** True when text is a valid score. */
export function isScore(text: string): boolean {
  return !Number.isNaN(parseScore(text));
}

export function clampScore(n: number): number {
  if (n >= INFINITY) return INFINITY;
  if (n <= -INFINITY) return -INFINITY;
  return n;
}

/** Add two scores with Pacemaker's rule: -INFINITY wins over +INFINITY. */
export function addScores(a: number, b: number): number {
  if (a <= -INFINITY || b <= -INFINITY) return -INFINITY;
  if (a >= INFINITY || b >= INFINITY) return INFINITY;
  return clampScore(a + b);
}

/** Print a score the way Pacemaker's tools do. */
export function formatScore(n: number): string {
  if (n >= INFINITY) return 'INFINITY';
  if (n <= -INFINITY) return '-INFINITY';
  return String(n);
}
