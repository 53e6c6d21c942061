/**
 * How well churn scores rank and how honest they are as probabilities, computed on held-out
 * history. Labels are 1/true for "churned within 90 days", 0/false otherwise.
 */

export type Label = boolean | number;

export interface CalibrationBin {
  /** Bin bounds on the predicted probability: [lower, upper), the last bin includes 1. */
  lower: number;
  upper: number;
  /** Mean predicted probability of the rows in the bin. */
  predicted: number;
  /** Share of the rows in the bin that were positive. */
  observed: number;
  count: number;
}

function toBinary(labels: readonly Label[]): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === true || label === 1) out[i] = 1;
    else if (label !== false && label !== 0) throw new RangeError(`Label ${i} is ${String(label)}, not 0/1`);
  }
  return out;
}

function checkScores(scores: ArrayLike<number>, labels: readonly Label[]): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  }
  for (let i = 0; i < scores.length; i++) {
    if (!Number.isFinite(scores[i])) throw new RangeError(`Score ${i} is ${scores[i]}`);
  }
}

/**
 * ROC AUC as the Mann-Whitney statistic: the probability that a random positive scores above a
 * random negative, ties counting one half (mid-ranks). Null when either class is absent.
 */
export function rocAuc(scores: ArrayLike<number>, labels: readonly Label[]): number | null {
  checkScores(scores, labels);
  const y = toBinary(labels);
  const n = y.length;
  let positives = 0;
  for (let i = 0; i < n; i++) positives += y[i];
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return null;

  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a] - scores[b]);
  // Sum of the (1-based, tie-averaged) ranks of the positives.
  let rankSum = 0;
  for (let start = 0; start < n;) {
    let end = start + 1;
    while (end < n && scores[order[end]] === scores[order[start]]) end++;
    const midRank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) if (y[order[k]] === 1) rankSum += midRank;
    start = end;
  }
  return (rankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * Reliability table: predictions cut into `bins` equal-width bins over [0, 1]; for each non-empty
 * bin, the mean prediction against the observed positive rate.
 */
export function calibration(
  scores: ArrayLike<number>,
  labels: readonly Label[],
  bins = 10,
): CalibrationBin[] {
  checkScores(scores, labels);
  if (!Number.isInteger(bins) || bins < 1)
    throw new RangeError(`bins must be a positive integer, got ${bins}`);
  const y = toBinary(labels);
  const sums = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const counts = new Float64Array(bins);
  for (let i = 0; i < y.length; i++) {
    const p = Math.min(1, Math.max(0, scores[i]));
    const bin = Math.min(bins - 1, Math.floor(p * bins));
    sums[bin] += scores[i];
    hits[bin] += y[i];
    counts[bin]++;
  }
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    if (counts[b] === 0) continue;
    out.push({
      lower: b / bins,
      upper: (b + 1) / bins,
      predicted: sums[b] / counts[b],
      observed: hits[b] / counts[b],
      count: counts[b],
    });
  }
  return out;
}

function checkNonEmpty(labels: readonly Label[]): void {
  if (labels.length === 0) throw new RangeError('No rows to score');
}

/** Mean squared difference between predicted probability and outcome (0 is perfect, 0.25 is a coin). */
export function brierScore(scores: ArrayLike<number>, labels: readonly Label[]): number {
  checkScores(scores, labels);
  checkNonEmpty(labels);
  const y = toBinary(labels);
  let sum = 0;
  for (let i = 0; i < y.length; i++) sum += (scores[i] - y[i]) ** 2;
  return sum / y.length;
}

/** Mean negative log-likelihood, natural log; probabilities clipped to [eps, 1 - eps]. */
export function logLoss(scores: ArrayLike<number>, labels: readonly Label[], eps = 1e-15): number {
  checkScores(scores, labels);
  checkNonEmpty(labels);
  const y = toBinary(labels);
  let sum = 0;
  for (let i = 0; i < y.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, scores[i]));
    sum -= y[i] === 1 ? Math.log(p) : Math.log1p(-p);
  }
  return sum / y.length;
}
