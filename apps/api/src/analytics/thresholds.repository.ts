import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { Thresholds } from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';

export interface SavedThresholds {
  thresholds: Thresholds;
  updatedAt: Date;
  updatedBy: string | null;
}

/** The one row of saved segment thresholds. */
@Injectable()
export class ThresholdsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async get(): Promise<SavedThresholds | null> {
    const { rows } = await this.pool.query<{
      enterprise_min_mrr: string;
      enterprise_min_seats: number;
      midmarket_min_mrr: string;
      expert_min_score: number;
      updated_at: Date;
      updated_by: string | null;
    }>(`SELECT * FROM threshold_settings`);
    const row = rows[0];
    if (!row) return null;
    return {
      thresholds: {
        enterpriseMinMrr: Number(row.enterprise_min_mrr),
        enterpriseMinSeats: row.enterprise_min_seats,
        midMarketMinMrr: Number(row.midmarket_min_mrr),
        expertMinScore: row.expert_min_score,
      },
      updatedAt: row.updated_at,
      updatedBy: row.updated_by,
    };
  }

  async save(t: Thresholds, by: string | null): Promise<void> {
    await this.pool.query(
      `INSERT INTO threshold_settings (id, enterprise_min_mrr, enterprise_min_seats, midmarket_min_mrr, expert_min_score, updated_by)
       VALUES (true, $1, $2, $3, $4, $5)
       ON CONFLICT (id) DO UPDATE SET enterprise_min_mrr = $1, enterprise_min_seats = $2, midmarket_min_mrr = $3,
         expert_min_score = $4, updated_by = $5, updated_at = now()`,
      [t.enterpriseMinMrr, t.enterpriseMinSeats, t.midMarketMinMrr, t.expertMinScore, by],
    );
  }
}
