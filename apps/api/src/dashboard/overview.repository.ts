import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { RISK_BAND_THRESHOLDS, type LastRun, type OverviewMovements } from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';
import {
  ACTIVE_AT,
  riskMixSql,
  supportFiguresSql,
  type RiskMixRow,
  type SupportFiguresRow,
  statement,
} from './dashboard-sql.js';

/** Figures of one tier x proficiency cell; tier and proficiency are null in the total row. */
export interface CellAccountsRow extends RiskMixRow {
  tier: string | null;
  proficiency: string | null;
  accounts: number;
  mrr: number;
}

export interface CellSupportRow extends SupportFiguresRow {
  tier: string | null;
  proficiency: string | null;
  /** true: the period itself; false: the period before it. */
  current: boolean;
}

export interface CellHistoryRow {
  tier: string | null;
  proficiency: string | null;
  accounts: number;
  mrr: number;
  high_risk: number;
}

export interface TrendRiskRow extends RiskMixRow {
  week: string;
  segment: string;
  accounts: number;
  mrr: number;
  mean_risk: number | null;
  backfilled: boolean;
}

export interface TrendSupportRow {
  week: string;
  segment: string;
  tickets: number;
  responded: number;
  asa_mean_minutes: number | null;
  asa_median_minutes: number | null;
  asa_p90_minutes: number | null;
  ratings: number;
  satisfied: number;
}

/** Both the cell and the total row: GROUPING SETS ((tier, proficiency), ()). */
const CELL_GROUPS = `GROUPING SETS ((tier, proficiency), ())`;

