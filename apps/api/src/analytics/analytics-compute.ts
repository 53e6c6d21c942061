import {
  DEFAULT_CATALOG,
  INPUT_SCHEMA_SQL,
  flattenTraits,
  loadSqlFiles,
  runAnalyticsSql,
  setBusinessHours,
  setCatalog,
  setParams,
  loadChurnModel,
  trainChurnModel,
  type ChurnModel,
  type ChurnSnapshot,
  type ChurnTrainingRow,
} from '@retain/analytics';
import type { ModelReport, Thresholds } from '@retain/contracts';
import type { AppConfig } from '../config/config.js';
import type { AnalyticsLake } from './analytics-lake.js';
import type {
  AccountScoreRow,
  ComputedResults,
  HistoryPoint,
  SupportMetricRow,
} from './analytics-results.repository.js';

const DAY = 86_400_000;
const HORIZON_DAYS = 90;
/** Snapshots of the past that train the churn model: every 30 days, up to this many. */
const MAX_SNAPSHOTS = 6;
/** A snapshot needs this much history before it, or its features say nothing. */
const MIN_HISTORY_DAYS = 30;

/**
 * The support metrics (ASA and CSAT per channel, segment and week) feed nothing else in the run, so
 * DuckDB computes them while PostgreSQL writes the scores (see `computeScores`).
 */
const SUPPORT_METRICS_SQL = '03_support_metrics';

/** Columns of the features table that identify or label, not describe, an account. */
const NOT_FEATURES = ['account_id', 'external_id', 'churned', 'as_of'];

type Row = Record<string, unknown>;
const sqlTime = (d: Date) => `TIMESTAMPTZ '${d.toISOString()}'`;
const num = (v: unknown): number | null => (v === null || v === undefined || v === '' ? null : Number(v));

/**
 * Snapshot dates for training: 90 days before as_of and every 30 days further back, as far as
 * the history reaches. When history is shorter than 90 days plus a month, the snapshots are
 * taken closer to as_of and their labels only see churn up to as_of (said in the model note).
 */
export function snapshotDates(asOf: Date, historyStart: Date): { dates: Date[]; censored: boolean } {
  const earliest = historyStart.getTime() + MIN_HISTORY_DAYS * DAY;
  const full: Date[] = [];
  for (let k = 0; k < MAX_SNAPSHOTS; k++) {
    const t = asOf.getTime() - (HORIZON_DAYS + 30 * k) * DAY;
    if (t >= earliest) full.push(new Date(t));
  }
  if (full.length >= 2) return { dates: full.reverse(), censored: false };
  const short: Date[] = [];
  for (let k = 1; k <= MAX_SNAPSHOTS; k++) {
    const t = asOf.getTime() - 15 * k * DAY;
    if (t >= earliest) short.push(new Date(t));
  }
  return { dates: short.reverse(), censored: true };
}

/**
 * Where the history worth learning from starts: `history_span` (01_account_features.sql: the first
 * day with a real volume of events), or without events (an imported CRM table only) the first
 * account's creation.
 */
export async function historyStart(lake: AnalyticsLake): Promise<Date | null> {
  const [{ start }] = await lake.rows<{ start: number | null }>(`
    SELECT epoch_ms(COALESCE(
      (SELECT history_start FROM history_span),
      (SELECT min(created_at) FROM accounts)
    ))::DOUBLE AS start`);
  return start === null ? null : new Date(start);
}

async function featuresAt(lake: AnalyticsLake, at: Date): Promise<Row[]> {
  return lake.jsonRows<Row>(
    `SELECT f.*, a.traits AS traits_json, a.churned_at AS churned_at_value
     FROM account_features(${sqlTime(at)}) f JOIN accounts a ON a.id = f.account_id
     WHERE NOT f.churned`,
  );
}

function featureValues(row: Row): Record<string, unknown> {
  const features: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row))
    if (!NOT_FEATURES.includes(key) && key !== 'traits_json' && key !== 'churned_at_value')
      features[key] = value;
  // Account traits (an imported CRM table's columns) are features too.
  return { ...features, ...flattenTraits(row.traits_json) };
}

/**
 * The compute stage: analytics SQL in DuckDB (features, segments, support metrics, upsell), then
 * the churn model trained on snapshots of history and applied to every live account.
 */
