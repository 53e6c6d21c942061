import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { PG_POOL } from '../database/pg-pool.module.js';
import { statement } from './dashboard-sql.js';

/** A segment key resolved: a base segment, or a custom segment with its name and last change. */
export type SegmentScope =
  | { kind: 'base'; key: string; name: string; segment: string }
  | { kind: 'custom'; key: string; name: string; customSegmentId: number; updatedAt: string };

/** Turns a segment key (base segment or custom segment id) into a scope, or a 404. */
@Injectable()
export class SegmentScopes {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async resolve(key: string): Promise<SegmentScope> {
    if (!/^\d+$/.test(key)) return { kind: 'base', key, name: key, segment: key };
    const { rows } = await this.pool.query<{ name: string; updated_at: Date }>(
      statement(`SELECT name, updated_at FROM custom_segments WHERE id = $1`, [key]),
    );
    const found = rows[0];
    if (!found) throw new AppException(ErrorCode.NotFound, `Segment ${key} does not exist`);
    return {
      kind: 'custom',
      key,
      name: found.name,
      customSegmentId: Number(key),
      updatedAt: found.updated_at.toISOString(),
    };
  }

  /** The scope as repository filters take it. */
  static filter(scope: SegmentScope | undefined): { segment?: string; customSegmentId?: number } {
    if (!scope) return {};
    return scope.kind === 'base' ? { segment: scope.segment } : { customSegmentId: scope.customSegmentId };
  }
}
