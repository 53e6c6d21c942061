import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { Movements, MovementsQuery, SupportMetricRow, SupportMetricsQuery } from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';

export interface ScoreExportRow {
  external_id: string;
  tier: string;
  proficiency: string;
  segment: string;
  churn_risk: number | null;
  health: number | null;
  upsell_score: number | null;
  churn_reasons: { feature?: string }[];
  /** The account's custom segments, by name, joined with ';'; null when none. */
  custom_segments: string | null;
}

/** Reads of the analytics results: what the API serves and exports. */
@Injectable()
export class ScoresRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async supportMetrics(query: SupportMetricsQuery): Promise<SupportMetricRow[]> {
    const key = query.by === 'week' ? `to_char(week, 'YYYY-MM-DD')` : query.by;
    const { rows } = await this.pool.query<SupportMetricRow>(
      `SELECT ${key} AS key, tickets, asa_mean_minutes AS "asaMeanMinutes", asa_median_minutes AS "asaMedianMinutes",
              asa_p90_minutes AS "asaP90Minutes", asa_business_mean_minutes AS "asaBusinessMeanMinutes",
              ratings, csat_pct AS "csatPct"
       FROM support_metrics WHERE grouping = $1 ORDER BY 1`,
      [query.by],
    );
    return rows;
  }

  /** Segment movements of one run (default: the latest run that recorded any), with a summary. */
  async movements(query: MovementsQuery): Promise<Movements> {
    const run = await this.pool.query<{ run_id: string; moved_at: Date }>(
      `SELECT run_id, max(moved_at) AS moved_at FROM segment_movements
       WHERE ($1::bigint IS NULL OR run_id = $1) GROUP BY run_id ORDER BY run_id DESC LIMIT 1`,
      [query.runId ?? null],
    );
    const found = run.rows[0];
    if (!found) return { runId: query.runId ?? null, movedAt: null, summary: [], movements: [] };
    const summary = await this.pool.query<{ from: string; to: string; accounts: number }>(
      `SELECT from_segment AS "from", to_segment AS "to", count(*)::int AS accounts
       FROM segment_movements WHERE run_id = $1 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
      [found.run_id],
    );
    const movements = await this.pool.query<Movements['movements'][number]>(
      `SELECT m.account_id::int AS "accountId", a.external_id AS "externalId", a.name,
              m.from_segment AS "from", m.to_segment AS "to"
       FROM segment_movements m JOIN accounts a ON a.id = m.account_id
       WHERE m.run_id = $1 ORDER BY a.external_id LIMIT $2`,
      [found.run_id, query.limit],
    );
    return {
      runId: Number(found.run_id),
      movedAt: found.moved_at.toISOString(),
      summary: summary.rows,
      movements: movements.rows,
    };
  }

  /** Every scored account, in external id order, a page at a time (keyset), for CSV export. */
  async *exportRows(pageSize = 5_000): AsyncGenerator<ScoreExportRow[]> {
    let after = '';
    for (;;) {
      const { rows } = await this.pool.query<ScoreExportRow>(
        `SELECT a.external_id, s.tier, s.proficiency, s.segment, s.churn_risk, s.health, s.upsell_score, s.churn_reasons,
                (SELECT string_agg(c.name, ';' ORDER BY c.name)
                 FROM custom_segment_members m JOIN custom_segments c ON c.id = m.segment_id
                 WHERE m.account_id = a.id) AS custom_segments
         FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE a.external_id > $1 ORDER BY a.external_id LIMIT $2`,
        [after, pageSize],
      );
      if (rows.length === 0) return;
      yield rows;
      after = rows.at(-1)!.external_id;
    }
  }
}
