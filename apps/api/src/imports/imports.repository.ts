import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { Import, ImportCounts, ImportFormat, ImportKind } from '@retain/contracts';
import { PG_POOL, tryAdvisoryLock, type AdvisoryLock } from '../database/pg-pool.module.js';

interface Row {
  id: string;
  kind: ImportKind;
  format: ImportFormat;
  source: string | null;
  file_name: string | null;
  status: Import['status'];
  bytes_total: string | null;
  bytes_done: string;
  rows_read: number;
  inserted: number;
  updated: number;
  duplicates: number;
  pending: number;
  rejected: number;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

function toImport(r: Row): Import {
  const total = r.bytes_total === null ? null : Number(r.bytes_total);
  const done = Number(r.bytes_done);
  return {
    id: Number(r.id),
    kind: r.kind,
    format: r.format,
    source: r.source,
    fileName: r.file_name,
    status: r.status,
    progress:
      r.status === 'succeeded' ? 100 : total ? Math.min(99.9, Math.round((done / total) * 1000) / 10) : 0,
    bytesTotal: total,
    bytesDone: done,
    received: r.rows_read,
    inserted: r.inserted,
    updated: r.updated,
    duplicates: r.duplicates,
    pending: r.pending,
    rejected: r.rejected,
    error: r.error,
    createdAt: r.created_at.toISOString(),
    startedAt: r.started_at?.toISOString() ?? null,
    finishedAt: r.finished_at?.toISOString() ?? null,
  };
}

export interface NewImport {
  kind: ImportKind;
  format: ImportFormat;
  source: string | null;
  fileName: string | null;
  options: Record<string, unknown>;
}

/** Advisory lock class for imports: (IMPORT_LOCK, import id) is held while an import runs. */
const IMPORT_LOCK = 72_657_003;

export type ImportLock = AdvisoryLock;

/** The imports table: what was uploaded, how far its processing got, and its counts. */
@Injectable()
export class ImportsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /**
   * Takes the import's lock on a connection of its own, or null when another process holds it.
   * A session lock: it goes with the connection if the process dies, so a crashed run can resume.
   */
  tryLock(id: number): Promise<ImportLock | null> {
    return tryAdvisoryLock(this.pool, IMPORT_LOCK, id);
  }

  async create(input: NewImport): Promise<Import> {
    const { rows } = await this.pool.query<Row>(
      `INSERT INTO imports (kind, format, source, file_name, options) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [input.kind, input.format, input.source, input.fileName, JSON.stringify(input.options)],
    );
    return toImport(rows[0]!);
  }

  async get(id: number): Promise<Import | null> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM imports WHERE id = $1`, [id]);
    return rows[0] ? toImport(rows[0]) : null;
  }

  async options(id: number): Promise<Record<string, unknown>> {
    const { rows } = await this.pool.query<{ options: Record<string, unknown> }>(
      `SELECT options FROM imports WHERE id = $1`,
      [id],
    );
    return rows[0]?.options ?? {};
  }

  async list(limit: number): Promise<Import[]> {
    const { rows } = await this.pool.query<Row>(`SELECT * FROM imports ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map(toImport);
  }

  /** Imports not finished: queued or running here or in another process, or left by a stopped one. */
  async unfinished(): Promise<{ id: number; status: 'queued' | 'running'; ageHours: number }[]> {
    const { rows } = await this.pool.query<{ id: string; status: 'queued' | 'running'; age_hours: number }>(
      `SELECT id, status, extract(epoch FROM now() - created_at) / 3600 AS age_hours
       FROM imports WHERE status IN ('queued', 'running') ORDER BY id`,
    );
    return rows.map((r) => ({ id: Number(r.id), status: r.status, ageHours: Number(r.age_hours) }));
  }

  /** Starts (or restarts) a run from zero counts; the writes are upserts, so a rerun adds nothing twice. */
  async start(id: number, bytesTotal: number): Promise<void> {
    await this.pool.query(
      `UPDATE imports SET status = 'running', started_at = now(), finished_at = NULL, error = NULL,
              bytes_total = $2, bytes_done = 0, rows_read = 0, inserted = 0, updated = 0, duplicates = 0,
              pending = 0, rejected = 0
       WHERE id = $1`,
      [id, bytesTotal],
    );
  }

  async progress(id: number, bytesDone: number, counts: ImportCounts): Promise<void> {
    await this.pool.query(
      `UPDATE imports SET bytes_done = $2, rows_read = $3, inserted = $4, updated = $5, duplicates = $6,
              pending = $7, rejected = $8
       WHERE id = $1`,
      [
        id,
        bytesDone,
        counts.received,
        counts.inserted,
        counts.updated,
        counts.duplicates,
        counts.pending,
        counts.rejected,
      ],
    );
  }

  async finish(id: number, status: 'succeeded' | 'failed', error: string | null): Promise<void> {
    await this.pool.query(
      `UPDATE imports SET status = $2, error = $3, finished_at = now(),
              bytes_done = CASE WHEN $2 = 'succeeded' THEN coalesce(bytes_total, bytes_done) ELSE bytes_done END
       WHERE id = $1`,
      [id, status, error],
    );
  }
}
