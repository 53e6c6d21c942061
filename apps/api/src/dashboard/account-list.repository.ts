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

/**
 * The column of each sort and its tiebreaker: the run's scores from account_list_keys k (a narrow
 * copy of account_scores' list columns, with an index per order: see the 1764800000000 migration),
 * the account's own fields from accounts a.
 */
const SORT_COLUMNS: Record<AccountSort, [string, string]> = {
  churn_risk: ['k.churn_risk', 'k.account_id'],
  health: ['k.health', 'k.account_id'],
  mrr: ['a.mrr', 'a.id'],
  renewal_date: ['a.renewal_date', 'a.id'],
  upsell_score: ['k.upsell_score', 'k.account_id'],
  name: ['a.name', 'a.id'],
  days_since_last_seen: ['k.days_since_last_seen', 'k.account_id'],
};

const SORTS_ON_ACCOUNT = new Set<AccountSort>(['mrr', 'renewal_date', 'name']);

/**
 * Not churned as of the run, as ACTIVE_AT, without reading each account. A first page passes over
 * few accounts: each is probed among the churned ones (accounts_churned_idx). A deeper page passes
 * over at least `offset` of them: the churned ones are hashed once instead, as of the run (every
 * row of a run has its computed_at), which keeps the list's index order.
 */
