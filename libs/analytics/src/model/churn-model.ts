/**
 * Churn risk (DESIGN.md section 3): the probability that an account churns within the next 90
 * days, with the features that push it up.
 *
 * Training takes point-in-time snapshots of history (feature rows as of past dates, each labelled
 * with whether the account churned within 90 days after that date). When history holds enough
 * churned and retained snapshots, a logistic regression is evaluated honestly by time (trained on
 * the earlier snapshots, scored on the latest one it never saw) and then refitted on all of them.
 * Otherwise the documented heuristic (./heuristic.ts) is used and the report says so.
 *
 * Health is derived from risk and nothing else: health = round(100 * (1 - risk)).
 */

import {
  DesignEncoder,
  type DesignEncoderJson,
  type FeatureRow,
  type FeatureSpec,
  inferSpec,
  toDisplayValue,
  toFiniteNumber,
} from './features.js';
import { HEURISTIC_FEATURES, heuristicScore } from './heuristic.js';
import {
  type LogisticFitOptions,
  type LogisticJson,
  LogisticRegression,
  type Reason,
  fitLogisticRegression,
} from './logistic.js';
import { type CalibrationBin, brierScore, calibration, logLoss, rocAuc } from './metrics.js';

export type ChurnMethod = 'logistic_regression' | 'heuristic';

export interface ChurnTrainingRow {
  accountId: string;
  features: FeatureRow;
  /** Churned within 90 days after the snapshot date; null when not known yet (excluded). */
  churnedWithin90d: boolean | null;
}

export interface ChurnSnapshot {
  asOf: Date;
  /** Accounts alive at `asOf` (an account that had already churned does not belong in it). */
  rows: readonly ChurnTrainingRow[];
}

export interface ChurnScoringRow {
  accountId: string;
  features: FeatureRow;
}

export interface ChurnScore {
  accountId: string;
  /** Probability of churning within 90 days, 0-1. */
  risk: number;
  /** round(100 * (1 - risk)): 100 is certain to stay, 0 certain to churn. */
  health: number;
  /** The features that raise the risk most (log-odds contributions), largest first. */
  reasons: Reason[];
}

/** Shaped to fit `ModelReport` in @retain/contracts, plus a few details. */
export interface ChurnModelReport {
  method: ChurnMethod;
  /** ROC AUC on the held-out (latest labelled) snapshot; for the heuristic, on all labelled history. */
  auc: number | null;
  brier: number | null;
  logLoss: number | null;
  calibration: CalibrationBin[];
  /** Rows the evaluated model was trained on (the earlier snapshots); 0 for the heuristic. */
  trainRows: number;
  /** Rows it was evaluated on. */
  testRows: number;
  /** Churned rows across all labelled snapshots. */
  positives: number;
  /** Labelled rows across all snapshots (what the scoring model was fitted on). */
  labelledRows: number;
  testPositives: number;
  /** Labelled snapshots used, and the date of the held-out one. */
  snapshots: number;
  testAsOf: string | null;
  /** Source features the scoring model uses. */
  features: string[];
  trainedAt: string;
  /** Why the heuristic was used, or why there is no held-out evaluation; null otherwise. */
  note: string | null;
}

export interface TrainChurnModelOptions {
  /** Feature spec; inferred from the training rows when absent. */
  spec?: FeatureSpec;
  /** Columns of `features` that are not features (when the spec is inferred). */
  exclude?: readonly string[];
  /** Top-K for inferred categorical features. Default 10. */
  topK?: number;
  /** L2 penalty (standard-normal prior on standardized coefficients at 1). Default 1. */
  l2?: number;
  maxIter?: number;
  tol?: number;
  /** Default none, so risk stays a probability on the base rate's scale. */
  classWeight?: LogisticFitOptions['classWeight'];
  /** Fewer churned (or retained) labelled rows than this means the heuristic. Default 20. */
  minPositives?: number;
  /** Calibration bins. Default 10. */
  calibrationBins?: number;
  /** Reasons per account. Default 5. */
  maxReasons?: number;
  /** Smallest log-odds push reported as a reason. Default 0.01. */
  minContribution?: number;
  /** The training time recorded in the report. Default now. */
  now?: Date;
}

