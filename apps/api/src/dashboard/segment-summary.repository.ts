import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type {
  ChannelFigures,
  ChurnReasonCount,
  RiskHistogramBucket,
  UpsellReasonCount,
} from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';
import {
  ACTIVE_AT,
  SqlConditions,
  riskMixSql,
  supportFiguresSql,
  toSupportFigures,
  type RiskMixRow,
  type SupportFiguresRow,
} from './dashboard-sql.js';

/** A base segment, or a custom segment's members. */
export type SummaryScope = { segment?: string; customSegmentId?: number };

export interface SegmentAccountsRow extends RiskMixRow {
  accounts: number;
  mrr: number;
  mean_risk: number | null;
}

/** Accounts of the scope, over account_scores s JOIN accounts a; `active`: not churned as of the run. */
function scoped(scope: SummaryScope, active: boolean): SqlConditions {
  const c = new SqlConditions();
  if (active) c.add(ACTIVE_AT('s.computed_at'));
  if (scope.segment !== undefined) c.add(`s.segment = ${c.param(scope.segment)}`);
  if (scope.customSegmentId !== undefined)
    c.add(
      `EXISTS (SELECT 1 FROM custom_segment_members m
               WHERE m.segment_id = ${c.param(scope.customSegmentId)} AND m.account_id = s.account_id)`,
    );
  return c;
}

const SCORED = `account_scores s JOIN accounts a ON a.id = s.account_id`;

/** Aggregates over one segment's accounts as of the served run. */
@Injectable()
export class SegmentSummaryRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async accounts(scope: SummaryScope): Promise<SegmentAccountsRow> {
    const c = scoped(scope, true);
    const { rows } = await this.pool.query<SegmentAccountsRow>(
      `SELECT count(*)::int AS accounts, COALESCE(sum(a.mrr), 0)::float8 AS mrr,
              avg(s.churn_risk)::float8 AS mean_risk, ${riskMixSql('s.churn_risk')}
       FROM ${SCORED} ${c.where()}`,
      c.params,
    );
    return rows[0]!;
  }

  /** Accounts per churn-risk bucket of 0.1 (a risk of exactly 1 goes in the last). */
  async riskHistogram(scope: SummaryScope): Promise<RiskHistogramBucket[]> {
    const c = scoped(scope, true);
    c.add('s.churn_risk IS NOT NULL');
    const { rows } = await this.pool.query<{ bucket: number; accounts: number }>(
      `SELECT least(floor(s.churn_risk * 10), 9)::int AS bucket, count(*)::int AS accounts
       FROM ${SCORED} ${c.where()} GROUP BY 1`,
      c.params,
    );
    const counts = new Map(rows.map((r) => [r.bucket, r.accounts]));
    return Array.from({ length: 10 }, (_, i) => ({
      from: i / 10,
      to: (i + 1) / 10,
      accounts: counts.get(i) ?? 0,
    }));
  }

  async churnReasons(scope: SummaryScope, limit: number): Promise<ChurnReasonCount[]> {
    const c = scoped(scope, true);
    c.add(`jsonb_typeof(s.churn_reasons) = 'array'`);
    const { rows } = await this.pool.query<ChurnReasonCount>(
      `SELECT r ->> 'feature' AS feature, count(DISTINCT s.account_id)::int AS accounts,
              avg((r ->> 'contribution')::float8)::float8 AS "meanContribution"
       FROM ${SCORED} CROSS JOIN LATERAL jsonb_array_elements(s.churn_reasons) r
       ${c.where()} AND jsonb_typeof(r -> 'contribution') = 'number' AND r ? 'feature'
       GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1 LIMIT ${c.param(limit)}`,
      c.params,
    );
    return rows;
  }

  async upsellReasons(scope: SummaryScope): Promise<UpsellReasonCount[]> {
    const c = scoped(scope, true);
    c.add(`jsonb_typeof(s.upsell_reasons) = 'array'`);
    const { rows } = await this.pool.query<UpsellReasonCount>(
      `SELECT r ->> 'signal' AS signal, count(DISTINCT s.account_id)::int AS accounts,
              COALESCE(max(CASE WHEN jsonb_typeof(r -> 'weight') = 'number' THEN (r ->> 'weight')::float8 END), 0)
                AS weight,
              avg(CASE WHEN jsonb_typeof(r -> 'value') = 'number' THEN (r ->> 'value')::float8 END)::float8
                AS "meanValue"
       FROM ${SCORED} CROSS JOIN LATERAL jsonb_array_elements(s.upsell_reasons) r
       ${c.where()} AND r ? 'signal'
       GROUP BY 1 ORDER BY 2 DESC, 1`,
      c.params,
    );
    return rows;
  }

  /** Support figures per channel for tickets the scope's accounts created in [from, asOf). */
  async ticketsByChannel(scope: SummaryScope, from: Date, asOf: Date): Promise<ChannelFigures[]> {
    const c = scoped(scope, false);
    const asOfParam = c.param(asOf);
    c.add(`t.created_at >= ${c.param(from)} AND t.created_at < ${asOfParam}`);
    const { rows } = await this.pool.query<SupportFiguresRow & { channel: string }>(
      `SELECT t.channel, ${supportFiguresSql('t', asOfParam)}
       FROM tickets t JOIN account_scores s ON s.account_id = t.account_id
       ${c.where()}
       GROUP BY t.channel ORDER BY t.channel`,
      c.params,
    );
    return rows.map((r) => ({ channel: r.channel, ...toSupportFigures(r) }));
  }
}
