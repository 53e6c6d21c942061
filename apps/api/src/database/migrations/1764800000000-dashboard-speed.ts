import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the dashboard's read endpoints need to answer within 100 ms (p95) under 50 concurrent clients
 * at 10,000 accounts and 10 million events (bench:api):
 *
 * - account_list_keys: the columns the account lists filter and sort on, one narrow row (~90 bytes)
 *   per scored account. account_scores rows are ~1.7 kB (the features JSON mostly), four to a page,
 *   so choosing a page by walking them cost a page read per account passed over (offset 1000: 20 ms).
 *   Statement triggers keep it equal to account_scores in the same transaction as every write, so the
 *   analytics run (which replaces account_scores whole) and anything else writing scores need not
 *   know of it. One index per list order, alone and under a segment or tier filter, with what the
 *   "not churned as of the run" check and the risk-band filter read, so a page is chosen from an
 *   index alone and only its own rows are read whole.
 * - accounts_churned_idx: the churned accounts only, probed once per account a list passes over.
 * - tickets_account_comment_idx: rated comments per account with their satisfied flag as a key and
 *   the filter columns included: a small segment's comments are chosen from the index and only the
 *   page's tickets are read (it replaces tickets_account_rated_comment_idx, which needed a ticket
 *   read for each comment passed over).
 * - account_activity_weeks: events and active contacts per account and ISO week (Monday, UTC), for
 *   the account page's activity chart, which otherwise counts up to 104 weeks of raw events per
 *   request. Weeks before account_activity_rollup.complete_before are counted; later weeks are only
 *   noted (counts NULL) and counted once they are complete; the API reads those live from events.
 *   Kept by refreshAccountActivityRollup (dashboard/account-activity-rollup.ts) after each analytics
 *   run: only weeks that new events touched are recounted.
 *
 * The account lists' orders moved to account_list_keys; the account_scores indexes only they used
 * are dropped (the risk-order ones stay: segment previews and audiences use them).
 */

/** Days since the account's last event, from the run's features (a JSON number; anything else is null). */
const DAYS_SINCE_LAST_SEEN = `CASE WHEN jsonb_typeof(features -> 'days_since_last_seen') = 'number'
  THEN (features ->> 'days_since_last_seen')::float8 END`;

const LIST_KEY_COLUMNS = `account_id, computed_at, tier, proficiency, segment, churn_risk, health, upsell_score,
  days_since_last_seen`;

/** The account lists' orders as in AccountListRepository: nulls last, then the account id. */
const LIST_ORDERS: readonly [string, string][] = [
  ['risk', 'churn_risk DESC NULLS LAST'],
  ['health', 'health ASC NULLS LAST'],
  ['upsell', 'upsell_score DESC NULLS LAST'],
  ['last_seen', 'days_since_last_seen DESC NULLS LAST'],
];

/** Every order alone and under each scope filter the pages use (a segment's members, a tier). */
const LIST_KEY_INDEXES: readonly [string, string][] = ['', 'segment', 'tier'].flatMap((scope) =>
  LIST_ORDERS.map(([name, order]): [string, string] => [
    `account_list_keys_${scope ? `${scope}_` : ''}${name}_idx`,
    `account_list_keys (${scope ? `${scope}, ` : ''}${order}, account_id)
     INCLUDE (computed_at${name === 'risk' ? '' : ', churn_risk'})`,
  ]),
);

/** Indexes of the 1764500000000 migration that only the account lists' orders used. */
const REPLACED_LIST_INDEXES: readonly [string, string][] = [
  ['account_scores_list_health_idx', 'account_scores (health ASC NULLS LAST, account_id)'],
  ['account_scores_list_upsell_idx', 'account_scores (upsell_score DESC NULLS LAST, account_id)'],
  [
    'account_scores_list_last_seen_idx',
    `account_scores ((CASE WHEN jsonb_typeof(features -> 'days_since_last_seen') = 'number'
       THEN (features ->> 'days_since_last_seen')::float8 END) DESC NULLS LAST, account_id)`,
  ],
];

/** A rated ticket with a comment the comments list shows (see SupportQualityRepository.comments). */
const RATED_COMMENT = `csat_comment IS NOT NULL AND csat_score IS NOT NULL
  AND csat_scale IN ('five_point', 'good_bad') AND btrim(csat_comment) <> ''`;

/** Satisfied (4-5 of 5, or good), exactly as dashboard-sql.ts writes it, so the planner matches it. */
const SATISFIED = `(CASE WHEN csat_scale = 'five_point' THEN csat_score >= 4
  WHEN csat_scale = 'good_bad' THEN csat_score = 1 END)`;