export interface ChurnModelJson {
  format: 'retain.churn-model';
  version: 1;
  method: ChurnMethod;
  report: ChurnModelReport;
  maxReasons: number;
  minContribution: number;
  encoder: DesignEncoderJson | null;
  logistic: LogisticJson | null;
}

export interface ChurnModel {
  readonly method: ChurnMethod;
  readonly report: ChurnModelReport;
  score(rows: readonly ChurnScoringRow[]): ChurnScore[];
  toJSON(): ChurnModelJson;
}

/** The one definition of health. */
export function healthFromRisk(risk: number): number {
  return Math.round(100 * (1 - risk));
}

function raisingReasons(reasons: readonly Reason[], max: number, min: number): Reason[] {
  return reasons.filter((r) => r.contribution >= min && r.contribution > 0).slice(0, max);
}

class LogisticChurnModel implements ChurnModel {
  readonly method = 'logistic_regression';
  /** Source features, and for each design column the index of its source (for summing contributions). */
  private readonly features: string[];
  private readonly sourceIndex: Int32Array;

  constructor(
    readonly report: ChurnModelReport,
    private readonly encoder: DesignEncoder,
    private readonly logistic: LogisticRegression,
    private readonly maxReasons: number,
    private readonly minContribution: number,
  ) {
    this.features = encoder.features;
    const index = new Map(this.features.map((f, i) => [f, i]));
    this.sourceIndex = Int32Array.from(encoder.sources, (source) => index.get(source) ?? 0);
  }

  /** Same numbers as `LogisticRegression.contributions`, without building a reason for every feature. */
  score(rows: readonly ChurnScoringRow[]): ChurnScore[] {
    const { coefficients } = this.logistic;
    const totals = new Float64Array(this.features.length);
    return rows.map((row) => {
      const x = this.encoder.encodeRow(row.features);
      const risk = this.logistic.predictOne(x);
      totals.fill(0);
      for (let j = 0; j < x.length; j++) totals[this.sourceIndex[j]] += coefficients[j] * x[j];
      const raising: number[] = [];
      for (let f = 0; f < totals.length; f++) {
        if (totals[f] > 0 && totals[f] >= this.minContribution) raising.push(f);
      }
      raising.sort((a, b) => totals[b] - totals[a] || (this.features[a] < this.features[b] ? -1 : 1));
      const reasons: Reason[] = raising.slice(0, this.maxReasons).map((f) => ({
        feature: this.features[f],
        contribution: totals[f],
        value: toDisplayValue(row.features[this.features[f]]),
        direction: 'raises',
      }));
      return { accountId: row.accountId, risk, health: healthFromRisk(risk), reasons };
    });
  }

  toJSON(): ChurnModelJson {
    return {
      format: 'retain.churn-model',
      version: 1,
      method: this.method,
      report: this.report,
      maxReasons: this.maxReasons,
      minContribution: this.minContribution,
      encoder: this.encoder.toJSON(),
      logistic: this.logistic.toJSON(),
    };
  }
}

class HeuristicChurnModel implements ChurnModel {
  readonly method = 'heuristic';

  constructor(
    readonly report: ChurnModelReport,
    private readonly maxReasons: number,
    private readonly minContribution: number,
  ) {}

  score(rows: readonly ChurnScoringRow[]): ChurnScore[] {
    return rows.map((row) => {
      const { risk, reasons } = heuristicScore(row.features);
      return {
        accountId: row.accountId,
        risk,
        health: healthFromRisk(risk),
        reasons: raisingReasons(reasons, this.maxReasons, this.minContribution),
      };
    });
  }

