import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type { FilterNode, Segment, SegmentMember, SegmentPreview } from '@retain/contracts';
import { PG_POOL, inTransaction } from '../database/pg-pool.module.js';
import { SEGMENT_FROM, type CompiledFilter } from './segment-filter.js';
import { replaceSegmentMembers } from './segment-membership.js';

interface SegmentRow {
  id: string;
  name: string;
  description: string | null;
  filter: FilterNode;
  members: number;
  created_at: Date;
  updated_at: Date;
}

interface MemberRow {
  account_id: string;
  external_id: string;
  name: string;
  tier: string;
  segment: string;
  churn_risk: number | null;
  health: number | null;
  mrr: string | null;
}

const toSegment = (r: SegmentRow): Segment => ({
  id: Number(r.id),
  name: r.name,
  description: r.description,
  filter: r.filter,
  members: r.members,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toMember = (r: MemberRow): SegmentMember => ({
  accountId: Number(r.account_id),
  externalId: r.external_id,
  name: r.name,
  tier: r.tier,
  segment: r.segment,
  churnRisk: r.churn_risk,
  health: r.health,
  mrr: r.mrr === null ? null : Number(r.mrr),
});

const SEGMENT_COLUMNS = `c.id, c.name, c.description, c.filter, c.created_at, c.updated_at,
  (SELECT count(*)::int FROM custom_segment_members m WHERE m.segment_id = c.id) AS members`;
const MEMBER_COLUMNS = `a.id AS account_id, a.external_id, a.name, s.tier, s.segment, s.churn_risk, s.health, a.mrr`;

export interface SegmentChanges {
  name?: string;
  /** undefined leaves the description as it is; null clears it. */
  description?: string | null;
  filter?: FilterNode;
}

/** Saved segments and their members; a save recomputes the members in the same transaction. */
@Injectable()
export class SegmentsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async create(name: string, description: string | null, filter: FilterNode): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO custom_segments (name, description, filter) VALUES ($1, $2, $3) RETURNING id`,
        [name, description, JSON.stringify(filter)],
      );
      const id = Number(rows[0]!.id);
      await replaceSegmentMembers(client, id, filter);
      return id;
    });
  }

  async findById(id: number): Promise<Segment | null> {
    const { rows } = await this.pool.query<SegmentRow>(
      `SELECT ${SEGMENT_COLUMNS} FROM custom_segments c WHERE c.id = $1`,
      [id],
    );
    return rows[0] ? toSegment(rows[0]) : null;
  }

  async list(): Promise<Segment[]> {
    const { rows } = await this.pool.query<SegmentRow>(
      `SELECT ${SEGMENT_COLUMNS} FROM custom_segments c ORDER BY c.name`,
    );
    return rows.map(toSegment);
  }

  /** False when the segment does not exist. */
  async update(id: number, changes: SegmentChanges): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE custom_segments
         SET name = COALESCE($2, name),
             description = CASE WHEN $3 THEN $4 ELSE description END,
             filter = COALESCE($5, filter)
         WHERE id = $1`,
        [
          id,
          changes.name ?? null,
          changes.description !== undefined,
          changes.description ?? null,
          changes.filter ? JSON.stringify(changes.filter) : null,
        ],
      );
      if (!rowCount) return false;
      if (changes.filter) await replaceSegmentMembers(client, id, changes.filter);
      return true;
    });
  }

  /** False when the segment does not exist. */
  async delete(id: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(`DELETE FROM custom_segments WHERE id = $1`, [id]);
    return Boolean(rowCount);
  }

  /** A page of members in account id order, after the given account id (keyset). */
  /** A page of members; with `owner`, only that owner's accounts. */
  async members(
    id: number,
    limit: number,
    after: number,
    owner: string | null = null,
  ): Promise<SegmentMember[]> {
    const { rows } = await this.pool.query<MemberRow>(
      `SELECT ${MEMBER_COLUMNS}
       FROM custom_segment_members m
       JOIN account_scores s ON s.account_id = m.account_id JOIN accounts a ON a.id = m.account_id
       WHERE m.segment_id = $1 AND m.account_id > $2 AND ($4::text IS NULL OR a.owner = $4)
       ORDER BY m.account_id LIMIT $3`,
      [id, after, limit, owner],
    );
    return rows.map(toMember);
  }

  /** How many scored accounts a compiled filter matches now, and the riskiest ten of them. */
  async preview(where: CompiledFilter): Promise<SegmentPreview> {
    const count = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM ${SEGMENT_FROM} WHERE ${where.sql}`,
      where.params,
    );
    const sample = await this.pool.query<MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM ${SEGMENT_FROM} WHERE ${where.sql}
       ORDER BY s.churn_risk DESC NULLS LAST, a.id LIMIT 10`,
      where.params,
    );
    return { accounts: count.rows[0]!.n, sample: sample.rows.map(toMember) };
  }
}
