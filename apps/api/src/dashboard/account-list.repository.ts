import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import {
  ACCOUNT_SORT_DEFAULT_ORDER,
  BASE_SEGMENTS,
  PROFICIENCIES,
  TIERS,
  riskBandOf,
  type AccountFilters,
  type AccountRow,
  type AccountSort,
  type OwnerList,
  type RiskBand,
} from '@retain/contracts';
import { PG_POOL, checkOut } from '../database/pg-pool.module.js';
import type { ServedRun } from './dashboard-snapshots.repository.js';
import {
  ACTIVE_AT,
  SqlConditions,
  containsPattern,
  enumLiteral,
  isoText,
  num,
  riskBandSql,
  statement,
  toChurnReasons,
} from './dashboard-sql.js';

/** Days since the account's last event, from the run's features (a JSON number; anything else is null). */
const DAYS_SINCE_LAST_SEEN = `(CASE WHEN jsonb_typeof(s.features -> 'days_since_last_seen') = 'number'
  THEN (s.features ->> 'days_since_last_seen')::float8 END)`;

/** The column of each sort and its tiebreaker; each order has an index (1764500000000 migration). */
const SORT_COLUMNS: Record<AccountSort, [string, string]> = {
  churn_risk: ['s.churn_risk', 's.account_id'],
  health: ['s.health', 's.account_id'],
  mrr: ['a.mrr', 'a.id'],
  renewal_date: ['a.renewal_date', 'a.id'],
  upsell_score: ['s.upsell_score', 's.account_id'],
  name: ['a.name', 'a.id'],
  days_since_last_seen: [DAYS_SINCE_LAST_SEEN, 's.account_id'],
};

/** The filters with the custom segment resolved (the key of a custom segment is its id). */
export type AccountListFilters = Omit<AccountFilters, 'segment'> & {
  segment?: string;
  customSegmentId?: number;
};

interface AccountListRow {
  id: string;
  external_id: string;
  name: string;
  plan: string | null;
  mrr: string | null;
  owner: string | null;
  renewal_date: string | null;
  /** ISO 8601 text: dates are formatted by PostgreSQL, not parsed into Date objects per row. */
  churned_at: string | null;
  tier: string;
  proficiency: string;
  segment: string;
  churn_risk: number | null;
  health: number | null;
  upsell_score: number | null;
  churn_reasons: unknown;
  days_since_last_seen: number | null;
}

const ROW_COLUMNS = `a.id, a.external_id, a.name, a.plan, a.mrr, a.owner,
  to_char(a.renewal_date, 'YYYY-MM-DD') AS renewal_date, ${isoText('a.churned_at')} AS churned_at,
  s.tier, s.proficiency, s.segment, s.churn_risk, s.health, s.upsell_score,
  jsonb_path_query_array(s.churn_reasons, 'lax $[0 to 2]') AS churn_reasons,
  ${DAYS_SINCE_LAST_SEEN} AS days_since_last_seen`;

export const toAccountRow = (r: AccountListRow): AccountRow => ({
  id: Number(r.id),
  externalId: r.external_id,
  name: r.name,
  plan: r.plan,
  mrr: num(r.mrr),
  owner: r.owner,
  renewalDate: r.renewal_date,
  tier: r.tier,
  proficiency: r.proficiency,
  segment: r.segment,
  churnRisk: r.churn_risk,
  riskBand: riskBandOf(r.churn_risk),
  health: r.health,
  upsellScore: r.upsell_score,
  topReasons: toChurnReasons(r.churn_reasons, 3),
  daysSinceLastSeen: r.days_since_last_seen,
  churnedAt: r.churned_at,
});

/** The WHERE clause of a filtered account list, over account_scores s JOIN accounts a. */
function conditions(f: AccountListFilters): SqlConditions {
  const c = new SqlConditions();
  if (!f.includeChurned) c.add(ACTIVE_AT('s.computed_at'));
  // Closed sets and ids are written in (see enumLiteral); owner and search text are parameters.
  if (f.segment) c.add(`s.segment = ${enumLiteral(f.segment, BASE_SEGMENTS)}`);
  if (f.customSegmentId !== undefined)
    c.add(
      `EXISTS (SELECT 1 FROM custom_segment_members m
               WHERE m.segment_id = ${Math.trunc(f.customSegmentId)} AND m.account_id = s.account_id)`,
    );
  if (f.tier) c.add(`s.tier = ${enumLiteral(f.tier, TIERS)}`);
  if (f.proficiency) c.add(`s.proficiency = ${enumLiteral(f.proficiency, PROFICIENCIES)}`);
  if (f.owner) c.add(`a.owner = ${c.param(f.owner)}`);
  if (f.riskBand) c.add(riskBandSql('s.churn_risk', f.riskBand));
  if (f.q) {
    const pattern = c.param(containsPattern(f.q));
    c.add(`(a.name ILIKE ${pattern} OR a.external_id ILIKE ${pattern})`);
  }
  return c;
}

/** ORDER BY of a sort: nulls last in either direction, then by id so pages never overlap. */
function orderBy(sort: AccountSort, order: 'asc' | 'desc' | undefined): string {
  const direction = (order ?? ACCOUNT_SORT_DEFAULT_ORDER[sort]) === 'asc' ? 'ASC' : 'DESC';
  const [column, id] = SORT_COLUMNS[sort];
  return `${column} ${direction} NULLS LAST, ${id}`;
}

