import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { RejectedItem, RejectedItemsQuery } from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';

interface Row {
  id: string;
  received_at: Date;
  kind: RejectedItem['kind'];
  source_id: number | null;
  import_id: string | null;
  item_index: number;
  line: number | null;
  item_id: string | null;
  code: string;
  message: string;
  payload: string | null;
  payload_truncated: boolean;
}

@Injectable()
export class RejectedItemsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** Newest first, keyset-paged on id; every filter is a bound parameter. */
  async list(query: RejectedItemsQuery): Promise<RejectedItem[]> {
    const { rows } = await this.pool.query<Row>(
      `SELECT * FROM rejected_items
       WHERE ($1::text IS NULL OR kind = $1)
         AND ($2::int IS NULL OR source_id = $2)
         AND ($3::bigint IS NULL OR import_id = $3)
         AND ($4::bigint IS NULL OR id < $4)
       ORDER BY id DESC
       LIMIT $5`,
      [query.kind ?? null, query.sourceId ?? null, query.importId ?? null, query.before ?? null, query.limit],
    );
    return rows.map((r) => ({
      id: Number(r.id),
      receivedAt: r.received_at.toISOString(),
      kind: r.kind,
      sourceId: r.source_id,
      importId: r.import_id === null ? null : Number(r.import_id),
      index: r.item_index,
      line: r.line,
      itemId: r.item_id,
      code: r.code,
      message: r.message,
      payload: r.payload,
      payloadTruncated: r.payload_truncated,
    }));
  }
}