export async function computeScores(
  lake: AnalyticsLake,
  config: AppConfig,
  asOf: Date,
  hooks: {
    onModelStage: () => Promise<void>;
    full: boolean;
    historyDays: ReadonlySet<string>;
    /** The size tiers and the proficiency cut-off to segment by. */
    thresholds: Thresholds;
  },
): Promise<ComputedResults> {
  const c = lake.connection;
  // Settings tables are rebuilt each run, so a lake from an older version takes new columns.
  await c.run(
    `DROP TABLE IF EXISTS params; DROP TABLE IF EXISTS catalog; DROP TABLE IF EXISTS business_hours;`,
  );
  await c.run(INPUT_SCHEMA_SQL);
  await setParams(c, {
    asOf,
    enterpriseMinMrr: hooks.thresholds.enterpriseMinMrr,
    midMarketMinMrr: hooks.thresholds.midMarketMinMrr,
    enterpriseMinSeats: hooks.thresholds.enterpriseMinSeats,
    expertMinScore: hooks.thresholds.expertMinScore,
  });
  await setCatalog(c, DEFAULT_CATALOG);
  await setBusinessHours(c, config.analytics.businessHours);
  const files = loadSqlFiles();
  await runAnalyticsSql(
    c,
    files.filter((f) => f.name !== SUPPORT_METRICS_SQL),
  );

  await hooks.onModelStage();
  const model = await churnModelFor(lake, asOf, hooks.full);

  const current = await lake.jsonRows<Row>(
    `SELECT f.*, a.traits AS traits_json, NULL AS churned_at_value
     FROM account_features_now f JOIN accounts a ON a.id = f.account_id`,
  );
  const live = current.filter((r) => !r.churned);
  const risks = new Map(
    model
      .score(live.map((r) => ({ accountId: String(r.account_id), features: featureValues(r) })))
      .map((s) => [s.accountId, s]),
  );
  const segments = new Map(
    (await lake.jsonRows<Row>(`SELECT * FROM account_segments`)).map((r) => [String(r.account_id), r]),
  );
  const upsell = new Map(
    (await lake.jsonRows<Row>(`SELECT * FROM account_upsell`)).map((r) => [String(r.account_id), r]),
  );

  const scores: AccountScoreRow[] = current.map((r) => {
    const id = String(r.account_id);
    const segment = segments.get(id) ?? {};
    const risk = risks.get(id);
    const up = upsell.get(id);
    const features = featureValues(r);
    return {
      accountId: id,
      tier: String(segment.tier ?? 'smb'),
      proficiency: String(segment.proficiency ?? 'novice'),
      proficiencyScore: num(segment.proficiency_score),
      segment: String(segment.segment ?? 'smb-novice'),
      churnRisk: risk ? risk.risk : null,
      health: risk ? risk.health : null,
      churnReasons: risk ? risk.reasons : [],
      upsellScore: num(up?.upsell_score),
      upsellReasons: parseList(up?.reasons),
      features,
    };
  });

  const history = await backfillHistory(lake, model, asOf, hooks.historyDays);

  // Last on the lake's connection, and not awaited here: the write stage starts on the scores while
  // DuckDB computes the support metrics, and takes them when it gets to them (measured at 10 million
  // events: 0.8 s of DuckDB that no longer adds to the run). The run awaits them before it closes the lake.
  const supportMetrics = runAnalyticsSql(
    c,
    files.filter((f) => f.name === SUPPORT_METRICS_SQL),
  ).then(() => readSupportMetrics(lake));
  // Awaited by the write (or by the run before it closes the lake); never an unhandled rejection.
  supportMetrics.catch(() => undefined);

  const r = model.report;
  const report: ModelReport = {
    method: r.method,
    auc: r.auc,
    brier: r.brier,
    trainRows: r.trainRows,
    testRows: r.testRows,
    positives: r.positives,
    calibration: r.calibration.map((b) => ({ predicted: b.predicted, observed: b.observed, count: b.count })),
    note: r.note,
    trainedAt: r.trainedAt,
  };
  return { scores, supportMetrics, model: report, history };
}

async function readSupportMetrics(lake: AnalyticsLake): Promise<SupportMetricRow[]> {
  return (await lake.jsonRows<Row>(`SELECT * FROM support_metrics`)).map((m) => ({
    grouping: String(m.grouping),
    week: m.week === null || m.week === undefined ? null : String(m.week).slice(0, 10),
    channel: (m.channel as string | null) ?? null,
    segment: (m.segment as string | null) ?? null,
    tickets: Number(m.tickets),
    responded: Number(m.responded ?? 0),
    asaMeanMinutes: num(m.asa_mean_minutes),
    asaMedianMinutes: num(m.asa_median_minutes),
    asaP90Minutes: num(m.asa_p90_minutes),
    asaBusinessMeanMinutes: num(m.asa_business_mean_minutes),
    ratings: Number(m.ratings ?? 0),
    satisfied: Number(m.satisfied ?? 0),
    csatPct: num(m.csat_pct),
  }));
}

/** How many past weeks the score history should hold for the dashboard's trends. */
export const HISTORY_WEEKS = 12;

