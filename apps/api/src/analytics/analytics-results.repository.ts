import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ModelReport } from '@retain/contracts';
import { copyJson, copyNumber, copyRow, copyText } from '../database/copy-text.js';
import { PG_POOL, inTransaction } from '../database/pg-pool.module.js';
import { refreshCustomSegmentMembers } from '../segments/segment-membership.js';
import { refreshAccountActivityRollup } from '../dashboard/account-activity-rollup.js';

export interface AccountScoreRow {
  accountId: string;
  tier: string;
  proficiency: string;
  proficiencyScore: number | null;
  segment: string;
  churnRisk: number | null;
  health: number | null;
  churnReasons: unknown[];
  upsellScore: number | null;
  upsellReasons: unknown[];
  features: Record<string, unknown>;
}

export interface SupportMetricRow {
  grouping: string;
  week: string | null;
  channel: string | null;
  segment: string | null;
  tickets: number;
  responded: number;
  asaMeanMinutes: number | null;
  asaMedianMinutes: number | null;
  asaP90Minutes: number | null;
  asaBusinessMeanMinutes: number | null;
  ratings: number;
  satisfied: number;
  csatPct: number | null;
}

/** Scores of a past day, computed from history when the score history lacks it (a new install). */
export interface HistoryPoint {
  accountId: string;
  asOf: string;
  tier: string;
  proficiency: string;
  segment: string;
  churnRisk: number | null;
  health: number | null;
  upsellScore: number | null;
}

export interface ComputedResults {
  scores: AccountScoreRow[];
  /** May still be being computed when the write starts: taken when the write gets to them. */
  supportMetrics: SupportMetricRow[] | PromiseLike<SupportMetricRow[]>;
  model: ModelReport | null;
  /** Backfilled points of the score history (past weekly days that have none yet). */
  history?: HistoryPoint[];
}

/** Daily rows older than this are thinned to one a week (Mondays), which trends keep reading. */
export const DAILY_HISTORY_DAYS = 92;

/**
 * Today's scores join the score history (one row per account and UTC day: a later run the same
 * day replaces the earlier), with any backfilled past points; old daily rows thin to weekly.
 */
async function writeScoreHistory(
  client: pg.ClientBase,
  runId: number,
  asOf: Date,
  backfill: HistoryPoint[],
): Promise<void> {
  const day = asOf.toISOString().slice(0, 10);
  await client.query(
    `INSERT INTO account_score_history (account_id, as_of, run_id, tier, proficiency, segment, churn_risk,
            health, upsell_score, mrr)
     SELECT s.account_id, $2::date, $1, s.tier, s.proficiency, s.segment, s.churn_risk, s.health, s.upsell_score,
            a.mrr
     FROM account_scores s JOIN accounts a ON a.id = s.account_id
     -- Live accounts only (a churned account has no risk), as in the backfilled points.
     WHERE s.churn_risk IS NOT NULL
     ON CONFLICT (account_id, as_of) DO UPDATE SET
       run_id = EXCLUDED.run_id, tier = EXCLUDED.tier, proficiency = EXCLUDED.proficiency,
       segment = EXCLUDED.segment, churn_risk = EXCLUDED.churn_risk, health = EXCLUDED.health,
       upsell_score = EXCLUDED.upsell_score, mrr = EXCLUDED.mrr, backfilled = false`,
    [runId, day],
  );
  if (backfill.length > 0) {
    await client.query(
      `CREATE TEMP TABLE score_history_new (LIKE account_score_history INCLUDING DEFAULTS) ON COMMIT DROP`,
    );
    await copyRows(
      client,
      `COPY score_history_new (account_id, as_of, run_id, tier, proficiency, segment, churn_risk, health,
            upsell_score, backfilled) FROM STDIN`,
      (function* () {
        for (const h of backfill)
          yield copyRow([
            h.accountId,
            h.asOf,
            String(runId),
            copyText(h.tier),
            copyText(h.proficiency),
            copyText(h.segment),
            copyNumber(h.churnRisk),
            copyNumber(h.health),
            copyNumber(h.upsellScore),
            't',
          ]);
      })(),
    );
    // Only days nobody scored: a real run's row always wins over a backfilled one.
    await client.query(
      `INSERT INTO account_score_history
       SELECT n.account_id, n.as_of, n.run_id, n.tier, n.proficiency, n.segment, n.churn_risk, n.health,
              n.upsell_score, a.mrr, true
       FROM score_history_new n JOIN accounts a ON a.id = n.account_id
       ON CONFLICT (account_id, as_of) DO NOTHING`,
    );
  }
  await client.query(
    `DELETE FROM account_score_history
     WHERE as_of < $1::date - $2::int AND extract(isodow FROM as_of) <> 1`,
    [day, DAILY_HISTORY_DAYS],
  );
}

