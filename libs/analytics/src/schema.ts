import {
  DOUBLE,
  INTEGER,
  TIMESTAMPTZ,
  VARCHAR,
  jsToDuckDBValue,
  type DuckDBConnection,
} from '@duckdb/node-api';
import { isCatalogKind, type CatalogEntry } from './catalog.js';

/**
 * The DuckDB input tables the analytics SQL reads (see ../README.md). The extract fills them;
 * tests and scratch tools create them with this. `params` holds exactly one row, `catalog` the
 * product's vocabulary.
 */
export const INPUT_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS accounts (
  id BIGINT PRIMARY KEY, external_id VARCHAR, name VARCHAR, plan VARCHAR, mrr DOUBLE, seats INTEGER,
  employees INTEGER, region VARCHAR, owner VARCHAR, created_at TIMESTAMPTZ, churned_at TIMESTAMPTZ,
  renewal_date DATE, traits JSON
);
CREATE TABLE IF NOT EXISTS contacts (
  id BIGINT PRIMARY KEY, external_id VARCHAR, account_id BIGINT, email VARCHAR, created_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS events (
  id BIGINT PRIMARY KEY, account_id BIGINT, contact_id BIGINT, type VARCHAR, name VARCHAR, ts TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS tickets (
  id BIGINT PRIMARY KEY, account_id BIGINT, channel VARCHAR, status VARCHAR, tags VARCHAR[],
  created_at TIMESTAMPTZ, first_response_at TIMESTAMPTZ, first_response_minutes DOUBLE,
  first_response_business_minutes DOUBLE, solved_at TIMESTAMPTZ, csat_score SMALLINT,
  csat_scale VARCHAR, csat_comment VARCHAR
);
CREATE TABLE IF NOT EXISTS params (
  as_of TIMESTAMPTZ, enterprise_min_mrr DOUBLE, midmarket_min_mrr DOUBLE,
  enterprise_min_seats INTEGER, expert_min_score DOUBLE
);
CREATE TABLE IF NOT EXISTS catalog (kind VARCHAR, name VARCHAR);
CREATE TABLE IF NOT EXISTS business_hours (start_minute INTEGER, end_minute INTEGER, time_zone VARCHAR);
`;

export interface AnalyticsParams {
  /** The instant the analysis is "as of": only data before it counts. */
  asOf: Date;
  /** Enterprise tier from this MRR (or from `enterpriseMinSeats`). */
  enterpriseMinMrr: number;
  /** Mid-market tier from this MRR; below it is SMB (and an "entry plan" for upsell). */
  midMarketMinMrr: number;
  /** Enterprise tier from this many seats, whatever the MRR. */
  enterpriseMinSeats: number;
  /** An account is an expert when its proficiency score (0-1) is at least this. */
  expertMinScore: number;
}

/** The proficiency score is built so that 0.5 is the neutral point between novice and expert. */
export const DEFAULT_EXPERT_MIN_SCORE = 0.5;

/** The defaults of everything but `asOf` (the API's config defaults for the tiers). */
export const DEFAULT_ANALYTICS_PARAMS: Omit<AnalyticsParams, 'asOf'> = {
  enterpriseMinMrr: 5000,
  midMarketMinMrr: 500,
  enterpriseMinSeats: 250,
  expertMinScore: DEFAULT_EXPERT_MIN_SCORE,
};

function assertParams(params: AnalyticsParams): void {
  if (!(params.asOf instanceof Date) || Number.isNaN(params.asOf.getTime())) {
    throw new RangeError('asOf must be a valid date');
  }
  const nonNegative: (keyof Omit<AnalyticsParams, 'asOf'>)[] = [
    'enterpriseMinMrr',
    'midMarketMinMrr',
    'enterpriseMinSeats',
  ];
  for (const key of nonNegative) {
    if (!Number.isFinite(params[key]) || params[key] < 0) {
      throw new RangeError(`${key} must be a finite number >= 0 (got ${params[key]})`);
    }
  }
  if (!Number.isInteger(params.enterpriseMinSeats)) {
    throw new RangeError(`enterpriseMinSeats must be an integer (got ${params.enterpriseMinSeats})`);
  }
  if (!Number.isFinite(params.expertMinScore) || params.expertMinScore < 0 || params.expertMinScore > 1) {
    throw new RangeError(`expertMinScore must be between 0 and 1 (got ${params.expertMinScore})`);
  }
}

async function inTransaction(connection: DuckDBConnection, work: () => Promise<void>): Promise<void> {
  await connection.run('BEGIN TRANSACTION');
  try {
    await work();
    await connection.run('COMMIT');
  } catch (error) {
    await connection.run('ROLLBACK');
    throw error;
  }
}

/**
 * Replaces the one-row `params` table. Runs its own transaction, so call it outside one.
 */
export async function setParams(connection: DuckDBConnection, params: AnalyticsParams): Promise<void> {
  assertParams(params);
  await inTransaction(connection, async () => {
    await connection.run('DELETE FROM params');
    const insert = await connection.prepare(
      `INSERT INTO params (as_of, enterprise_min_mrr, midmarket_min_mrr, enterprise_min_seats, expert_min_score)
       VALUES ($1, $2, $3, $4, $5)`,
    );
    insert.bind(
      [
        jsToDuckDBValue(params.asOf, TIMESTAMPTZ),
        params.enterpriseMinMrr,
        params.midMarketMinMrr,
        params.enterpriseMinSeats,
        params.expertMinScore,
      ],
      [TIMESTAMPTZ, DOUBLE, DOUBLE, INTEGER, DOUBLE],
    );
    await insert.run();
  });
}

/**
 * Replaces the `catalog` table with these entries (duplicates dropped). Runs its own transaction.
 */
export async function setCatalog(
  connection: DuckDBConnection,
  entries: readonly CatalogEntry[],
): Promise<void> {
  const seen = new Set<string>();
  const rows: CatalogEntry[] = [];
  for (const entry of entries) {
    if (!isCatalogKind(entry.kind)) throw new RangeError(`Unknown catalog kind: ${String(entry.kind)}`);
    if (typeof entry.name !== 'string' || entry.name === '') {
      throw new RangeError(`Catalog entry of kind ${entry.kind} needs a name`);
    }
    const key = JSON.stringify([entry.kind, entry.name]);
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push({ kind: entry.kind, name: entry.name });
  }
  await inTransaction(connection, async () => {
    await connection.run('DELETE FROM catalog');
    const insert = await connection.prepare('INSERT INTO catalog (kind, name) VALUES ($1, $2)');
    for (const row of rows) {
      insert.bind([row.kind, row.name], [VARCHAR, VARCHAR]);
      await insert.run();
    }
  });
}

/** Support's working hours for business-hours ASA: weekdays (Monday-Friday), from-to in a time zone. */
export interface BusinessHours {
  /** Minutes after local midnight the working day starts, e.g. 540 for 09:00. */
  startMinute: number;
  /** Minutes after local midnight it ends, e.g. 1020 for 17:00. */
  endMinute: number;
  /** IANA time zone, e.g. "Europe/Berlin". */
  timeZone: string;
}

/**
 * Replaces the one-row `business_hours` table (empty without hours: business-hours ASA then only
 * comes from sources that report it, such as Zendesk's ticket metrics).
 */
export async function setBusinessHours(
  connection: DuckDBConnection,
  hours: BusinessHours | null,
): Promise<void> {
  if (hours && !(hours.startMinute >= 0 && hours.startMinute < hours.endMinute && hours.endMinute <= 1440))
    throw new RangeError('business hours must start before they end, within one day');
  await inTransaction(connection, async () => {
    await connection.run('DELETE FROM business_hours');
    if (!hours) return;
    const insert = await connection.prepare(
      'INSERT INTO business_hours (start_minute, end_minute, time_zone) VALUES ($1, $2, $3)',
    );
    insert.bind([hours.startMinute, hours.endMinute, hours.timeZone], [INTEGER, INTEGER, VARCHAR]);
    await insert.run();
  });
}
