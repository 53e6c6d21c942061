import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { PG_POOL } from '../database/pg-pool.module.js';
import { statement } from './dashboard-sql.js';

/** The analytics run whose results the API serves now, and the instant they describe. */
export interface ServedRun {
  runId: number;
  asOf: Date;
}

/**
 * Aggregates of one run's results, stored once per run and key (see the 1764500000000 migration).
 * The served run is the one account_scores holds: each run replaces that table whole, in the same
 * transaction as its other results, so the key always matches the data it was computed from.
 */
@Injectable()
export class DashboardSnapshotsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** The served run; null before the first run has written results. */
  async servedRun(): Promise<ServedRun | null> {
    // Through the primary key: right after a run the table's first pages hold the old rows, dead.
    const { rows } = await this.pool.query<{ run_id: string; computed_at: Date }>(
      statement(`SELECT run_id, computed_at FROM account_scores ORDER BY account_id LIMIT 1`),
    );
    const row = rows[0];
    return row ? { runId: Number(row.run_id), asOf: row.computed_at } : null;
  }

  /** The snapshot stored under `key` for run `runId`, or undefined. */
  async find(runId: number, key: string): Promise<unknown> {
    const { rows } = await this.pool.query<{ body: unknown }>(
      statement(`SELECT body FROM dashboard_snapshots WHERE run_id = $1 AND key = $2`, [runId, key]),
    );
    return rows[0]?.body;
  }

  /** Stores a snapshot (a concurrent identical one wins silently) and forgets older runs' ones. */
  async store(runId: number, key: string, body: unknown): Promise<void> {
    await this.pool.query(
      `INSERT INTO dashboard_snapshots (run_id, key, body) VALUES ($1, $2, $3)
       ON CONFLICT (run_id, key) DO NOTHING`,
      [runId, key, JSON.stringify(body)],
    );
    await this.pool.query(`DELETE FROM dashboard_snapshots WHERE run_id < $1`, [runId]);
  }
}
