import { describe, expect, it } from '@jest/globals';
import { Random } from './random.js';

const draws = (r: Random, n = 8): number[] => Array.from({ length: n }, () => r.next());

describe('Random', () => {
  it('repeats its stream for the same seeds', () => {
    expect(draws(new Random(42, 7, 1))).toEqual(draws(new Random(42, 7, 1)));
  });

  it('gives unrelated streams when the seeds only sum to the same value', () => {
    // (seed 1, account 5) and (seed 2, account 4); account i's events and account i + 1's plan.
    expect(draws(new Random(1, 5, 1))).not.toEqual(draws(new Random(2, 4, 1)));
    expect(draws(new Random(42, 3, 2))).not.toEqual(draws(new Random(42, 4, 1)));
    expect(draws(new Random(1, 2))).not.toEqual(draws(new Random(2, 1)));
  });

  it('draws uniformly in [0, 1)', () => {
    const r = new Random(3);
    const values = draws(r, 20_000);
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
  });
});
