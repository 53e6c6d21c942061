import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-account scores over time, one row per account and UTC day: the dashboard's risk and health
 * trends, the segment mix by week and "change since last period" read it. Each analytics run
 * writes today's row; past weekly points the job could not have seen (a fresh install) are
 * backfilled from the event history with the current model and marked as such.
 */
export class ScoreHistory1764400000000 implements MigrationInterface {
  name = 'ScoreHistory1764400000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE account_score_history (
        account_id    bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
        as_of         date NOT NULL,
        run_id        bigint NOT NULL,
        tier          text NOT NULL,
        proficiency   text NOT NULL,
        segment       text NOT NULL,
        churn_risk    double precision,
        health        smallint,
        upsell_score  double precision,
        mrr           numeric(14,2),
        backfilled    boolean NOT NULL DEFAULT false,
        PRIMARY KEY (account_id, as_of)
      )`);
    await q.query(`CREATE INDEX account_score_history_as_of_idx ON account_score_history (as_of, segment)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE account_score_history`);
  }
}
