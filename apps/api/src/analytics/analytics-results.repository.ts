import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { ModelReport } from '@retain/contracts';
import { copyJson, copyNumber, copyRow, copyText } from '../database/copy-text.js';
import { PG_POOL, inTransaction } from '../database/pg-pool.module.js';
import { refreshCustomSegmentMembers } from '../segments/segment-membership.js';

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

export interface ComputedResults {
  scores: AccountScoreRow[];
  supportMetrics: SupportMetricRow[];
  model: ModelReport | null;
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

      await client.query(`DELETE FROM support_metrics`);
      await copyRows(
        client,
        `COPY support_metrics (run_id, grouping, week, channel, segment, tickets, responded, asa_mean_minutes,
              asa_median_minutes, asa_p90_minutes, asa_business_mean_minutes, ratings, satisfied, csat_pct) FROM STDIN`,
        (function* () {
          for (const m of results.supportMetrics)
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
      return (inserted.rowCount ?? 0) + results.supportMetrics.length;
    });
  }
}
