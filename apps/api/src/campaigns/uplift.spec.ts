import { describe, expect, it } from '@jest/globals';
import { differenceOfProportions, wilsonInterval } from './uplift.js';

describe('uplift statistics', () => {
  // Newcombe (1998), Statistics in Medicine 17:873-890, table II: method 10 for each example.
  it.each([
    [56, 70, 48, 80, 0.0524, 0.3339],
    [9, 10, 3, 10, 0.1705, 0.809],
    [6, 7, 2, 7, 0.0582, 0.8062],
    [5, 56, 0, 29, -0.0381, 0.1926],
    [0, 10, 0, 20, -0.1611, 0.2775],
    [10, 10, 0, 20, 0.6791, 1],
  ])('matches Newcombe’s published interval for %i/%i - %i/%i', (x1, n1, x2, n2, low, high) => {
    const result = differenceOfProportions(x1, n1, x2, n2)!;
    expect(result.difference).toBeCloseTo(x1 / n1 - x2 / n2, 12);
    expect(result.ci.low).toBeCloseTo(low, 3);
    expect(result.ci.high).toBeCloseTo(high, 3);
  });

  it('gives Wilson’s interval for one proportion', () => {
    // 81 of 263 (Wilson 1927's style of example): 0.2553 to 0.3662.
    const { low, high } = wilsonInterval(81, 263);
    expect(low).toBeCloseTo(0.2553, 3);
    expect(high).toBeCloseTo(0.3662, 3);
  });

  it('has no interval when a group is empty', () => {
    expect(differenceOfProportions(3, 10, 0, 0)).toBeNull();
    expect(differenceOfProportions(0, 0, 3, 10)).toBeNull();
  });
});