async function copyRows(client: pg.ClientBase, sql: string, rows: Iterable<string>): Promise<void> {
  await pipeline(Readable.from(rows), client.query(copyFrom(sql)));
}

/**
 * Writes a run's results in one transaction: staged with COPY, then swapped in, so readers see
 * the previous results or the new ones, never half. Segment movements since the previous run
 * are recorded in the same commit.
 */
@Injectable()
export class AnalyticsResultsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** The days since `since` the score history has rows for. */
  async historyDays(since: Date): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ day: string }>(
      // One index probe per day, not a scan of every account's rows.
      `SELECT d::date::text AS day FROM generate_series($1::date, current_date, interval '1 day') d
       WHERE EXISTS (SELECT 1 FROM account_score_history h WHERE h.as_of = d::date)`,
      [since.toISOString().slice(0, 10)],
    );
    return new Set(rows.map((r) => r.day));
  }

  async replace(runId: number, asOf: Date, results: ComputedResults): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await client.query(
        `CREATE TEMP TABLE account_scores_new (LIKE account_scores INCLUDING DEFAULTS) ON COMMIT DROP`,
      );
      await copyRows(
        client,
        `COPY account_scores_new (account_id, run_id, tier, proficiency, proficiency_score, segment, churn_risk,
              health, churn_reasons, upsell_score, upsell_reasons, features, computed_at) FROM STDIN`,
        (function* () {
          for (const s of results.scores)
            yield copyRow([
              s.accountId,
              String(runId),
              copyText(s.tier),
              copyText(s.proficiency),
              copyNumber(s.proficiencyScore),
              copyText(s.segment),
              copyNumber(s.churnRisk),
              copyNumber(s.health),
              copyJson(s.churnReasons),
              copyNumber(s.upsellScore),
              copyJson(s.upsellReasons),
              copyJson(s.features),
              asOf.toISOString(),
            ]);
        })(),
      );
      await client.query(
        `INSERT INTO segment_movements (run_id, account_id, from_segment, to_segment, moved_at)
         SELECT $1, n.account_id, o.segment, n.segment, $2
         FROM account_scores_new n JOIN account_scores o ON o.account_id = n.account_id
         WHERE o.segment <> n.segment`,
        [runId, asOf],
      );
      // Accounts deleted since the extract are skipped rather than failing the whole run.
      await client.query(`DELETE FROM account_scores`);
      const inserted = await client.query(
        `INSERT INTO account_scores SELECT n.* FROM account_scores_new n JOIN accounts a ON a.id = n.account_id`,
      );
      await refreshCustomSegmentMembers(client);
      // The dashboard's weekly activity per account: only weeks with new events are recounted.
      await refreshAccountActivityRollup(client);
      await writeScoreHistory(client, runId, asOf, results.history ?? []);

      const supportMetrics = await results.supportMetrics;
      await client.query(`DELETE FROM support_metrics`);
      await copyRows(
        client,
        `COPY support_metrics (run_id, grouping, week, channel, segment, tickets, responded, asa_mean_minutes,
              asa_median_minutes, asa_p90_minutes, asa_business_mean_minutes, ratings, satisfied, csat_pct) FROM STDIN`,
        (function* () {
          for (const m of supportMetrics)
            yield copyRow([
              String(runId),
              copyText(m.grouping),
              copyText(m.week),
              copyText(m.channel),
              copyText(m.segment),
              copyNumber(m.tickets),
              copyNumber(m.responded),
              copyNumber(m.asaMeanMinutes),
              copyNumber(m.asaMedianMinutes),
              copyNumber(m.asaP90Minutes),
              copyNumber(m.asaBusinessMeanMinutes),
              copyNumber(m.ratings),
              copyNumber(m.satisfied),
              copyNumber(m.csatPct),
            ]);
        })(),
      );
      return (inserted.rowCount ?? 0) + supportMetrics.length;
    });
  }
}