  toJSON(): ChurnModelJson {
    return {
      format: 'retain.churn-model',
      version: 1,
      method: this.method,
      report: this.report,
      maxReasons: this.maxReasons,
      minContribution: this.minContribution,
      encoder: null,
      logistic: null,
    };
  }
}

interface LabelledSnapshot {
  asOf: Date;
  rows: { accountId: string; features: FeatureRow; churned: boolean }[];
}

/** Labelled rows only, snapshots with the same date merged, oldest first. */
function labelledSnapshots(snapshots: readonly ChurnSnapshot[]): LabelledSnapshot[] {
  const byTime = new Map<number, LabelledSnapshot>();
  for (const snapshot of snapshots) {
    const time = snapshot.asOf.getTime();
    if (!Number.isFinite(time)) throw new RangeError('A snapshot has an invalid asOf date');
    let target = byTime.get(time);
    for (const row of snapshot.rows) {
      if (row.churnedWithin90d === null || row.churnedWithin90d === undefined) continue;
      if (!target) {
        target = { asOf: new Date(time), rows: [] };
        byTime.set(time, target);
      }
      target.rows.push({ accountId: row.accountId, features: row.features, churned: row.churnedWithin90d });
    }
  }
  return [...byTime.entries()].sort((a, b) => a[0] - b[0]).map(([, s]) => s);
}

interface Evaluation {
  auc: number | null;
  brier: number | null;
  logLoss: number | null;
  calibration: CalibrationBin[];
}

function evaluate(scores: ArrayLike<number>, labels: readonly boolean[], bins: number): Evaluation {
  if (labels.length === 0) return { auc: null, brier: null, logLoss: null, calibration: [] };
  return {
    auc: rocAuc(scores, labels),
    brier: brierScore(scores, labels),
    logLoss: logLoss(scores, labels),
    calibration: calibration(scores, labels, bins),
  };
}

function fitOn(
  rows: readonly { features: FeatureRow; churned: boolean }[],
  options: TrainChurnModelOptions,
): { encoder: DesignEncoder; logistic: LogisticRegression } {
  const features = rows.map((r) => r.features);
  const spec = options.spec ?? inferSpec(features, { exclude: options.exclude, topK: options.topK });
  const encoder = DesignEncoder.fromTraining(features, spec);
  const logistic = fitLogisticRegression(
    encoder.encode(features),
    rows.map((r) => r.churned),
    { l2: options.l2, maxIter: options.maxIter, tol: options.tol, classWeight: options.classWeight },
  );
  return { encoder, logistic };
}

const plural = (n: number, word: string): string =>
  `${n.toLocaleString('en-US')} ${word}${n === 1 ? '' : 's'}`;

/**
 * Trains the churn model from labelled snapshots (see the file comment): a logistic regression
 * when there are at least `minPositives` churned and retained labelled rows, else the heuristic.
 */