export class DashboardSpeed1764800000000 implements MigrationInterface {
  name = 'DashboardSpeed1764800000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE account_list_keys (
        account_id           bigint PRIMARY KEY,
        computed_at          timestamptz NOT NULL,
        tier                 text NOT NULL,
        proficiency          text NOT NULL,
        segment              text NOT NULL,
        churn_risk           double precision,
        health               smallint,
        upsell_score         double precision,
        days_since_last_seen double precision
      )`);
    // One function for the three row-changing statements: each passes its transition tables.
    await q.query(`
      CREATE FUNCTION account_list_keys_sync() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
          DELETE FROM account_list_keys k USING old_rows o WHERE k.account_id = o.account_id;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
          INSERT INTO account_list_keys (${LIST_KEY_COLUMNS})
          SELECT account_id, computed_at, tier, proficiency, segment, churn_risk, health, upsell_score,
                 ${DAYS_SINCE_LAST_SEEN}
          FROM new_rows;
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE FUNCTION account_list_keys_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        TRUNCATE account_list_keys;
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER account_list_keys_insert AFTER INSERT ON account_scores
      REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION account_list_keys_sync()`);
    await q.query(`CREATE TRIGGER account_list_keys_update AFTER UPDATE ON account_scores
      REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION account_list_keys_sync()`);
    await q.query(`CREATE TRIGGER account_list_keys_delete AFTER DELETE ON account_scores
      REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION account_list_keys_sync()`);
    await q.query(`CREATE TRIGGER account_list_keys_truncate AFTER TRUNCATE ON account_scores
      FOR EACH STATEMENT EXECUTE FUNCTION account_list_keys_truncate()`);
    await q.query(`
      INSERT INTO account_list_keys (${LIST_KEY_COLUMNS})
      SELECT account_id, computed_at, tier, proficiency, segment, churn_risk, health, upsell_score,
             ${DAYS_SINCE_LAST_SEEN}
      FROM account_scores`);
    for (const [name, on] of LIST_KEY_INDEXES) await q.query(`CREATE INDEX ${name} ON ${on}`);
    for (const [name] of REPLACED_LIST_INDEXES) await q.query(`DROP INDEX ${name}`);

    await q.query(
      `CREATE INDEX accounts_churned_idx ON accounts (id) INCLUDE (churned_at) WHERE churned_at IS NOT NULL`,
    );

    await q.query(
      `CREATE INDEX tickets_account_comment_idx ON tickets (account_id, ${SATISFIED}, created_at DESC, id DESC)
       INCLUDE (csat_scale, csat_score, channel) WHERE ${RATED_COMMENT}`,
    );
    await q.query(`DROP INDEX tickets_account_rated_comment_idx`);

    await q.query(`
      CREATE TABLE account_activity_weeks (
        account_id   bigint NOT NULL,
        week         date NOT NULL,
        events       integer,
        active_users integer,
        PRIMARY KEY (account_id, week)
      )`);
    // The weeks a refresh still has to count.
    await q.query(
      `CREATE INDEX account_activity_weeks_uncounted_idx ON account_activity_weeks (week) WHERE events IS NULL`,
    );
    // One row, once the first refresh has run.
    await q.query(`
      CREATE TABLE account_activity_rollup (
        id              boolean PRIMARY KEY DEFAULT true CHECK (id),
        complete_before date NOT NULL,
        max_event_id    bigint NOT NULL,
        changes_from    timestamptz NOT NULL,
        refreshed_at    timestamptz NOT NULL
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE account_activity_rollup`);
    await q.query(`DROP TABLE account_activity_weeks`);
    await q.query(
      `CREATE INDEX tickets_account_rated_comment_idx ON tickets (account_id, created_at DESC, id DESC)
       WHERE csat_comment IS NOT NULL AND csat_score IS NOT NULL`,
    );
    await q.query(`DROP INDEX tickets_account_comment_idx`);
    await q.query(`DROP INDEX accounts_churned_idx`);
    for (const [name, on] of REPLACED_LIST_INDEXES) await q.query(`CREATE INDEX ${name} ON ${on}`);
    for (const trigger of ['truncate', 'delete', 'update', 'insert'])
      await q.query(`DROP TRIGGER account_list_keys_${trigger} ON account_scores`);
    await q.query(`DROP FUNCTION account_list_keys_truncate()`);
    await q.query(`DROP FUNCTION account_list_keys_sync()`);
    await q.query(`DROP TABLE account_list_keys`);
  }
}
