import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the dashboard's read API needs to answer from indexes rather than table scans:
 * - rated tickets with a comment, newest first, overall and per account (the comments list pages
 *   by keyset on them);
 * - tickets by creation time (support figures over the overview's period);
 * - account lists in each of their orders (see ACCOUNT_LIST_INDEXES), and searched by name or id;
 * - dashboard_snapshots: aggregates over one analytics run's results (overview, trends, segment
 *   summaries), computed on the first request after the run and read by every later one and by
 *   every API copy, so no page recomputes them per request. Keyed by run, so a new run's results
 *   are never mixed with an old run's aggregates; rows of older runs are deleted as new ones come.
 */
/**
 * One index per account-list order (nulls last, then the id), alone and under the tier and segment
 * filters for the default order: a page of 50 reads about 50 index entries instead of sorting all.
 */
const ACCOUNT_LIST_INDEXES: readonly [string, string][] = [
  ['account_scores_list_risk_idx', 'account_scores (churn_risk DESC NULLS LAST, account_id)'],
  ['account_scores_list_tier_risk_idx', 'account_scores (tier, churn_risk DESC NULLS LAST, account_id)'],
  [
    'account_scores_list_segment_risk_idx',
    'account_scores (segment, churn_risk DESC NULLS LAST, account_id)',
  ],
  ['account_scores_list_health_idx', 'account_scores (health ASC NULLS LAST, account_id)'],
  ['account_scores_list_upsell_idx', 'account_scores (upsell_score DESC NULLS LAST, account_id)'],
  [
    'account_scores_list_last_seen_idx',
    `account_scores ((CASE WHEN jsonb_typeof(features -> 'days_since_last_seen') = 'number'
       THEN (features ->> 'days_since_last_seen')::float8 END) DESC NULLS LAST, account_id)`,
  ],
  ['accounts_list_mrr_idx', 'accounts (mrr DESC NULLS LAST, id)'],
  ['accounts_list_renewal_idx', 'accounts (renewal_date ASC NULLS LAST, id)'],
  ['accounts_list_name_idx', 'accounts (name, id)'],
];

export class DashboardIndexes1764500000000 implements MigrationInterface {
  name = 'DashboardIndexes1764500000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(
      `CREATE INDEX tickets_rated_comment_idx ON tickets (created_at DESC, id DESC)
       WHERE csat_comment IS NOT NULL AND csat_score IS NOT NULL`,
    );
    // The same per account: a small segment's comments, found through its accounts.
    await q.query(
      `CREATE INDEX tickets_account_rated_comment_idx ON tickets (account_id, created_at DESC, id DESC)
       WHERE csat_comment IS NOT NULL AND csat_score IS NOT NULL`,
    );
    await q.query(`CREATE INDEX tickets_created_at_idx ON tickets (created_at)`);
    for (const [name, on] of ACCOUNT_LIST_INDEXES) await q.query(`CREATE INDEX ${name} ON ${on}`);
    // Searching accounts by part of a name or id ("%cloud%") through trigram indexes, not a scan.
    // pg_trgm ships with PostgreSQL (contrib) and is a trusted extension: the database owner may create it.
    await q.query(`CREATE EXTENSION IF NOT EXISTS pg_trgm`);
    await q.query(`CREATE INDEX accounts_name_trgm_idx ON accounts USING gin (name gin_trgm_ops)`);
    await q.query(
      `CREATE INDEX accounts_external_id_trgm_idx ON accounts USING gin (external_id gin_trgm_ops)`,
    );
    await q.query(`
      CREATE TABLE dashboard_snapshots (
        run_id      bigint NOT NULL,
        key         text NOT NULL,
        body        jsonb NOT NULL,
        computed_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (run_id, key)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE dashboard_snapshots`);
    // pg_trgm stays: something else may have come to use it since.
    await q.query(`DROP INDEX accounts_external_id_trgm_idx`);
    await q.query(`DROP INDEX accounts_name_trgm_idx`);
    for (const [name] of [...ACCOUNT_LIST_INDEXES].reverse()) await q.query(`DROP INDEX ${name}`);
    await q.query(`DROP INDEX tickets_created_at_idx`);
    await q.query(`DROP INDEX tickets_account_rated_comment_idx`);
    await q.query(`DROP INDEX tickets_rated_comment_idx`);
  }
}
