import { describe, expect, it } from '@jest/globals';
import { brierScore, calibration, logLoss, rocAuc } from './metrics.js';
import { seededRandom } from './random.js';

/** AUC by definition: over all positive-negative pairs, 1 when the positive scores higher, 1/2 on a tie. */
function bruteForceAuc(scores: number[], labels: boolean[]): number {
  let wins = 0;
  let pairs = 0;
  for (let i = 0; i < scores.length; i++) {
    if (!labels[i]) continue;
    for (let j = 0; j < scores.length; j++) {
      if (labels[j]) continue;
      pairs++;
      if (scores[i] > scores[j]) wins += 1;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  return wins / pairs;
}

describe('rocAuc', () => {
  it('matches the brute-force pair count, ties included', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 20; trial++) {
      const n = 5 + random.int(300);
      // Few distinct values, so ties within and across classes are common.
      const levels = 1 + random.int(8);
      const labels = Array.from({ length: n }, () => random.next() < 0.3);
      labels[0] = true;
      labels[1] = false;
      const scores = labels.map((y) => Math.round((random.next() + (y ? 0.3 : 0)) * levels) / levels);
      expect(rocAuc(scores, labels)).toBeCloseTo(bruteForceAuc(scores, labels), 12);
    }
  });

  it('is 1 for a perfect ranking, 0 for a reversed one, 1/2 when every score ties', () => {
    expect(rocAuc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])).toBe(1);
    expect(rocAuc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1])).toBe(0);
    expect(rocAuc([0.5, 0.5, 0.5], [true, false, true])).toBe(0.5);
  });

  it('is null when a class is missing and rejects bad input', () => {
    expect(rocAuc([0.1, 0.2], [0, 0])).toBeNull();
    expect(rocAuc([], [])).toBeNull();
    expect(() => rocAuc([0.1, Number.NaN], [0, 1])).toThrow(RangeError);
    expect(() => rocAuc([0.1], [0, 1])).toThrow(RangeError);
    expect(() => rocAuc([0.1, 0.2], [0, 2])).toThrow(RangeError);
  });
});

describe('calibration', () => {
  it('reports mean prediction, observed rate and count per non-empty bin', () => {
    const bins = calibration([0.05, 0.15, 0.12, 0.95, 1], [0, 1, 0, 1, 1], 10);
    expect(bins).toEqual([
      { lower: 0, upper: 0.1, predicted: 0.05, observed: 0, count: 1 },
      { lower: 0.1, upper: 0.2, predicted: expect.closeTo(0.135, 12), observed: 0.5, count: 2 },
      { lower: 0.9, upper: 1, predicted: expect.closeTo(0.975, 12), observed: 1, count: 2 },
    ]);
    expect(calibration([0.3, 0.7], [0, 1], 1)).toEqual([
      { lower: 0, upper: 1, predicted: 0.5, observed: 0.5, count: 2 },
    ]);
  });
});

describe('brierScore and logLoss', () => {
  it('compute the textbook values', () => {
    expect(brierScore([0.8, 0.3], [1, 0])).toBeCloseTo((0.04 + 0.09) / 2, 15);
    expect(logLoss([0.8, 0.3], [1, 0])).toBeCloseTo(-(Math.log(0.8) + Math.log(0.7)) / 2, 15);
    // Certain and wrong is large but finite.
    expect(logLoss([0], [1])).toBeCloseTo(-Math.log(1e-15), 6);
    expect(() => brierScore([], [])).toThrow(RangeError);
  });
});