/** A page of the list, and the run its scores come from (null when the page is empty). */
export interface AccountPage {
  rows: AccountRow[];
  run: ServedRun | null;
  /** Every match, when asked for and the page is not empty. */
  total: number | null;
}

/** Accounts per tier, proficiency, segment, risk band and churned-or-not, as of the served run. */
export interface AccountCountRow {
  tier: string;
  proficiency: string;
  segment: string;
  band: RiskBand | null;
  active: boolean;
  accounts: number;
}

/** Scored accounts listed, filtered, sorted and paged in SQL, and the owners to filter by. */
@Injectable()
export class AccountListRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async count(filters: AccountListFilters): Promise<number> {
    const c = conditions(filters);
    const { rows } = await this.pool.query<{ total: number }>(
      statement(
        `SELECT count(*)::int AS total FROM account_scores s JOIN accounts a ON a.id = s.account_id ${c.where()}`,
        c.params,
      ),
    );
    return rows[0]?.total ?? 0;
  }

  /** Counts per combination of the filters that only depend on the run's scores. */
  async countsByGroup(): Promise<AccountCountRow[]> {
    const band = (b: RiskBand) => `WHEN ${riskBandSql('s.churn_risk', b)} THEN '${b}'`;
    const { rows } = await this.pool.query<AccountCountRow>(
      `SELECT s.tier, s.proficiency, s.segment,
              CASE ${band('low')} ${band('medium')} ${band('high')} END AS band,
              ${ACTIVE_AT('s.computed_at')} AS active, count(*)::int AS accounts
       FROM account_scores s JOIN accounts a ON a.id = s.account_id
       GROUP BY 1, 2, 3, 4, 5`,
    );
    return rows;
  }

  /**
   * One page: the ids are chosen on the narrow columns first, then only they are read whole.
   * `withTotal` counts every match in the same pass (for filters narrow enough to read whole:
   * an owner, a search, a custom segment); otherwise the page reads only its own rows.
   * First pages (the most asked for) are prepared statements; a deeper page's OFFSET is in its
   * text, and one statement per offset would pile up on every connection.
   */
  async page(
    filters: AccountListFilters,
    limit: number,
    offset: number,
    withTotal: boolean,
  ): Promise<AccountPage> {
    const c = conditions(filters);
    const order = orderBy(filters.sort, filters.order);
    const sql = `WITH page AS (
         SELECT s.account_id${withTotal ? ', count(*) OVER () AS total' : ''}
         FROM account_scores s JOIN accounts a ON a.id = s.account_id
         ${c.where()} ORDER BY ${order} LIMIT ${Math.trunc(limit)} OFFSET ${Math.trunc(offset)}
       )
       SELECT ${ROW_COLUMNS}, s.run_id, ${isoText('s.computed_at')} AS computed_at
              ${withTotal ? ', p.total::int AS total' : ''}
       FROM page p JOIN account_scores s ON s.account_id = p.account_id JOIN accounts a ON a.id = p.account_id
       ORDER BY ${order}`;
    const { rows } = await this.pool.query<
      AccountListRow & { run_id: string; computed_at: string; total?: number }
    >(offset === 0 ? statement(sql, c.params) : { text: sql, values: c.params });
    const first = rows[0];
    return {
      rows: rows.map(toAccountRow),
      run: first ? { runId: Number(first.run_id), asOf: new Date(first.computed_at) } : null,
      total: first?.total ?? null,
    };
  }

  /**
   * Every matching account in list order, a batch at a time, from one cursor in one read-only
   * snapshot: an analytics run committing meanwhile cannot make the file skip or repeat accounts.
   */
  async *all(filters: AccountListFilters, batch = 2_000): AsyncGenerator<AccountRow[]> {
    const c = conditions(filters);
    const out = await checkOut(this.pool);
    let broken = true;
    try {
      await out.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await out.client.query(
        `DECLARE account_export NO SCROLL CURSOR FOR
         SELECT ${ROW_COLUMNS} FROM account_scores s JOIN accounts a ON a.id = s.account_id
         ${c.where()} ORDER BY ${orderBy(filters.sort, filters.order)}`,
        c.params,
      );
      for (;;) {
        const { rows } = await out.client.query<AccountListRow>(`FETCH ${batch} FROM account_export`);
        if (rows.length === 0) break;
        yield rows.map(toAccountRow);
      }
      await out.client.query('COMMIT');
      broken = false;
    } finally {
      // Stopped early (the client went away) or failed: roll back, or drop the connection.
      if (broken)
        await out.client.query('ROLLBACK').then(
          () => (broken = false),
          () => undefined,
        );
      out.release(broken);
    }
  }

  /** Owners with their account counts (all accounts, and the enterprise ones as of the last run). */
  async owners(): Promise<OwnerList> {
    const [owners, unassigned] = await Promise.all([
      this.pool.query<{ owner: string; accounts: number; enterprise: number }>(
        `SELECT a.owner, count(*)::int AS accounts,
                count(*) FILTER (WHERE s.tier = 'enterprise')::int AS enterprise
         FROM accounts a LEFT JOIN account_scores s ON s.account_id = a.id
         WHERE a.owner IS NOT NULL GROUP BY a.owner ORDER BY a.owner`,
      ),
      this.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM accounts WHERE owner IS NULL`),
    ]);
    return {
      owners: owners.rows.map((r) => ({
        owner: r.owner,
        accounts: r.accounts,
        enterpriseAccounts: r.enterprise,
      })),
      unassigned: unassigned.rows[0]?.n ?? 0,
    };
  }
}
