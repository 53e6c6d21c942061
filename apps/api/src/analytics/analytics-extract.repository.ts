import fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { PG_POOL, checkOut } from '../database/pg-pool.module.js';

/**
 * Without a `changesFrom` (a watermark written before it existed, or a database role that cannot
 * see other sessions), rows committed late by a long transaction are caught by re-reading this window.
 */
export const LATE_COMMIT_WINDOW = '10 minutes';

/** Where the next incremental extract starts reading changed rows (received_at, updated_at). */
function changedSince(after: { extractedAt: string; changesFrom?: string }): string {
  if (after.changesFrom) return `timestamptz '${new Date(after.changesFrom).toISOString()}'`;
  return `timestamptz '${new Date(after.extractedAt).toISOString()}' - interval '${LATE_COMMIT_WINDOW}'`;
}

/** Each extract: the PostgreSQL query whose rows leave as CSV, and the DuckDB column types. */
export interface ExtractSpec {
  table: string;
  query: string;
  columns: Record<string, string>;
}

export const ACCOUNTS_EXTRACT: ExtractSpec = {
  table: 'accounts',
  query: `SELECT id, external_id, name, plan, mrr, seats, employees, region, owner, created_at, churned_at,
                 renewal_date, traits FROM accounts`,
  columns: {
    id: 'BIGINT',
    external_id: 'VARCHAR',
    name: 'VARCHAR',
    plan: 'VARCHAR',
    mrr: 'DOUBLE',
    seats: 'INTEGER',
    employees: 'INTEGER',
    region: 'VARCHAR',
    owner: 'VARCHAR',
    created_at: 'TIMESTAMPTZ',
    churned_at: 'TIMESTAMPTZ',
    renewal_date: 'DATE',
    traits: 'JSON',
  },
};

export const CONTACTS_EXTRACT: ExtractSpec = {
  table: 'contacts',
  query: `SELECT id, external_id, account_id, email, created_at FROM contacts`,
  columns: {
    id: 'BIGINT',
    external_id: 'VARCHAR',
    account_id: 'BIGINT',
    email: 'VARCHAR',
    created_at: 'TIMESTAMPTZ',
  },
};

export const TICKET_COLUMNS: Record<string, string> = {
  id: 'BIGINT',
  account_id: 'BIGINT',
  contact_id: 'BIGINT',
  channel: 'VARCHAR',
  status: 'VARCHAR',
  tags: 'VARCHAR',
  created_at: 'TIMESTAMPTZ',
  first_response_at: 'TIMESTAMPTZ',
  first_response_minutes: 'DOUBLE',
  first_response_business_minutes: 'DOUBLE',
  solved_at: 'TIMESTAMPTZ',
  csat_score: 'SMALLINT',
  csat_scale: 'VARCHAR',
};

const TICKETS_SELECT = `SELECT id, account_id, contact_id, channel, status, array_to_json(tags)::text AS tags, created_at,
         first_response_at, first_response_minutes, first_response_business_minutes, solved_at, csat_score,
         csat_scale
  FROM tickets`;

/**
 * Tickets as stored (the lake resolves a ticket's account through its contact, and leaves deleted
 * ones out): all of them on a full extract, else those changed since the last run (updated_at,
 * touched by every change, with the same late-commit window as events).
 */
export function ticketsExtract(after: { extractedAt: string; changesFrom?: string } | null): ExtractSpec {
  if (!after) return { table: 'tickets', query: TICKETS_SELECT, columns: TICKET_COLUMNS };
  return {
    table: 'tickets',
    query: `${TICKETS_SELECT} WHERE updated_at >= ${changedSince(after)}`,
    columns: TICKET_COLUMNS,
  };
}

export const ALIASES_EXTRACT: ExtractSpec = {
  table: 'identity_aliases',
  query: `SELECT previous_id, user_id FROM identity_aliases`,
  columns: { previous_id: 'VARCHAR', user_id: 'VARCHAR' },
};

