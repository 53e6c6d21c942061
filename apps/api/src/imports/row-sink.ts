import { storableJson } from '../common/hostile-input.js';
import type { ImportCounts, RowErrorBody } from '@retain/contracts';
import type { RejectedItemRow, RejectedKind } from '../rejected-items/rejected-items.sql.js';
import type { RowError } from './import-records.js';

/** Rows per write: large enough for set-based statements to pay, small enough to keep memory flat. */
export const WRITE_BATCH = 2_000;
/** Errors listed in an answer or a CLI summary; all of them are kept in rejected_items. */
export const MAX_LISTED_ERRORS = 1_000;

export type BatchWriter<T> = (
  rows: T[],
  rejected: RejectedItemRow[],
) => Promise<{ inserted: number; updated: number; pending: number; duplicates: number }>;

/**
 * Collects parsed rows and refused ones, writes them in batches (each batch one commit, refused
 * rows in the same commit), and keeps the counts.
 */
export class RowSink<T> {
  readonly counts: ImportCounts = {
    received: 0,
    inserted: 0,
    updated: 0,
    duplicates: 0,
    pending: 0,
    rejected: 0,
  };
  readonly errors: RowErrorBody[] = [];
  private rows: T[] = [];
  private rejected: RejectedItemRow[] = [];

  constructor(
    private readonly write: BatchWriter<T>,
    private readonly kind: RejectedKind,
    private readonly importId: string | null,
    /** Runs before each write: lets ticket metrics wait until the tickets read before them are stored. */
    private readonly beforeFlush?: () => Promise<void>,
  ) {}

  async add(row: T): Promise<void> {
    this.counts.received++;
    this.rows.push(row);
    if (this.rows.length >= WRITE_BATCH) await this.flush();
  }

  async reject(error: RowError, payload: unknown): Promise<void> {
    this.counts.received++;
    this.counts.rejected++;
    const externalId = error.externalId ?? null;
    if (this.errors.length < MAX_LISTED_ERRORS)
      this.errors.push({
        index: error.index,
        line: error.line ?? null,
        externalId,
        code: error.code,
        message: error.message,
      });
    this.rejected.push({
      kind: this.kind,
      sourceId: null,
      importId: this.importId,
      index: error.index,
      line: error.line ?? null,
      itemId: externalId,
      code: error.code,
      message: error.message,
      payload: typeof payload === 'string' ? payload : storableJson(payload),
    });
    if (this.rejected.length >= WRITE_BATCH) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.rows.length === 0 && this.rejected.length === 0) return;
    await this.beforeFlush?.();
    const [rows, rejected] = [this.rows, this.rejected];
    this.rows = [];
    this.rejected = [];
    const written = await this.write(rows, rejected);
    this.counts.inserted += written.inserted;
    this.counts.updated += written.updated;
    this.counts.pending += written.pending;
    this.counts.duplicates += written.duplicates;
  }
}