/** Mondays (00:00 UTC) of the `weeks` whole weeks before as_of's week, newest first. */
export function historyMondays(asOf: Date, weeks = HISTORY_WEEKS): Date[] {
  const day = Date.UTC(asOf.getUTCFullYear(), asOf.getUTCMonth(), asOf.getUTCDate());
  const monday = day - ((asOf.getUTCDay() + 6) % 7) * DAY;
  return Array.from({ length: weeks }, (_, k) => new Date(monday - 7 * (k + 1) * DAY));
}

/**
 * Scores of past Mondays the score history has no row for (a new install, or history imported
 * after the fact): features as of that day, the current model, segments by the same rules. Each
 * point is marked as backfilled. Only days with 30 days of history before them are filled.
 */
async function backfillHistory(
  lake: AnalyticsLake,
  model: ChurnModel,
  asOf: Date,
  existing: ReadonlySet<string>,
): Promise<HistoryPoint[]> {
  const start = await historyStart(lake);
  if (!start) return [];
  const earliest = start.getTime() + MIN_HISTORY_DAYS * DAY;
  const points: HistoryPoint[] = [];
  for (const at of historyMondays(asOf)) {
    if (at.getTime() < earliest) break;
    const day = at.toISOString().slice(0, 10);
    if (existing.has(day)) continue;
    await lake.connection.run(
      `CREATE OR REPLACE TEMP TABLE features_past AS SELECT * FROM account_features(${sqlTime(at)})`,
    );
    const rows = await lake.jsonRows<Row>(
      `SELECT f.*, a.traits AS traits_json, NULL AS churned_at_value
       FROM features_past f JOIN accounts a ON a.id = f.account_id WHERE NOT f.churned`,
    );
    const segments = new Map(
      (
        await lake.jsonRows<Row>(
          `SELECT account_id, tier, proficiency, segment FROM account_segments_of('features_past')`,
        )
      ).map((r) => [String(r.account_id), r]),
    );
    for (const score of model.score(
      rows.map((r) => ({ accountId: String(r.account_id), features: featureValues(r) })),
    )) {
      const segment = segments.get(score.accountId);
      if (!segment) continue;
      points.push({
        accountId: score.accountId,
        asOf: day,
        tier: String(segment.tier),
        proficiency: String(segment.proficiency),
        segment: String(segment.segment),
        churnRisk: score.risk,
        health: score.health,
        upsellScore: null,
      });
    }
  }
  await lake.connection.run(`DROP TABLE IF EXISTS features_past`);
  return points;
}

const CENSORED_NOTE = 'History is shorter than 120 days: labels only see churn up to now.';

/**
 * The churn model: trained once a day (and on a full rebuild) on snapshots of history, kept in the
 * lake, and reused by the runs in between, which only score. Training is the costly part of a run
 * (measured: 16 of 22 s at 10 million events), and a day's new data barely moves it.
 */
async function churnModelFor(lake: AnalyticsLake, asOf: Date, full: boolean): Promise<ChurnModel> {
  const day = asOf.toISOString().slice(0, 10);
  const stored = await lake.meta('churn_model');
  if (!full && stored && (await lake.meta('churn_model_day')) === day) {
    try {
      return loadChurnModel(stored);
    } catch {
      // A model from another version: train a new one.
    }
  }
  const start = await historyStart(lake);
  const { dates, censored } = snapshotDates(asOf, start ?? asOf);
  const snapshots: ChurnSnapshot[] = [];
  for (const at of dates) {
    const end = Math.min(at.getTime() + HORIZON_DAYS * DAY, asOf.getTime());
    const rows: ChurnTrainingRow[] = (await featuresAt(lake, at)).map((row) => {
      const churnedAt = row.churned_at_value ? new Date(String(row.churned_at_value)).getTime() : null;
      return {
        accountId: String(row.account_id),
        features: featureValues(row),
        churnedWithin90d: churnedAt !== null && churnedAt > at.getTime() && churnedAt <= end,
      };
    });
    snapshots.push({ asOf: at, rows });
  }
  const trained = trainChurnModel(snapshots, { now: asOf });
  const model = censored
    ? loadChurnModel({
        ...trained.toJSON(),
        report: { ...trained.report, note: [trained.report.note, CENSORED_NOTE].filter(Boolean).join(' ') },
      })
    : trained;
  await lake.setMeta('churn_model', JSON.stringify(model.toJSON()));
  await lake.setMeta('churn_model_day', day);
  return model;
}

function parseList(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') {
    try {
      const parsed = JSON.parse(value) as unknown;
      return Array.isArray(parsed) ? parsed : [];
    } catch {
      return [];
    }
  }
  return [];
}
