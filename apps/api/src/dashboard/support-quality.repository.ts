import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { BASE_SEGMENTS, type SupportComment, type SupportCommentsQuery } from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';
import { SqlConditions, enumLiteral, responseMinutes, satisfied, statement } from './dashboard-sql.js';

export interface SupportMetricRecord {
  grouping: string;
  week: string | null;
  channel: string | null;
  segment: string | null;
  tickets: number;
  responded: number;
  asa_mean_minutes: number | null;
  asa_median_minutes: number | null;
  asa_p90_minutes: number | null;
  asa_business_mean_minutes: number | null;
  ratings: number;
  satisfied: number;
}

interface CommentRow {
  id: string;
  account_id: string | null;
  account_name: string | null;
  segment: string | null;
  channel: string;
  subject: string | null;
  created_at: Date;
  response_minutes: number | null;
  csat_score: number;
  csat_scale: 'five_point' | 'good_bad';
  satisfied: boolean;
  csat_comment: string;
  /** created_at to the microsecond, for the cursor (a JS Date keeps only milliseconds). */
  cursor_at: string;
}

/** A page of comments and where the next one starts, as `<createdAt ISO>~<id>`. */
export interface CommentPage {
  comments: SupportComment[];
  next: string | null;
}

/** Where comments come from: a base segment, a custom segment's members, or all accounts. */
export type CommentScope = { segment?: string; customSegmentId?: number };

/** Reads of support quality: the run's ASA/CSAT metrics and the rated tickets' comments. */
@Injectable()
export class SupportQualityRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** Rows of the served run's support metrics for the given groupings (see 03_support_metrics.sql). */
  async metrics(groupings: readonly string[], fromWeek?: string): Promise<SupportMetricRecord[]> {
    const { rows } = await this.pool.query<SupportMetricRecord>(
      `SELECT grouping, to_char(week, 'YYYY-MM-DD') AS week, channel, segment, tickets, responded,
              asa_mean_minutes, asa_median_minutes, asa_p90_minutes, asa_business_mean_minutes,
              ratings, satisfied
       FROM support_metrics
       WHERE grouping = ANY($1) AND ($2::date IS NULL OR week >= $2::date)
       ORDER BY week NULLS FIRST, channel NULLS FIRST, segment NULLS FIRST`,
      [groupings, fromWeek ?? null],
    );
    return rows;
  }

  /**
   * Rated tickets with a comment, newest first, by keyset on (created_at, id). The page's tickets are
   * chosen first and only they are read whole: over all accounts the partial index
   * tickets_rated_comment_idx serves the order, so a page reads about as many rows as it shows; a
   * segment's comments are chosen per account from tickets_account_comment_idx alone (satisfied is
   * one of its keys), however many the segment has.
   */
  /** A page of comments; with `owner`, only from the accounts that owner has (an account manager's). */
  async comments(
    query: Omit<SupportCommentsQuery, 'segment'> & CommentScope & { owner?: string },
  ): Promise<CommentPage> {
    const c = new SqlConditions();
    if (query.owner !== undefined)
      c.add(`t.account_id IN (SELECT o.id FROM accounts o WHERE o.owner = ${c.param(query.owner)})`);
    c.add(`t.csat_comment IS NOT NULL AND t.csat_score IS NOT NULL`);
    c.add(`t.csat_scale IN ('five_point', 'good_bad') AND btrim(t.csat_comment) <> ''`);
    if (query.channel) c.add(`t.channel = ${c.param(query.channel)}`);
    // The segment goes into the text, not a parameter: the best plan depends on its size (walk
    // the newest comments, or go through its few accounts), so each segment keeps a plan of its own.
    if (query.segment) c.add(`k.segment = ${enumLiteral(query.segment, BASE_SEGMENTS)}`);
    if (query.customSegmentId !== undefined)
      c.add(
        `EXISTS (SELECT 1 FROM custom_segment_members m
                 WHERE m.segment_id = ${Math.trunc(query.customSegmentId)} AND m.account_id = t.account_id)`,
      );
    if (query.week) {
      const week = c.param(query.week);
      c.add(`t.created_at >= ${week}::date::timestamp AT TIME ZONE 'UTC'`);
      c.add(`t.created_at < (${week}::date + 7)::timestamp AT TIME ZONE 'UTC'`);
    }
    if (query.satisfied !== undefined) c.add(`${satisfied('t')} = ${c.param(query.satisfied)}`);
    if (query.before) {
      // Read through sub-selects, the cursor is unknown to every plan alike: PostgreSQL then keeps
      // one generic plan rather than planning each page again for its own cursor (to the same plan).
      const [at, id] = query.before.split('~');
      c.add(`(t.created_at, t.id) < ((SELECT ${c.param(at)}::timestamptz), (SELECT ${c.param(id)}::bigint))`);
    }
    const sql = `WITH page AS (
         SELECT t.id, t.created_at
         FROM tickets t ${query.segment ? 'JOIN account_list_keys k ON k.account_id = t.account_id' : ''}
         ${c.where()}
         ORDER BY t.created_at DESC, t.id DESC
         LIMIT ${Math.trunc(query.limit) + 1}
       )
       SELECT t.id, t.account_id, a.name AS account_name, k.segment, t.channel, t.subject, t.created_at,
              ${responseMinutes('t')}::float8 AS response_minutes, t.csat_score, t.csat_scale,
              ${satisfied('t')} AS satisfied, t.csat_comment,
              to_char(t.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM page p JOIN tickets t ON t.id = p.id
       LEFT JOIN account_list_keys k ON k.account_id = t.account_id
       LEFT JOIN accounts a ON a.id = t.account_id
       ORDER BY p.created_at DESC, p.id DESC`;
    const { rows } = await this.pool.query<CommentRow>(statement(sql, c.params));
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      comments: page.map((r) => ({
        ticketId: Number(r.id),
        accountId: r.account_id === null ? null : Number(r.account_id),
        accountName: r.account_name,
        segment: r.segment,
        channel: r.channel,
        subject: r.subject,
        createdAt: r.created_at.toISOString(),
        firstResponseMinutes: r.response_minutes,
        csatScore: r.csat_score,
        csatScale: r.csat_scale,
        satisfied: r.satisfied,
        comment: r.csat_comment,
      })),
      next: rows.length > query.limit && last ? `${last.cursor_at}~${last.id}` : null,
    };
  }
}