const NOT_CHURNED = `NOT EXISTS (SELECT 1 FROM accounts c WHERE c.id = k.account_id AND c.churned_at <= k.computed_at)`;
const NOT_CHURNED_HASHED = `k.account_id NOT IN (
  SELECT id FROM accounts
  WHERE churned_at <= (SELECT computed_at FROM account_list_keys ORDER BY account_id LIMIT 1))`;

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
  k.tier, k.proficiency, k.segment, k.churn_risk, k.health, k.upsell_score,
  jsonb_path_query_array(s.churn_reasons, 'lax $[0 to 2]') AS churn_reasons, k.days_since_last_seen`;

/** Joined to account_list_keys k: the rest of what ROW_COLUMNS reads. */
const ROW_JOINS = `JOIN account_scores s ON s.account_id = k.account_id JOIN accounts a ON a.id = k.account_id`;

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

/**
 * The accounts a filtered list selects: over account_list_keys k, joined to accounts a only when a
 * filter or the sort reads the account itself (or `withAccounts`). `deep`: for a page past the first.
 */
function selection(
  f: AccountListFilters,
  { withAccounts = false, deep = false } = {},
): { from: string; c: SqlConditions } {
  const joinsAccounts = withAccounts || f.owner !== undefined || SORTS_ON_ACCOUNT.has(f.sort);
  const c = new SqlConditions();
  // A search matches a few hundred accounts at most: one hash of the churned ones beats a probe each.
  if (!f.includeChurned)
    c.add(joinsAccounts ? ACTIVE_AT('k.computed_at') : deep || f.q ? NOT_CHURNED_HASHED : NOT_CHURNED);
  // Closed sets and ids are written in (see enumLiteral); owner and search text are parameters.
  if (f.segment) c.add(`k.segment = ${enumLiteral(f.segment, BASE_SEGMENTS)}`);
  if (f.customSegmentId !== undefined)
    c.add(
      `EXISTS (SELECT 1 FROM custom_segment_members m
               WHERE m.segment_id = ${Math.trunc(f.customSegmentId)} AND m.account_id = k.account_id)`,
    );
  if (f.tier) c.add(`k.tier = ${enumLiteral(f.tier, TIERS)}`);
  if (f.proficiency) c.add(`k.proficiency = ${enumLiteral(f.proficiency, PROFICIENCIES)}`);
  if (f.owner) c.add(`a.owner = ${c.param(f.owner)}`);
  if (f.riskBand) c.add(riskBandSql('k.churn_risk', f.riskBand));
  if (f.q) {
    const pattern = c.param(containsPattern(f.q));
    // The list keys carry the name and external id (trigram-indexed), kept equal to the account's.
    c.add(`(k.name ILIKE ${pattern} OR k.external_id ILIKE ${pattern})`);
  }
  return {
    from: joinsAccounts
      ? 'account_list_keys k JOIN accounts a ON a.id = k.account_id'
      : 'account_list_keys k',
    c,
  };
}

/** ORDER BY of a sort: nulls last in either direction, then by id so pages never overlap. */
function orderBy(
  sort: AccountSort,
  order: 'asc' | 'desc' | undefined,
  [column, id] = SORT_COLUMNS[sort],
): string {
  const direction = (order ?? ACCOUNT_SORT_DEFAULT_ORDER[sort]) === 'asc' ? 'ASC' : 'DESC';
  return `${column} ${direction} NULLS LAST, ${id}`;
}

type PageRow = AccountListRow & { run_id: string; computed_at: string; total?: number };

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
    const { from, c } = selection(filters);
    const { rows } = await this.pool.query<{ total: number }>(
      statement(`SELECT count(*)::int AS total FROM ${from} ${c.where()}`, c.params),
    );
    return rows[0]?.total ?? 0;
  }

  /** Counts per combination of the filters that only depend on the run's scores. */
  async countsByGroup(): Promise<AccountCountRow[]> {
    const band = (b: RiskBand) => `WHEN ${riskBandSql('k.churn_risk', b)} THEN '${b}'`;
    const { rows } = await this.pool.query<AccountCountRow>(
      `SELECT k.tier, k.proficiency, k.segment,
              CASE ${band('low')} ${band('medium')} ${band('high')} END AS band,
              ${ACTIVE_AT('k.computed_at')} AS active, count(*)::int AS accounts
       FROM account_list_keys k JOIN accounts a ON a.id = k.account_id
       GROUP BY 1, 2, 3, 4, 5`,
    );
    return rows;
  }

  /**
   * One page: its accounts are chosen on the narrow list keys (from an index, for the common filters
   * and orders), then only they are read whole. `withTotal` counts every match in the same statement,
   * for filters narrow enough to read whole (an owner, a search, a custom segment): the matches are
   * gathered first, as a step of their own, since a count over the window would let the planner walk
   * the whole list in order for the first rows.
   *
   * Each filter and order is one prepared statement for first pages (the most asked for) and one for
   * deeper pages, whose OFFSET is a parameter read through a sub-select: unknown to every plan alike,
   * so PostgreSQL keeps one generic plan for every offset rather than planning each page anew.
   */
  async page(
    filters: AccountListFilters,
    limit: number,
    offset: number,
    withTotal: boolean,
  ): Promise<AccountPage> {
    const deep = offset > 0;
    const { from, c } = selection(filters, { deep });
    const order = orderBy(filters.sort, filters.order);
    const paging = `LIMIT ${Math.trunc(limit)} OFFSET ${deep ? `(SELECT ${c.param(Math.trunc(offset))}::bigint)` : 0}`;
    const chosen = withTotal
      ? `WITH matches AS MATERIALIZED (
           SELECT k.account_id, ${SORT_COLUMNS[filters.sort][0]} AS sort_value FROM ${from} ${c.where()}
         )
         SELECT account_id, (SELECT count(*) FROM matches)::int AS total FROM matches
         ORDER BY ${orderBy(filters.sort, filters.order, ['sort_value', 'account_id'])} ${paging}`
      : `SELECT k.account_id FROM ${from} ${c.where()} ORDER BY ${order} ${paging}`;
    const { rows } = await this.pool.query<PageRow>(
      statement(
        `WITH page AS (${chosen})
         SELECT ${ROW_COLUMNS}, s.run_id, ${isoText('k.computed_at')} AS computed_at
                ${withTotal ? ', p.total' : ''}
         FROM page p JOIN account_list_keys k ON k.account_id = p.account_id ${ROW_JOINS}
         ORDER BY ${order}`,
        c.params,
      ),
    );
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
    const { c } = selection(filters, { withAccounts: true });
    const out = await checkOut(this.pool);
    let broken = true;
    try {
      await out.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await out.client.query(
        `DECLARE account_export NO SCROLL CURSOR FOR
         SELECT ${ROW_COLUMNS} FROM account_list_keys k ${ROW_JOINS}
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