export const EVENT_COLUMNS: Record<string, string> = {
  id: 'BIGINT',
  account_id: 'BIGINT',
  contact_id: 'BIGINT',
  type: 'VARCHAR',
  name: 'VARCHAR',
  epoch: 'DOUBLE',
  user_id: 'VARCHAR',
  group_id: 'VARCHAR',
  anonymous_id: 'VARCHAR',
};

const EVENTS_SELECT =
  // The time leaves as seconds since 1970 (a float8 keeps the microseconds), which both sides handle
  // faster than timestamp text (measured at 10 million events: PostgreSQL 7.4 -> 6.9 s, DuckDB's read
  // 7.5 -> 6.5 CPU-s). The identity columns only matter for events stored without an account
  // (resolved in the lake); leaving them out of every other row keeps the stream a third smaller.
  `SELECT id, account_id, contact_id, type, name, date_part('epoch', timestamp) AS epoch,
          CASE WHEN account_id IS NULL THEN user_id END AS user_id,
          CASE WHEN account_id IS NULL THEN group_id END AS group_id,
          CASE WHEN account_id IS NULL THEN anonymous_id END AS anonymous_id
   FROM events`;

/**
 * Events added since a watermark: every id above the last one extracted, plus a window of recent
 * arrivals so a transaction that committed after the last extract (with a lower id) is not missed.
 * Duplicates from the window are removed by id when loading.
 */
export function eventsExtract(after: {
  maxEventId: string;
  extractedAt: string;
  changesFrom?: string;
}): ExtractSpec {
  // The values come from our own previous run record; still, only digits and ISO dates pass.
  const maxId = /^\d+$/.test(after.maxEventId) ? after.maxEventId : '0';
  return {
    table: 'events',
    query: `${EVENTS_SELECT} WHERE id > ${maxId} OR received_at >= ${changedSince(after)}`,
    columns: EVENT_COLUMNS,
  };
}

/**
 * A full extract of the events up to `maxId`, as `chunks` ranges of the table's pages (a TID range
 * scan reads a range of pages as cheaply as a sequential scan; an id range goes through the primary
 * key: measured at 10 million events, 6.6 s of PostgreSQL for the two halves by pages against 9.3
 * by ids), so several COPY streams can run at once and DuckDB can load one range while others still
 * stream. The last range is open-ended, so pages added since `pages` was read are not missed. The
 * streams must share one snapshot (`withSharedSnapshot`): then every row has exactly one version,
 * on one page, in view. Without `pages` (PostgreSQL before 14 has no TID range scan), id ranges.
 */
export function eventsFullExtract(
  range: { minId: bigint; maxId: bigint; pages: number | null },
  chunks: number,
): ExtractSpec[] {
  const { minId, maxId, pages } = range;
  if (maxId < minId)
    return [{ table: 'events', query: `${EVENTS_SELECT} WHERE false`, columns: EVENT_COLUMNS }];
  const spec = (where: string): ExtractSpec => ({
    table: 'events',
    query: `${EVENTS_SELECT} WHERE ${where}`,
    columns: EVENT_COLUMNS,
  });
  if (pages !== null) {
    const width = Math.max(1, Math.ceil(pages / chunks));
    const specs: ExtractSpec[] = [];
    for (let lo = 0; lo === 0 || lo < pages; lo += width) {
      const last = lo + width >= pages;
      specs.push(
        spec(
          `ctid >= '(${lo},0)'::tid${last ? '' : ` AND ctid < '(${lo + width},0)'::tid`} AND id <= ${maxId}`,
        ),
      );
      if (last) break;
    }
    return specs;
  }
  const width = (maxId - minId + 1n + BigInt(chunks) - 1n) / BigInt(chunks);
  const specs: ExtractSpec[] = [];
  for (let lo = minId; lo <= maxId; lo += width) {
    const hi = lo + width - 1n < maxId ? lo + width - 1n : maxId;
    specs.push(spec(`id BETWEEN ${lo} AND ${hi}`));
  }
  return specs;
}

