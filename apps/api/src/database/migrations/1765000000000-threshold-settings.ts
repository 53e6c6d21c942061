import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Segment thresholds saved from the dashboard or API: the size tiers and the novice / expert
 * cut-off. One row at most; without it the analytics job uses the configured defaults (TIER_*).
 */
export class ThresholdSettings1765000000000 implements MigrationInterface {
  name = 'ThresholdSettings1765000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE threshold_settings (
        id                    boolean PRIMARY KEY DEFAULT true CHECK (id),
        enterprise_min_mrr    numeric(14,2) NOT NULL CHECK (enterprise_min_mrr >= 0),
        enterprise_min_seats  integer NOT NULL CHECK (enterprise_min_seats >= 1),
        midmarket_min_mrr     numeric(14,2) NOT NULL CHECK (midmarket_min_mrr >= 0 AND midmarket_min_mrr < enterprise_min_mrr),
        expert_min_score      double precision NOT NULL CHECK (expert_min_score BETWEEN 0 AND 1),
        updated_at            timestamptz NOT NULL DEFAULT now(),
        updated_by            text
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE threshold_settings`);
  }
}