/** Reads for the overview and trends: the segment matrix, its history and its support figures. */
@Injectable()
export class OverviewRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async lastRun(): Promise<LastRun | null> {
    const { rows } = await this.pool.query<{
      id: string;
      status: LastRun['status'];
      progress: number;
      started_at: Date;
      finished_at: Date | null;
      as_of: Date | null;
      error: string | null;
    }>(
      statement(
        `SELECT id, status, progress, started_at, finished_at, as_of, error
       FROM analytics_runs ORDER BY started_at DESC, id DESC LIMIT 1`,
      ),
    );
    const r = rows[0];
    if (!r) return null;
    return {
      id: Number(r.id),
      status: r.status,
      progress: r.progress,
      startedAt: r.started_at.toISOString(),
      finishedAt: r.finished_at?.toISOString() ?? null,
      asOf: r.as_of?.toISOString() ?? null,
      error: r.error,
    };
  }

  /** Scored accounts, MRR and risk mix per tier x proficiency, and over all. */
  async cellAccounts(): Promise<CellAccountsRow[]> {
    const { rows } = await this.pool.query<CellAccountsRow>(
      `SELECT s.tier, s.proficiency, count(*)::int AS accounts, COALESCE(sum(a.mrr), 0)::float8 AS mrr,
              ${riskMixSql('s.churn_risk')}
       FROM account_scores s JOIN accounts a ON a.id = s.account_id
       WHERE ${ACTIVE_AT('s.computed_at')}
       GROUP BY ${CELL_GROUPS}`,
    );
    return rows;
  }

  /**
   * Support figures per cell (the account's segment as of the run) for tickets created in
   * [from, asOf) and, as current = false, in [previousFrom, from).
   */
  async cellSupport(previousFrom: Date, from: Date, asOf: Date): Promise<CellSupportRow[]> {
    const { rows } = await this.pool.query<CellSupportRow>(
      `SELECT s.tier, s.proficiency, t.created_at >= $2 AS current, ${supportFiguresSql('t', '$3')}
       FROM tickets t JOIN account_scores s ON s.account_id = t.account_id
       WHERE t.created_at >= $1 AND t.created_at < $3
       GROUP BY GROUPING SETS ((s.tier, s.proficiency, t.created_at >= $2), (t.created_at >= $2))`,
      [previousFrom, from, asOf],
    );
    return rows;
  }

  /** The latest score-history day on or before `day`, or null. */
  async historyDayOnOrBefore(day: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ day: string | null }>(
      `SELECT to_char(max(as_of), 'YYYY-MM-DD') AS day FROM account_score_history WHERE as_of <= $1::date`,
      [day],
    );
    return rows[0]?.day ?? null;
  }

  /** Accounts, MRR and high-risk accounts per cell from each account's latest history row in the week up to `day`. */
  async cellHistory(day: string): Promise<CellHistoryRow[]> {
    const { rows } = await this.pool.query<CellHistoryRow>(
      `WITH h AS (
         SELECT DISTINCT ON (h.account_id) h.account_id, h.tier, h.proficiency, h.churn_risk, h.mrr
         FROM account_score_history h JOIN accounts a ON a.id = h.account_id
         WHERE h.as_of <= $1::date AND h.as_of > $1::date - 7
           AND ${ACTIVE_AT("($1::date + 1)::timestamp AT TIME ZONE 'UTC'")}
         ORDER BY h.account_id, h.as_of DESC
       )
       SELECT tier, proficiency, count(*)::int AS accounts, COALESCE(sum(mrr), 0)::float8 AS mrr,
              count(*) FILTER (WHERE churn_risk >= ${RISK_BAND_THRESHOLDS.high})::int AS high_risk
       FROM h GROUP BY ${CELL_GROUPS}`,
      [day],
    );
    return rows;
  }

  /** The latest run that moved any account between base segments, with its moves counted. */
  async latestMovements(): Promise<OverviewMovements> {
    const run = await this.pool.query<{ run_id: string }>(
      `SELECT run_id FROM segment_movements ORDER BY run_id DESC LIMIT 1`,
    );
    const runId = run.rows[0]?.run_id;
    if (runId === undefined) return { runId: null, movedAt: null, accounts: 0, summary: [] };
    const { rows } = await this.pool.query<{ from: string; to: string; accounts: number; moved_at: Date }>(
      `SELECT from_segment AS "from", to_segment AS "to", count(*)::int AS accounts, max(moved_at) AS moved_at
       FROM segment_movements WHERE run_id = $1 GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2`,
      [runId],
    );
    const movedAt = rows.reduce<Date | null>((max, r) => (max && max > r.moved_at ? max : r.moved_at), null);
    return {
      runId: Number(runId),
      movedAt: movedAt?.toISOString() ?? null,
      accounts: rows.reduce((n, r) => n + r.accounts, 0),
      summary: rows.map((r) => ({ from: r.from, to: r.to, accounts: r.accounts })),
    };
  }

  /** Per ISO week from `firstWeek` and segment: each account's latest score-history row that week. */
  async trendRisk(firstWeek: string): Promise<TrendRiskRow[]> {
    const { rows } = await this.pool.query<TrendRiskRow>(
      `WITH h AS (
         SELECT DISTINCT ON (account_id, date_trunc('week', as_of::timestamp))
                account_id, date_trunc('week', as_of::timestamp)::date AS week, segment, churn_risk, mrr, backfilled
         FROM account_score_history
         WHERE as_of >= $1::date
         ORDER BY account_id, date_trunc('week', as_of::timestamp), as_of DESC
       )
       SELECT to_char(week, 'YYYY-MM-DD') AS week, segment, count(*)::int AS accounts,
              COALESCE(sum(mrr), 0)::float8 AS mrr, avg(churn_risk)::float8 AS mean_risk,
              bool_or(backfilled) AS backfilled, ${riskMixSql('churn_risk')}
       FROM h GROUP BY week, segment ORDER BY week, segment`,
      [firstWeek],
    );
    return rows;
  }

  /** ASA and CSAT per week and segment from the run's support metrics, from `firstWeek`. */
  async trendSupport(firstWeek: string): Promise<TrendSupportRow[]> {
    const { rows } = await this.pool.query<TrendSupportRow>(
      `SELECT to_char(week, 'YYYY-MM-DD') AS week, segment, tickets, responded, asa_mean_minutes,
              asa_median_minutes, asa_p90_minutes, ratings, satisfied
       FROM support_metrics
       WHERE grouping = 'segment_week' AND week >= $1::date AND segment <> 'unassigned'
       ORDER BY week, segment`,
      [firstWeek],
    );
    return rows;
  }
}