/** COPY ... TO STDOUT streams from PostgreSQL into CSV files, with nothing held in memory. */
@Injectable()
export class AnalyticsExtractRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /**
   * The instant from which the next run must re-read changes: the start of the oldest transaction
   * in progress now (its rows carry received_at / updated_at = its start, and may commit after this
   * extract), else now. Taken before anything is extracted. A role that cannot see other sessions'
   * transactions (neither superuser nor pg_read_all_stats) gets the late-commit window instead.
   */
  async changesFrom(): Promise<string | null> {
    const { rows } = await this.pool.query<{ from: Date | null }>(
      `SELECT CASE
                WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                  OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')
                THEN least(now(), (SELECT min(xact_start) FROM pg_stat_activity
                                   WHERE datname = current_database() AND pid <> pg_backend_pid()))
              END AS from`,
    );
    return rows[0]!.from ? rows[0]!.from.toISOString() : null;
  }

  async maxEventId(): Promise<string> {
    return (await this.eventIdRange()).max;
  }

  /** The lowest and highest event ids (both from the primary key's ends); '0' when there are none. */
  async eventIdRange(): Promise<{ min: string; max: string }> {
    const { rows } = await this.pool.query<{ min: string | null; max: string | null }>(
      `SELECT min(id)::text AS min, max(id)::text AS max FROM events`,
    );
    return { min: rows[0]!.min ?? '0', max: rows[0]!.max ?? '0' };
  }

  /**
   * The pages the events table has now, for a full extract's page ranges; null on PostgreSQL
   * before 14, which cannot scan a range of pages.
   */
  async eventPages(): Promise<number | null> {
    const { rows } = await this.pool.query<{ pages: string; version: number }>(
      `SELECT (pg_relation_size('events') / current_setting('block_size')::int)::text AS pages,
              current_setting('server_version_num')::int AS version`,
    );
    return rows[0]!.version >= 140000 ? Number(rows[0]!.pages) : null;
  }

  /**
   * Runs `work` with a snapshot exported from a transaction of its own, held open (with a share
   * lock on events, so no VACUUM FULL or CLUSTER moves rows meanwhile) until `work` ends: extracts
   * that import it see the database as of one instant, however many streams they run on.
   */
  async withSharedSnapshot<T>(work: (snapshot: string) => Promise<T>): Promise<T> {
    const out = await checkOut(this.pool);
    let broken = false;
    try {
      await out.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await out.client.query('LOCK TABLE events IN ACCESS SHARE MODE');
      const { rows } = await out.client.query<{ id: string }>('SELECT pg_export_snapshot() AS id');
      return await work(rows[0]!.id);
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      await out.client.query('COMMIT').catch(() => (broken = true));
      out.release(broken);
    }
  }

  /**
   * Writes the spec's rows to `file` as CSV; returns how many rows. With a `snapshot` (from
   * withSharedSnapshot), it reads the database as that snapshot saw it.
   */
  async toCsv(spec: ExtractSpec, file: string, snapshot?: string): Promise<number> {
    const out = await checkOut(this.pool);
    let broken = false;
    try {
      await out.client.query(`SET TIME ZONE 'UTC'`);
      if (snapshot) {
        if (!/^[0-9A-F-]+$/i.test(snapshot)) throw new Error(`Not a snapshot id: ${snapshot}`);
        await out.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
        await out.client.query(`SET TRANSACTION SNAPSHOT '${snapshot}'`);
      }
      const stream = out.client.query(copyTo(`COPY (${spec.query}) TO STDOUT WITH (FORMAT csv)`));
      await pipeline(stream, fs.createWriteStream(file));
      if (snapshot) await out.client.query('COMMIT');
      return Number((stream as unknown as { rowCount?: number }).rowCount ?? 0);
    } catch (error) {
      broken = true;
      throw error;
    } finally {
      out.release(broken);
    }
  }
}
