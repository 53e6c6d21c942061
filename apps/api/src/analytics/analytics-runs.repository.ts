import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { AnalyticsRun, ModelReport } from '@retain/contracts';
import { PG_POOL, tryAdvisoryLock, type AdvisoryLock } from '../database/pg-pool.module.js';

/** Advisory lock that makes analytics runs never overlap, across processes and API copies. */
const ANALYTICS_LOCK = 72_657_004;

interface Row {
  id: string;
  trigger: AnalyticsRun['trigger'];
  full_rebuild: boolean;
  status: AnalyticsRun['status'];
  stage: string | null;
  progress: number;
  started_at: Date;
  finished_at: Date | null;
  as_of: Date | null;
  rows_read: string;
  rows_written: string;
  stage_ms: Record<string, number>;
  watermark: Watermark | null;
  model: ModelReport | null;
  error: string | null;
}

/** What a run extracted up to; the next incremental run starts from it. */
export interface Watermark {
  maxEventId: string;
  extractedAt: string;
  /**
   * Every row changed from this instant on (by PostgreSQL's clock) may not have been committed when
   * the run extracted: the start of the oldest transaction then in progress. Runs before this field
   * existed lack it; their next run falls back to extractedAt less a late-commit window.
   */
  changesFrom?: string;
}

const toRun = (r: Row): AnalyticsRun => ({
  id: Number(r.id),
  trigger: r.trigger,
  fullRebuild: r.full_rebuild,
  status: r.status,
  stage: r.stage,
  progress: r.progress,
  startedAt: r.started_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
  asOf: r.as_of?.toISOString() ?? null,
  rowsRead: Number(r.rows_read),
  rowsWritten: Number(r.rows_written),
  stageMs: r.stage_ms,
  model: r.model,
  error: r.error,
});

export type RunLock = AdvisoryLock;

@Injectable()
export class AnalyticsRunsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** The run lock on a connection of its own (it goes with the connection if the process dies). */
  tryLock(): Promise<RunLock | null> {
    return tryAdvisoryLock(this.pool, ANALYTICS_LOCK);
  }

  /** Runs a dead process left 'running' are marked failed (only called while holding the lock). */
  async failAbandoned(): Promise<void> {
    await this.pool.query(
      `UPDATE analytics_runs SET status = 'failed', finished_at = now(),
              error = 'The process running it stopped; the previous results stayed in place'
       WHERE status = 'running'`,
    );
  }

  async start(trigger: AnalyticsRun['trigger'], fullRebuild: boolean): Promise<number> {
    const { rows } = await this.pool.query<{ id: string }>(
      `INSERT INTO analytics_runs (trigger, full_rebuild, stage) VALUES ($1, $2, 'extract') RETURNING id`,
      [trigger, fullRebuild],
    );
    return Number(rows[0]!.id);
  }

  async progress(
    id: number,
    stage: string,
    progress: number,
    stageMs: Record<string, number>,
  ): Promise<void> {
    await this.pool.query(
      `UPDATE analytics_runs SET stage = $2, progress = $3, stage_ms = $4 WHERE id = $1`,
      [id, stage, Math.max(0, Math.min(100, Math.round(progress))), JSON.stringify(stageMs)],
    );
  }

  async succeed(
    id: number,
    result: {
      asOf: Date;
      rowsRead: number;
      rowsWritten: number;
      stageMs: Record<string, number>;
      watermark: Watermark;
      model: ModelReport | null;
    },
  ): Promise<void> {
    await this.pool.query(
      `UPDATE analytics_runs SET status = 'succeeded', progress = 100, stage = NULL, finished_at = now(),
              as_of = $2, rows_read = $3, rows_written = $4, stage_ms = $5, watermark = $6, model = $7
       WHERE id = $1`,
      [
        id,
        result.asOf,
        result.rowsRead,
        result.rowsWritten,
        JSON.stringify(result.stageMs),
        JSON.stringify(result.watermark),
        result.model === null ? null : JSON.stringify(result.model),
      ],
    );
  }

  async fail(id: number, error: string, stageMs: Record<string, number>): Promise<void> {
    await this.pool.query(
      `UPDATE analytics_runs SET status = 'failed', finished_at = now(), error = $2, stage_ms = $3 WHERE id = $1`,
      [id, error, JSON.stringify(stageMs)],
    );
  }

  async get(id: number): Promise<AnalyticsRun | null> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM analytics_runs WHERE id = $1`, [id]);
    return rows[0] ? toRun(rows[0]) : null;
  }

  async list(limit: number): Promise<AnalyticsRun[]> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM analytics_runs ORDER BY id DESC LIMIT $1`, [
      limit,
    ]);
    return rows.map(toRun);
  }

  async running(): Promise<AnalyticsRun | null> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM analytics_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1`,
    );
    return rows[0] ? toRun(rows[0]) : null;
  }

  /** The watermark of the last successful run, where the next incremental extract starts. */
  async lastWatermark(): Promise<Watermark | null> {
    const { rows } = await this.pool.query<{ watermark: Watermark | null }>(
      `SELECT watermark FROM analytics_runs WHERE status = 'succeeded' AND watermark IS NOT NULL
       ORDER BY id DESC LIMIT 1`,
    );
    return rows[0]?.watermark ?? null;
  }
}