export function trainChurnModel(
  snapshots: readonly ChurnSnapshot[],
  options: TrainChurnModelOptions = {},
): ChurnModel {
  const minPositives = options.minPositives ?? 20;
  const bins = options.calibrationBins ?? 10;
  const maxReasons = options.maxReasons ?? 5;
  const minContribution = options.minContribution ?? 0.01;
  const trainedAt = (options.now ?? new Date()).toISOString();

  const labelled = labelledSnapshots(snapshots);
  const all = labelled.flatMap((s) => s.rows);
  const positives = all.filter((r) => r.churned).length;
  const negatives = all.length - positives;

  if (Math.min(positives, negatives) < minPositives) {
    // Nothing was learned from history, so all of it is held out for the heuristic.
    const scores = all.map((r) => heuristicScore(r.features).risk);
    const present = HEURISTIC_FEATURES.filter((f) =>
      all.some((r) => typeof r.features[f] !== 'boolean' && toFiniteNumber(r.features[f]) !== null),
    );
    const report: ChurnModelReport = {
      method: 'heuristic',
      ...evaluate(
        scores,
        all.map((r) => r.churned),
        bins,
      ),
      trainRows: 0,
      testRows: all.length,
      positives,
      labelledRows: all.length,
      testPositives: positives,
      snapshots: labelled.length,
      testAsOf: null,
      features: present,
      trainedAt,
      note:
        `Heuristic: labelled history has ${plural(positives, 'churned')} and ${plural(negatives, 'retained')} ` +
        `account snapshot${all.length === 1 ? '' : 's'}; learning needs at least ${minPositives} of each. ` +
        (present.length > 0
          ? `Risk comes from a fixed formula over ${present.join(', ')}.`
          : 'None of the heuristic features is present, so every account gets the base risk.'),
    };
    return new HeuristicChurnModel(report, maxReasons, minContribution);
  }

  // Held-out by time: train on the earlier snapshots, evaluate on the latest.
  let evaluation: Evaluation = { auc: null, brier: null, logLoss: null, calibration: [] };
  let trainRows = 0;
  let testRows = 0;
  let testPositives = 0;
  let testAsOf: string | null = null;
  let note: string | null = null;
  if (labelled.length < 2) {
    note = 'Only one labelled snapshot: no earlier history to train on, so no held-out evaluation.';
  } else {
    const test = labelled[labelled.length - 1];
    const train = labelled.slice(0, -1).flatMap((s) => s.rows);
    const trainPositives = train.filter((r) => r.churned).length;
    testPositives = test.rows.filter((r) => r.churned).length;
    testAsOf = test.asOf.toISOString();
    if (trainPositives === 0 || trainPositives === train.length) {
      note = `The snapshots before ${testAsOf} hold only one class: no held-out evaluation.`;
    } else {
      const { encoder, logistic } = fitOn(train, options);
      const scores = logistic.predictProba(encoder.encode(test.rows.map((r) => r.features)));
      evaluation = evaluate(
        scores,
        test.rows.map((r) => r.churned),
        bins,
      );
      trainRows = train.length;
      testRows = test.rows.length;
      if (evaluation.auc === null) {
        note = `The held-out snapshot (${testAsOf}) holds only one class, so its AUC is undefined.`;
      }
    }
  }

  const { encoder, logistic } = fitOn(all, options);
  const report: ChurnModelReport = {
    method: 'logistic_regression',
    ...evaluation,
    trainRows,
    testRows,
    positives,
    labelledRows: all.length,
    testPositives,
    snapshots: labelled.length,
    testAsOf,
    features: encoder.features,
    trainedAt,
    note,
  };
  return new LogisticChurnModel(report, encoder, logistic, maxReasons, minContribution);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Restores a model from `model.toJSON()` (an object or its JSON text). */
export function loadChurnModel(json: unknown): ChurnModel {
  const data: unknown = typeof json === 'string' ? JSON.parse(json) : json;
  if (!isRecord(data) || data.format !== 'retain.churn-model' || data.version !== 1) {
    throw new Error('Not a churn model (retain.churn-model version 1)');
  }
  const stored = data as unknown as ChurnModelJson;
  if (!isRecord(stored.report)) throw new Error('Churn model has no report');
  const maxReasons = Number.isInteger(stored.maxReasons) ? stored.maxReasons : 5;
  const minContribution = Number.isFinite(stored.minContribution) ? stored.minContribution : 0.01;
  if (stored.method === 'heuristic')
    return new HeuristicChurnModel(stored.report, maxReasons, minContribution);
  if (stored.method !== 'logistic_regression' || !isRecord(stored.encoder) || !isRecord(stored.logistic)) {
    throw new Error('Churn model is missing its encoder or coefficients');
  }
  const encoder = DesignEncoder.fromJSON(stored.encoder);
  const logistic = LogisticRegression.fromJSON(stored.logistic);
  if (logistic.coefficients.length !== encoder.columns.length) {
    throw new Error('Churn model coefficients do not match its encoder');
  }
  return new LogisticChurnModel(stored.report, encoder, logistic, maxReasons, minContribution);
}
