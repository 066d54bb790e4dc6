import { describe, expect, it } from 'vitest';
import { addScores, formatScore, INFINITY, parseScore } from '../src/cib/score.js';
import { parseDurationMs } from '../src/cib/duration.js';

describe('scores', () => {
  it.each([
    ['INFINITY', INFINITY], ['+INFINITY', INFINITY], ['inf', INFINITY], ['-inf', -INFINITY],
    ['-INFINITY', -INFINITY], ['100', 100], ['-5', -5], ['2000000', INFINITY],
  ])('parses %s', (text, value) => expect(parseScore(text)).toBe(value));
  it('rejects garbage', () => expect(parseScore('12x')).toBeNaN());
  it('lets -INFINITY win', () => {
    expect(addScores(INFINITY, -INFINITY)).toBe(-INFINITY);
    expect(addScores(-INFINITY, INFINITY)).toBe(-INFINITY);
    expect(formatScore(addScores(999_999, 5))).toBe('INFINITY');
  });
});

describe('durations', () => {
  it.each([
    ['15s', 15_000], ['10', 10_000], ['500ms', 500], ['2m', 120_000], ['1h', 3_600_000], ['PT1M30S', 90_000], ['0', 0], ['P30S', 30_000], ['P1D', 86_400_000], ['P1DT2H', 93_600_000], ['P1M', 30 * 86_400_000], ['PT1.5S', 1500],
  ])('parses %s', (text, ms) => expect(parseDurationMs(text)).toBe(ms));
  it('rejects garbage', () => {
    expect(parseDurationMs('fast')).toBeNaN();
    expect(parseDurationMs('P')).toBeNaN();
    expect(parseDurationMs('PT')).toBeNaN();
    expect(parseDurationMs('P5X')).toBeNaN();
  });
});
