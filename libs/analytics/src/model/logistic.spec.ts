import { describe, expect, it } from '@jest/globals';
import { LogisticRegression, fitLogisticRegression, sigmoid } from './logistic.js';
import { seededRandom } from './random.js';

/** Rows of independent standard normals and labels drawn from the true model. */
function synthetic(n: number, beta: number[], intercept: number, seed: number) {
  const random = seededRandom(seed);
  const X: Float64Array[] = [];
  const y: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = Float64Array.from(beta, () => random.normal());
    let z = intercept;
    for (let j = 0; j < beta.length; j++) z += beta[j] * x[j];
    X.push(x);
    y.push(random.next() < sigmoid(z) ? 1 : 0);
  }
  return { X, y };
}

describe('fitLogisticRegression', () => {
  const beta = [1.5, -2, 0.5, 0];
  const { X, y } = synthetic(20_000, beta, -1, 42);

  it('recovers known coefficients', () => {
    const model = fitLogisticRegression(X, y, { l2: 1e-6 });
    expect(model.info?.converged).toBe(true);
    expect(model.info?.solver).toBe('newton');
    expect(model.intercept).toBeCloseTo(-1, 1);
    beta.forEach((b, j) => expect(Math.abs(model.coefficients[j] - b)).toBeLessThan(0.08));
  });

  it('gives the same solution with Newton and L-BFGS', () => {
    const newton = fitLogisticRegression(X, y, { solver: 'newton' });
    const lbfgs = fitLogisticRegression(X, y, { solver: 'lbfgs' });
    expect(lbfgs.info?.converged).toBe(true);
    expect(lbfgs.intercept).toBeCloseTo(newton.intercept, 6);
    beta.forEach((_, j) => expect(lbfgs.coefficients[j]).toBeCloseTo(newton.coefficients[j], 6));
  });

  it('converges in a handful of Newton steps (an exact Hessian), also over zero-weight rows and a row count not a multiple of four', () => {
    const odd = synthetic(20_003, beta, -1, 7);
    const sampleWeight = Float64Array.from(odd.X, (_, i) => (i % 3 === 0 ? 0 : 1));
    const newton = fitLogisticRegression(odd.X, odd.y, { solver: 'newton', sampleWeight });
    // Measured: 6 steps; a Hessian missing a quarter of the rows' curvature needs 16.
    expect(newton.info?.converged).toBe(true);
    expect(newton.info?.iterations).toBeLessThanOrEqual(8);
    // The same optimum as L-BFGS fitted on only the rows with weight.
    const kept = odd.X.map((x, i) => ({ x, y: odd.y[i] })).filter((_, i) => i % 3 !== 0);
    const lbfgs = fitLogisticRegression(
      kept.map((r) => r.x),
      kept.map((r) => r.y),
      { solver: 'lbfgs' },
    );
    expect(lbfgs.intercept).toBeCloseTo(newton.intercept, 6);
    beta.forEach((_, j) => expect(lbfgs.coefficients[j]).toBeCloseTo(newton.coefficients[j], 6));
  });

  it('uses L-BFGS for wide data (over 128 columns), finishing with Newton when it runs out of iterations', () => {
    const wide = synthetic(
      2_000,
      Array.from({ length: 160 }, (_, j) => (j % 8 === 0 ? 0.6 : 0)),
      -0.5,
      8,
    );
    const newton = fitLogisticRegression(wide.X, wide.y, { solver: 'newton' });
    const auto = fitLogisticRegression(wide.X, wide.y);
    expect(auto.info?.solver).toBe('lbfgs');
    const capped = fitLogisticRegression(wide.X, wide.y, { maxIter: 3 });
    expect(capped.info?.solver).toBe('lbfgs+newton');
    for (const model of [auto, capped]) {
      expect(model.info?.converged).toBe(true);
      expect(model.intercept).toBeCloseTo(newton.intercept, 6);
      newton.coefficients.forEach((c, j) => expect(model.coefficients[j]).toBeCloseTo(c, 6));
    }
  });

  it('is the penalised optimum: zero gradient including the L2 term', () => {
    const l2 = 50;
    const model = fitLogisticRegression(X, y, { l2 });
    const p = model.predictProba(X);
    for (let j = 0; j < beta.length; j++) {
      let g = l2 * model.coefficients[j];
      for (let i = 0; i < X.length; i++) g += (p[i] - y[i]) * X[i][j];
      expect(Math.abs(g) / X.length).toBeLessThan(1e-8);
    }
    // Shrunk towards zero compared with the unpenalised fit.
    const free = fitLogisticRegression(X, y, { l2: 0 });
    expect(Math.abs(model.coefficients[0])).toBeLessThan(Math.abs(free.coefficients[0]));
  });

  it('stays finite on perfectly separable data', () => {
    const Xs = [-2, -1, -0.5, 0.5, 1, 2].map((v) => [v]);
    const model = fitLogisticRegression(Xs, [0, 0, 0, 1, 1, 1], { l2: 0.1 });
    expect(Number.isFinite(model.coefficients[0])).toBe(true);
    expect(model.predictOne([2])).toBeGreaterThan(0.9);
  });

  it('balanced class weights lift a rare class to an average prediction of one half', () => {
    const rare = synthetic(5_000, [1], -3.5, 3);
    const model = fitLogisticRegression(rare.X, rare.y, { classWeight: 'balanced', l2: 0 });
    const p = model.predictProba(rare.X);
    const positives = rare.y.reduce((a, b) => a + b, 0);
    let weighted = 0;
    rare.y.forEach(
      (yi, i) => (weighted += (yi ? 0.5 / positives : 0.5 / (rare.y.length - positives)) * p[i]),
    );
    expect(weighted).toBeCloseTo(0.5, 6);
  });

  it('contributions plus the intercept are the logit', () => {
    const model = fitLogisticRegression(X, y);
    const x = X[17];
    const sources = ['a', 'b', 'a', 'c'];
    const reasons = model.contributions(x, { sources, values: { a: 3, b: 'x' } });
    expect(reasons.map((r) => r.feature).sort()).toEqual(['a', 'b', 'c']);
    const sum = reasons.reduce((s, r) => s + r.contribution, 0);
    expect(sum + model.intercept).toBeCloseTo(model.logit(x), 12);
    expect(sigmoid(sum + model.intercept)).toBeCloseTo(model.predictOne(x), 12);
    const a = reasons.find((r) => r.feature === 'a');
    expect(a?.contribution).toBeCloseTo(model.coefficients[0] * x[0] + model.coefficients[2] * x[2], 12);
    expect(a?.value).toBe(3);
    expect(reasons.find((r) => r.feature === 'c')?.value).toBeNull();
    for (const r of reasons) expect(r.direction).toBe(r.contribution > 0 ? 'raises' : 'lowers');
    // Sorted by size of the push.
    const sizes = reasons.map((r) => Math.abs(r.contribution));
    expect(sizes).toEqual([...sizes].sort((p, q) => q - p));
  });

  it('is deterministic and survives JSON', () => {
    const first = fitLogisticRegression(X, y);
    const second = fitLogisticRegression(X, y);
    expect(second.toJSON()).toEqual(first.toJSON());
    const restored = LogisticRegression.fromJSON(JSON.parse(JSON.stringify(first)));
    expect(Array.from(restored.predictProba(X.slice(0, 50)))).toEqual(
      Array.from(first.predictProba(X.slice(0, 50))),
    );
  });

  it('rejects data that cannot define a model', () => {
    expect(() => fitLogisticRegression([[1], [2]], [1, 1])).toThrow(/both classes/);
    expect(() => fitLogisticRegression([], [])).toThrow(RangeError);
    expect(() => fitLogisticRegression([[1], [Number.NaN]], [0, 1])).toThrow(RangeError);
    expect(() => fitLogisticRegression([[1], [2, 3]], [0, 1])).toThrow(RangeError);
  });

  it('fits an intercept-only model when there are no columns', () => {
    const model = fitLogisticRegression([[], [], [], []], [1, 0, 0, 0]);
    expect(model.predictOne([])).toBeCloseTo(0.25, 10);
  });
});
