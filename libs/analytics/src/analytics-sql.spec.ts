import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  BIGINT,
  DOUBLE,
  DuckDBInstance,
  INTEGER,
  LIST,
  SMALLINT,
  TIMESTAMPTZ,
  VARCHAR,
  jsToDuckDBValue,
  type DuckDBConnection,
  type DuckDBType,
  type JSInputTypeFor,
} from '@duckdb/node-api';
import { DEFAULT_CATALOG } from './catalog.js';
import { AnalyticsSqlError, runAnalyticsSql } from './run-sql.js';
import {
  DEFAULT_ANALYTICS_PARAMS,
  INPUT_SCHEMA_SQL,
  setBusinessHours,
  setCatalog,
  setParams,
  type BusinessHours,
} from './schema.js';
import { loadSqlFiles } from './sql-files.js';

// ------------------------------------------------------------------ fixture builders

const DAY = 86_400_000;
const HOUR = 3_600_000;
const MINUTE = 60_000;
/** A Wednesday, noon UTC. Its week starts Monday 2024-06-10. */
const AS_OF = new Date('2024-06-12T12:00:00Z');
const ago = (days: number, hours = 0): Date => new Date(AS_OF.getTime() - days * DAY - hours * HOUR);
const plus = (at: Date, ms: number): Date => new Date(at.getTime() + ms);

interface AccountRow {
  id: number;
  external_id: string;
  plan: string | null;
  mrr: number | null;
  seats: number | null;
  employees: number | null;
  created_at: Date;
  churned_at: Date | null;
}

interface EventRow {
  id: number;
  account_id: number | null;
  contact_id: number | null;
  type: string;
  name: string;
  ts: Date;
}

interface TicketRow {
  id: number;
  account_id: number | null;
  channel: string | null;
  status: string;
  tags: string[];
  created_at: Date;
  first_response_at: Date | null;
  first_response_minutes: number | null;
  first_response_business_minutes: number | null;
  solved_at: Date | null;
  csat_score: number | null;
  csat_scale: 'five_point' | 'good_bad' | null;
  csat_comment: string | null;
}

let nextEventId = 1;
let nextTicketId = 1;

function makeAccount(overrides: Partial<AccountRow> & { id: number }): AccountRow {
  return {
    external_id: `acc_${overrides.id}`,
    plan: 'starter',
    mrr: 20,
    seats: 3,
    employees: 10,
    created_at: ago(365),
    churned_at: null,
    ...overrides,
  };
}

function makeEvent(accountId: number, name: string, ts: Date, overrides: Partial<EventRow> = {}): EventRow {
  return {
    id: nextEventId++,
    account_id: accountId,
    contact_id: accountId * 100 + 1,
    type: 'track',
    name,
    ts,
    ...overrides,
  };
}

/** A ticket answered after `responseMinutes` (null: not answered), solved an hour after the answer. */
function makeTicket(
  accountId: number | null,
  createdAt: Date,
  responseMinutes: number | null,
  overrides: Partial<TicketRow> = {},
): TicketRow {
  const firstResponseAt = responseMinutes === null ? null : plus(createdAt, responseMinutes * MINUTE);
  return {
    id: nextTicketId++,
    account_id: accountId,
    channel: 'email',
    status: firstResponseAt ? 'solved' : 'open',
    tags: ['bug'],
    created_at: createdAt,
    first_response_at: firstResponseAt,
    first_response_minutes: null,
    first_response_business_minutes: null,
    solved_at: firstResponseAt ? plus(firstResponseAt, HOUR) : null,
    csat_score: null,
    csat_scale: null,
    csat_comment: null,
    ...overrides,
  };
}

async function insertRows<T extends object>(
  connection: DuckDBConnection,
  table: string,
  columns: Record<keyof T & string, DuckDBType>,
  rows: readonly T[],
): Promise<void> {
  const names = Object.keys(columns) as (keyof T & string)[];
  const types = names.map((n) => columns[n]);
  const insert = await connection.prepare(
    `INSERT INTO ${table} (${names.join(', ')}) VALUES (${names.map((_, i) => `$${i + 1}`).join(', ')})`,
  );
  for (const row of rows) {
    const values = names.map((n, i) => {
      const value = (row as Record<string, unknown>)[n];
      return jsToDuckDBValue<DuckDBType>(value as JSInputTypeFor<DuckDBType> | null, types[i]!);
    });
    insert.bind(values, types);
    await insert.run();
  }
}

const ACCOUNT_COLUMNS: Record<keyof AccountRow, DuckDBType> = {
  id: BIGINT,
  external_id: VARCHAR,
  plan: VARCHAR,
  mrr: DOUBLE,
  seats: INTEGER,
  employees: INTEGER,
  created_at: TIMESTAMPTZ,
  churned_at: TIMESTAMPTZ,
};
const EVENT_COLUMNS: Record<keyof EventRow, DuckDBType> = {
  id: BIGINT,
  account_id: BIGINT,
  contact_id: BIGINT,
  type: VARCHAR,
  name: VARCHAR,
  ts: TIMESTAMPTZ,
};
const TICKET_COLUMNS: Record<keyof TicketRow, DuckDBType> = {
  id: BIGINT,
  account_id: BIGINT,
  channel: VARCHAR,
  status: VARCHAR,
  tags: LIST(VARCHAR),
  created_at: TIMESTAMPTZ,
  first_response_at: TIMESTAMPTZ,
  first_response_minutes: DOUBLE,
  first_response_business_minutes: DOUBLE,
  solved_at: TIMESTAMPTZ,
  csat_score: SMALLINT,
  csat_scale: VARCHAR,
  csat_comment: VARCHAR,
};

type Row = Record<string, unknown>;

/** Rows as plain JS values, BIGINT as number and DATE as 'YYYY-MM-DD'. */
async function query(connection: DuckDBConnection, sql: string): Promise<Row[]> {
  const reader = await connection.runAndReadAll(sql);
  return reader
    .getRowObjectsJS()
    .map((row) =>
      Object.fromEntries(
        Object.entries(row).map(([name, value]) => [name, typeof value === 'bigint' ? Number(value) : value]),
      ),
    );
}

const isoDay = (value: unknown): string =>
  value instanceof Date ? value.toISOString().slice(0, 10) : String(value);

// ------------------------------------------------------------------ the fixture

// Account ids.
const ACTIVE = 1; // smb, a known event and ticket history
const ENTERPRISE_BY_SEATS = 2; // 300 seats but low mrr, no activity
const MID_MARKET = 3;
const ENTERPRISE_BY_MRR = 4; // carries the support-metrics tickets
const FUTURE = 5; // created after as_of
const CHURNED = 6;
const CHURNS_LATER = 7;
const NOVICE = 10;
const EXPERT = 11;

const accounts: AccountRow[] = [
  makeAccount({ id: ACTIVE, mrr: 30, seats: 4, created_at: ago(400) }),
  makeAccount({ id: ENTERPRISE_BY_SEATS, plan: 'business', mrr: 1000, seats: 300, created_at: ago(200) }),
  makeAccount({ id: MID_MARKET, plan: 'business', mrr: 600, seats: 20, created_at: ago(100) }),
  makeAccount({ id: ENTERPRISE_BY_MRR, plan: 'enterprise', mrr: 6000, seats: 50, created_at: ago(600) }),
  makeAccount({ id: FUTURE, created_at: plus(AS_OF, DAY) }),
  makeAccount({ id: CHURNED, created_at: ago(300), churned_at: ago(10) }),
  makeAccount({ id: CHURNS_LATER, created_at: ago(300), churned_at: plus(AS_OF, 5 * DAY) }),
  makeAccount({ id: NOVICE, mrr: 20, seats: 3, created_at: ago(20) }),
  makeAccount({ id: EXPERT, plan: 'pro', mrr: 40, seats: 2, created_at: ago(800) }),
];

const c = (account: number, n: number): number => account * 100 + n;

const events: EventRow[] = [
  // ACTIVE: 3 events in the last 7 days, 5 in 30, 2 in the prior 30, 8 in 90, one older; two
  // onboarding steps long ago; and two events at or after as_of that must be ignored.
  makeEvent(ACTIVE, 'report_viewed', ago(0, 1), { contact_id: c(ACTIVE, 1) }),
  makeEvent(ACTIVE, 'dashboard_viewed', ago(2), { contact_id: c(ACTIVE, 1) }),
  makeEvent(ACTIVE, 'report_viewed', ago(6), { contact_id: c(ACTIVE, 2) }),
  makeEvent(ACTIVE, 'search_performed', ago(10), { contact_id: c(ACTIVE, 1) }),
  makeEvent(ACTIVE, 'report_created', ago(20), { contact_id: c(ACTIVE, 2) }),
  makeEvent(ACTIVE, 'report_viewed', ago(35), { contact_id: c(ACTIVE, 3) }),
  makeEvent(ACTIVE, 'report_viewed', ago(50), { contact_id: c(ACTIVE, 3) }),
  makeEvent(ACTIVE, 'dashboard_viewed', ago(80), { contact_id: c(ACTIVE, 1) }),
  makeEvent(ACTIVE, 'report_viewed', ago(100), { contact_id: c(ACTIVE, 1) }),
  makeEvent(ACTIVE, 'account_created', ago(400)),
  makeEvent(ACTIVE, 'profile_completed', ago(399)),
  makeEvent(ACTIVE, 'report_viewed', AS_OF, { contact_id: c(ACTIVE, 4) }),
  makeEvent(ACTIVE, 'automation_created', plus(AS_OF, DAY), { contact_id: c(ACTIVE, 4) }),
  // An event whose account is not resolved yet: ignored.
  makeEvent(ACTIVE, 'report_viewed', ago(1), { account_id: null }),

  // NOVICE: 2 of 6 onboarding steps, 10 basic feature events, 4 help-article views and 2 guides.
  makeEvent(NOVICE, 'account_created', ago(20)),
  makeEvent(NOVICE, 'profile_completed', ago(19)),
  ...Array.from({ length: 5 }, (_, i) => makeEvent(NOVICE, 'dashboard_viewed', ago(1 + i))),
  ...Array.from({ length: 5 }, (_, i) => makeEvent(NOVICE, 'report_viewed', ago(6 + i))),
  ...Array.from({ length: 4 }, (_, i) =>
    makeEvent(NOVICE, 'Help Center Article', ago(2 + i), { type: 'page' }),
  ),
  makeEvent(NOVICE, 'guide_opened', ago(3)),
  makeEvent(NOVICE, 'checklist_viewed', ago(4)),

  // EXPERT: every onboarding step (activation 3 days after sign-up), 10 feature events of 5 kinds,
  // 6 of them advanced, by both contacts; a plan limit and an add-on page view.
  ...(
    [
      ['account_created', 0],
      ['profile_completed', 1],
      ['teammate_invited', 2],
      ['api_key_created', 2],
      ['integration_connected', 3],
      ['onboarding_completed', 3],
    ] as const
  ).map(([name, daysAfterSignUp]) => makeEvent(EXPERT, name, ago(800 - daysAfterSignUp))),
  ...['report_viewed', 'dashboard_viewed', 'sql_query_run', 'automation_created', 'api_call_made'].flatMap(
    (name, i) => [
      makeEvent(EXPERT, name, ago(1 + i), { contact_id: c(EXPERT, 1) }),
      makeEvent(EXPERT, name, ago(2 + i), { contact_id: c(EXPERT, 2) }),
    ],
  ),
  makeEvent(EXPERT, 'plan_limit_reached', ago(3)),
  makeEvent(EXPERT, 'addon_page_viewed', ago(4)),
];

// Support-metrics tickets on the phone channel (only ENTERPRISE_BY_MRR, an 'enterprise-novice'):
// first responses after 1, 2, 3, 4 and 10 minutes (the last known only as first_response_minutes).
const phone = (created: Date, minutes: number | null, overrides: Partial<TicketRow> = {}): TicketRow =>
  makeTicket(ENTERPRISE_BY_MRR, created, minutes, { channel: 'phone', ...overrides });

const tickets: TicketRow[] = [
  // ACTIVE
  makeTicket(ACTIVE, ago(5), 3, {
    channel: 'chat',
    tags: ['How-To'],
    csat_scale: 'five_point',
    csat_score: 4,
  }),
  makeTicket(ACTIVE, ago(40), 120, {
    tags: ['bug'],
    csat_scale: 'good_bad',
    csat_score: 0,
    csat_comment: 'slow',
  }),
  makeTicket(ACTIVE, ago(2), null, { channel: 'web', tags: ['how-to'] }),
  makeTicket(ACTIVE, ago(100), 60, { tags: ['bug'] }),
  // Created 31 days ago, answered 29 days ago (2 days = 2880 minutes), solved 28 days ago.
  makeTicket(ACTIVE, ago(31), 2 * 24 * 60, { tags: ['billing'], solved_at: ago(28) }),

  // NOVICE: two how-to tickets. EXPERT: one bug report.
  makeTicket(NOVICE, ago(3), 5, { channel: 'chat', tags: ['how-to'] }),
  makeTicket(NOVICE, ago(4), 5, { channel: 'chat', tags: ['how-to'] }),
  makeTicket(EXPERT, ago(6), 30, { tags: ['bug'] }),

  // ENTERPRISE_BY_MRR: open-ticket rules. Solved before as_of: closed. Solved after as_of: open.
  // No solved_at but status solved: closed. No solved_at and status pending: open.
  makeTicket(ENTERPRISE_BY_MRR, ago(20), 10, { channel: 'email' }),
  makeTicket(ENTERPRISE_BY_MRR, ago(1), 10, { channel: 'email', solved_at: plus(AS_OF, HOUR) }),
  makeTicket(ENTERPRISE_BY_MRR, ago(15), 10, { channel: 'email', solved_at: null, status: 'solved' }),
  makeTicket(ENTERPRISE_BY_MRR, ago(16), 10, { channel: 'email', solved_at: null, status: 'pending' }),

  phone(ago(10), 1, { first_response_business_minutes: 10, csat_scale: 'five_point', csat_score: 4 }),
  phone(ago(11), 2, { first_response_business_minutes: 20, csat_scale: 'five_point', csat_score: 3 }),
  phone(ago(12), 3, { csat_scale: 'good_bad', csat_score: 1 }),
  phone(ago(13), 4, { csat_scale: 'good_bad', csat_score: 0 }),
  phone(ago(14), null, {
    first_response_minutes: 10,
    solved_at: ago(13),
    csat_scale: 'five_point',
    csat_score: 5,
  }),
  phone(ago(15), null), // not answered: counted, not in ASA, unrated
  phone(ago(0, 1), 120), // answered an hour after as_of: not responded yet
  phone(ago(27 * 7), 1), // older than the 26 weeks
  phone(plus(AS_OF, HOUR), 1), // after as_of

  // Week boundaries (UTC): Sunday 23:30 belongs to the week of Monday 2024-06-03, Monday 00:30 to
  // the week of 2024-06-10; and the 26-week window starts Monday 2023-12-18 00:00 UTC.
  makeTicket(MID_MARKET, new Date('2024-06-09T23:30:00Z'), 5, { channel: 'social' }),
  makeTicket(MID_MARKET, new Date('2024-06-10T00:30:00Z'), 5, { channel: 'social' }),
  makeTicket(MID_MARKET, new Date('2023-12-18T00:00:00Z'), 5, { channel: 'social' }),
  makeTicket(MID_MARKET, new Date('2023-12-17T23:59:00Z'), 5, { channel: 'social' }),

  // A ticket without an account.
  makeTicket(null, ago(3), 5, { channel: 'chat' }),
];

// ------------------------------------------------------------------ the database

let instance: DuckDBInstance;
let connection: DuckDBConnection;
let timings: { name: string; ms: number }[];

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  connection = await instance.connect();
  // Week buckets and windows must not depend on the session time zone.
  await connection.run(`SET TimeZone = 'America/New_York'`);
  await connection.run(INPUT_SCHEMA_SQL);
  await insertRows(connection, 'accounts', ACCOUNT_COLUMNS, accounts);
  await insertRows(connection, 'events', EVENT_COLUMNS, events);
  await insertRows(connection, 'tickets', TICKET_COLUMNS, tickets);
  await setParams(connection, { asOf: AS_OF, ...DEFAULT_ANALYTICS_PARAMS });
  await setCatalog(connection, DEFAULT_CATALOG);
  timings = await runAnalyticsSql(connection);
});

afterAll(() => {
  connection?.closeSync();
  instance?.closeSync();
});

async function featuresOf(id: number, at = 'account_features_now'): Promise<Row> {
  const [row] = await query(connection, `SELECT * FROM ${at} WHERE account_id = ${id}`);
  if (!row) throw new Error(`account ${id} has no features row`);
  return row;
}

async function segmentOf(id: number): Promise<Row> {
  const [row] = await query(connection, `SELECT * FROM account_segments WHERE account_id = ${id}`);
  if (!row) throw new Error(`account ${id} has no segment`);
  return row;
}

async function metrics(grouping: string, where = 'true'): Promise<Row[]> {
  return query(
    connection,
    `SELECT * FROM support_metrics WHERE grouping = '${grouping}' AND ${where} ORDER BY week, channel, segment`,
  );
}

// ------------------------------------------------------------------ tests

describe('runAnalyticsSql', () => {
  it('runs every numbered file in order and times each', () => {
    expect(timings.map((t) => t.name)).toEqual(loadSqlFiles().map((f) => f.name));
    expect(timings.map((t) => t.name)).toEqual([
      '00_definitions',
      '01_account_features',
      '02_segments',
      '03_support_metrics',
      '04_upsell',
    ]);
    for (const t of timings) expect(t.ms).toBeGreaterThanOrEqual(0);
  });

  it('names the file and statement that failed', async () => {
    const error = await runAnalyticsSql(connection, [
      { name: '90_broken', sql: 'SELECT 1; SELECT * FROM no_such_table;' },
    ]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AnalyticsSqlError);
    expect((error as AnalyticsSqlError).message).toMatch(/^90_broken\.sql, statement 2: .*no_such_table/);
  });

  it('starts every file with a comment saying what it computes', () => {
    for (const file of loadSqlFiles()) expect(file.sql.startsWith(`-- ${file.name}: `)).toBe(true);
  });
});

describe('params and catalog', () => {
  it('keeps exactly one params row', async () => {
    await setParams(connection, { asOf: AS_OF, ...DEFAULT_ANALYTICS_PARAMS });
    const rows = await query(connection, `SELECT * FROM params`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toEqual({
      as_of: AS_OF,
      enterprise_min_mrr: 5000,
      midmarket_min_mrr: 500,
      enterprise_min_seats: 250,
      expert_min_score: 0.5,
    });
  });

  it('refuses invalid params and unknown catalog kinds', async () => {
    await expect(
      setParams(connection, { asOf: new Date('nope'), ...DEFAULT_ANALYTICS_PARAMS }),
    ).rejects.toThrow(RangeError);
    await expect(
      setParams(connection, { asOf: AS_OF, ...DEFAULT_ANALYTICS_PARAMS, expertMinScore: 1.5 }),
    ).rejects.toThrow(/expertMinScore/);
    await expect(setCatalog(connection, [{ kind: 'nonsense' as never, name: 'x' }])).rejects.toThrow(
      /Unknown catalog kind/,
    );
    // The failed calls left the tables as they were.
    expect(await query(connection, `SELECT count(*) AS n FROM params`)).toEqual([{ n: 1 }]);
    expect(await query(connection, `SELECT count(*) AS n FROM catalog`)).toEqual([
      { n: DEFAULT_CATALOG.length },
    ]);
  });

  it('stores the catalog as given, duplicates dropped', async () => {
    const rows = await query(
      connection,
      `SELECT kind, name FROM catalog WHERE kind = 'onboarding_step' ORDER BY name`,
    );
    expect(rows.map((r) => r.name)).toEqual([
      'account_created',
      'api_key_created',
      'integration_connected',
      'onboarding_completed',
      'profile_completed',
      'teammate_invited',
    ]);
    expect(DEFAULT_CATALOG).toContainEqual({ kind: 'activation_step', name: 'integration_connected' });
    expect(DEFAULT_CATALOG).toContainEqual({ kind: 'howto_tag', name: 'how-to' });
  });
});

describe('account_features', () => {
  it('has one row per account existing at as_of', async () => {
    const rows = await query(connection, `SELECT account_id FROM account_features_now ORDER BY 1`);
    expect(rows.map((r) => r.account_id)).toEqual([
      ACTIVE,
      ENTERPRISE_BY_SEATS,
      MID_MARKET,
      ENTERPRISE_BY_MRR,
      CHURNED,
      CHURNS_LATER,
      NOVICE,
      EXPERT,
    ]);
  });

  it('counts activity in its windows, ignoring events at or after as_of', async () => {
    const f = await featuresOf(ACTIVE);
    expect(f).toMatchObject({
      external_id: 'acc_1',
      plan: 'starter',
      mrr: 30,
      seats: 4,
      events_7d: 3,
      events_30d: 5,
      events_prior_30d: 2,
      events_90d: 8,
      active_users_30d: 2,
      active_users_prior_30d: 1,
      distinct_features_30d: 4, // report_viewed, dashboard_viewed, search_performed, report_created
      feature_events_90d: 8,
      advanced_feature_events_90d: 0, // the automation after as_of does not count
      advanced_share_90d: 0,
      onboarding_steps_done: 2,
      time_to_value_days: null,
      help_views_90d: 0,
      guide_events_90d: 0,
      churned: false,
    });
    expect(f.tenure_days).toBeCloseTo(400, 9);
    expect(f.activity_trend).toBeCloseTo(Math.log((5 + 1) / (2 + 1)), 12);
    // Baseline: the events 60 to 90 days back, 8 - 5 - 2 = 1.
    expect(f.activity_vs_baseline_7d).toBeCloseTo(Math.log(((3 * 30) / 7 + 1) / (1 + 1)), 12);
    expect(f.activity_vs_baseline_30d).toBeCloseTo(Math.log((5 + 1) / (1 + 1)), 12);
    expect(f.events_per_user_30d).toBeCloseTo(5 / 2, 12);
    // Busier than two months ago: nothing lost.
    expect(f.activity_drop_7d).toBe(0);
    expect(f.activity_drop_30d).toBe(0);
    expect(f.active_users_growth).toBeCloseTo(2 / 1 - 1, 12);
    expect(f.seat_utilisation).toBeCloseTo(2 / 4, 12);
    expect(f.days_since_last_seen).toBeCloseTo(1 / 24, 9);
    expect(f.onboarding_completion).toBeCloseTo(2 / 6, 12);
  });

  it('summarises tickets: how-to share, open tickets, ASA and CSAT', async () => {
    const f = await featuresOf(ACTIVE);
    // In the 90 days: the how-to (5 d), the bug (40 d), the unanswered how-to (2 d), the billing one (31 d).
    expect(f).toMatchObject({
      tickets_90d: 4,
      howto_tickets_90d: 2, // 'How-To' matches 'how-to'
      open_tickets: 1, // the unanswered one
      responded_tickets_90d: 3,
      ratings_90d: 2,
      satisfied_90d: 1, // a 4 of 5 is satisfied, a "bad" is not
    });
    expect(f.howto_share_90d).toBeCloseTo(2 / 4, 12);
    expect(f.asa_minutes_90d).toBeCloseTo((3 + 120 + 2880) / 3, 9);
    expect(f.csat_pct_90d).toBeCloseTo(50, 12);
  });

  it("compares each wait for a first answer with the usual wait on the ticket's channel", async () => {
    // Medians over every ticket of the last 90 days answered before as_of, any account:
    // chat {3, 5, 5, 5} -> 5; email {10, 10, 10, 10, 30, 120, 2880} -> 10; phone {1, 2, 3, 4, 10} -> 3.
    // ACTIVE's answered tickets: chat 3 (usual 5), email 120 and 2880 (usual 10).
    const f = await featuresOf(ACTIVE);
    expect(f.asa_vs_channel_90d).toBeCloseTo(Math.cbrt((4 / 6) * (121 / 11) * (2881 / 11)), 9);
    // ENTERPRISE_BY_MRR: email 10 x 4 (usual 10), phone 1, 2, 3, 4, 10 (usual 3); its unanswered
    // phone calls do not count (as no wait at all, they would make it look fast).
    const e = await featuresOf(ENTERPRISE_BY_MRR);
    const ratios = [1, 1, 1, 1, 2 / 4, 3 / 4, 4 / 4, 5 / 4, 11 / 4];
    expect(e.asa_vs_channel_90d).toBeCloseTo(
      Math.exp(ratios.reduce((sum, r) => sum + Math.log(r), 0) / ratios.length),
      9,
    );
    // No answered ticket: no comparison.
    expect((await featuresOf(ENTERPRISE_BY_SEATS)).asa_vs_channel_90d).toBeNull();
  });

  it('counts a response stamped before its ticket as an instant one, without failing the run', async () => {
    // The only 'web' tickets answered: two responses recorded 30 minutes before their tickets.
    await connection.run('BEGIN');
    try {
      for (const id of [9901, 9902])
        await connection.run(
          `INSERT INTO tickets (id, account_id, channel, status, tags, created_at, first_response_at)
           VALUES (${id}, ${MID_MARKET}, 'web', 'open', [], TIMESTAMPTZ '${ago(3).toISOString()}',
                   TIMESTAMPTZ '${plus(ago(3), -30 * MINUTE).toISOString()}')`,
        );
      const rows = await query(
        connection,
        `SELECT asa_vs_channel_90d FROM account_features(TIMESTAMPTZ '${AS_OF.toISOString()}')
         WHERE account_id = ${MID_MARKET}`,
      );
      // social 5 and 5 (usual 5): 6/6; web -30 and -30 as 0 (usual 0 too): 1/1.
      expect(rows[0]!.asa_vs_channel_90d).toBeCloseTo(1, 12);
    } finally {
      await connection.run('ROLLBACK');
    }
  });

  it('counts the share of tickets still open a week or more after they were created', async () => {
    // ACTIVE: of the tickets 7 to 90 days old (40 and 31 days), both solved; the 5- and 2-day-old
    // ones are too recent to count, the 100-day-old one too old.
    expect((await featuresOf(ACTIVE)).unresolved_share_90d).toBe(0);
    // ENTERPRISE_BY_MRR: 9 tickets 7 to 90 days old; open: the pending email (16 d) and the
    // unanswered phone call (15 d). The solved-after-as_of email is only a day old.
    expect((await featuresOf(ENTERPRISE_BY_MRR)).unresolved_share_90d).toBeCloseTo(2 / 9, 12);
    expect((await featuresOf(ENTERPRISE_BY_SEATS)).unresolved_share_90d).toBeNull();
  });

  it('treats solved_at and status consistently for open tickets', async () => {
    // Open: the email ticket solved after as_of, the pending one without solved_at, the unanswered
    // phone ticket and the one answered after as_of. Not open: solved before as_of, status solved
    // without solved_at, and the phone tickets solved before as_of (even one whose status says open).
    expect((await featuresOf(ENTERPRISE_BY_MRR)).open_tickets).toBe(4);
  });

  it('gives an account without activity zeros and NULLs, not errors', async () => {
    const f = await featuresOf(ENTERPRISE_BY_SEATS);
    expect(f).toMatchObject({
      events_7d: 0,
      events_90d: 0,
      activity_trend: 0,
      activity_vs_baseline_7d: 0,
      activity_vs_baseline_30d: 0,
      activity_drop_7d: 0,
      activity_drop_30d: 0,
      active_users_30d: 0,
      active_users_growth: null,
      seat_utilisation: 0,
      days_since_last_seen: null,
      advanced_share_90d: null,
      onboarding_completion: 0,
      tickets_90d: 0,
      howto_share_90d: null,
      asa_minutes_90d: null,
      asa_vs_channel_90d: null,
      unresolved_share_90d: null,
      events_per_user_30d: null,
      ratings_90d: 0,
      csat_pct_90d: null,
      open_tickets: 0,
    });
  });

  it('measures depth, time to value and upsell moments', async () => {
    const f = await featuresOf(EXPERT);
    expect(f).toMatchObject({
      events_90d: 12,
      feature_events_90d: 10,
      advanced_feature_events_90d: 6,
      distinct_features_30d: 5,
      onboarding_steps_done: 6,
      onboarding_completion: 1,
      active_users_30d: 2,
      seat_utilisation: 1,
      plan_limit_hits_90d: 1,
      addon_interest_90d: 1,
      seat_added_90d: 0,
    });
    expect(f.advanced_share_90d).toBeCloseTo(6 / 10, 12);
    expect(f.time_to_value_days).toBeCloseTo(3, 9);
    const n = await featuresOf(NOVICE);
    expect(n).toMatchObject({ help_views_90d: 4, guide_events_90d: 2, events_90d: 18, howto_share_90d: 1 });
  });

  it('marks churn only when it happened by as_of', async () => {
    expect((await featuresOf(CHURNED)).churned).toBe(true);
    expect((await featuresOf(CHURNS_LATER)).churned).toBe(false);
  });

  it('is point-in-time: as of 30 days ago it sees only what was known then', async () => {
    const at = ago(30).toISOString();
    const rows = await query(
      connection,
      `SELECT * FROM account_features(TIMESTAMPTZ '${at}') ORDER BY account_id`,
    );
    expect(rows.map((r) => r.account_id)).not.toContain(NOVICE); // created 20 days ago
    const f = rows.find((r) => r.account_id === ACTIVE)!;
    expect(f).toMatchObject({
      events_7d: 1, // 35 days ago
      events_30d: 2, // 35 and 50 days ago
      events_90d: 4, // and 80, 100 days ago
      tickets_90d: 3, // 31, 40 and 100 days ago
      responded_tickets_90d: 2, // the 31-day-old one was answered only 29 days ago
      open_tickets: 1, // ... and solved 28 days ago
      ratings_90d: 1,
      satisfied_90d: 0,
      csat_pct_90d: 0,
    });
    expect(f.asa_minutes_90d).toBeCloseTo((120 + 60) / 2, 9);
    expect(f.tenure_days).toBeCloseTo(370, 9);
  });
});

describe('account_segments', () => {
  it('puts accounts in tiers by mrr or seats', async () => {
    const tiers = await query(
      connection,
      `SELECT account_id, tier FROM account_segments ORDER BY account_id`,
    );
    expect(Object.fromEntries(tiers.map((r) => [r.account_id, r.tier]))).toMatchObject({
      [ACTIVE]: 'smb',
      [ENTERPRISE_BY_SEATS]: 'enterprise', // 300 seats >= 250, although mrr 1000 < 5000
      [MID_MARKET]: 'mid_market',
      [ENTERPRISE_BY_MRR]: 'enterprise',
      [NOVICE]: 'smb',
      [EXPERT]: 'smb',
    });
  });

  it('tells a novice from an expert by behaviour, with the documented formula', async () => {
    // Breadth is relative to the most distinct features any account used in 30 days: the expert's 5.
    const novice = await segmentOf(NOVICE);
    const noviceScore = 0.3 * 0 + 0.25 * 0 + 0.15 * 0 + 0.1 * (2 / 6) + 0.1 * (20 / 730) + 0.1 * (2 / 5);
    expect(novice.proficiency_score).toBeCloseTo(noviceScore, 12);
    expect(novice).toMatchObject({ proficiency: 'novice', segment: 'smb-novice', self_help_signal: 0 });

    const expert = await segmentOf(EXPERT);
    expect(expert.proficiency_score).toBeCloseTo(1, 12);
    expect(expert).toMatchObject({ proficiency: 'expert', segment: 'smb-expert', depth_signal: 1 });

    // ACTIVE: no advanced use, no help views, half its tickets how-to, 2 of 6 onboarding steps,
    // 400 days of tenure, 4 of 5 features.
    const active = await segmentOf(ACTIVE);
    const activeScore = 0.3 * 0 + 0.25 * 1 + 0.15 * 0.5 + 0.1 * (2 / 6) + 0.1 * (400 / 730) + 0.1 * (4 / 5);
    expect(active.proficiency_score).toBeCloseTo(activeScore, 12);
    expect(active.proficiency).toBe('novice');
  });

  it('leaves out signals without evidence and rescales the weights', async () => {
    // No events and no tickets: depth counts as 0, self-help and how-to are left out.
    const s = await segmentOf(ENTERPRISE_BY_SEATS);
    expect(s).toMatchObject({ self_help_signal: null, howto_signal: null, segment: 'enterprise-novice' });
    const expected = (0.3 * 0 + 0.1 * 0 + 0.1 * (200 / 730) + 0.1 * 0) / (0.3 + 0.1 + 0.1 + 0.1);
    expect(s.proficiency_score).toBeCloseTo(expected, 12);
  });

  it('follows expert_min_score', async () => {
    await setParams(connection, { asOf: AS_OF, ...DEFAULT_ANALYTICS_PARAMS, expertMinScore: 0.4 });
    await runAnalyticsSql(
      connection,
      loadSqlFiles().filter((f) => f.name < '03'),
    );
    expect((await segmentOf(ACTIVE)).segment).toBe('smb-expert');
    await setParams(connection, { asOf: AS_OF, ...DEFAULT_ANALYTICS_PARAMS });
    await runAnalyticsSql(connection);
    expect((await segmentOf(ACTIVE)).segment).toBe('smb-novice');
  });
});

describe('support_metrics', () => {
  it('computes ASA (mean, median, p90) and CSAT for a channel', async () => {
    const [row] = await metrics('channel', `channel = 'phone'`);
    // Seven phone tickets in the window; five answered before as_of: 1, 2, 3, 4, 10 minutes.
    expect(row).toMatchObject({
      tickets: 7,
      responded: 5,
      ratings: 5,
      satisfied: 3,
      week: null,
      segment: null,
    });
    expect(row!.asa_mean_minutes).toBeCloseTo((1 + 2 + 3 + 4 + 10) / 5, 9);
    expect(row!.asa_median_minutes).toBeCloseTo(3, 9);
    // quantile_cont: position 0.9 x (5 - 1) = 3.6 between the 4th (4) and 5th (10) values.
    expect(row!.asa_p90_minutes).toBeCloseTo(4 + 0.6 * (10 - 4), 9);
    expect(row!.asa_business_mean_minutes).toBeCloseTo((10 + 20) / 2, 12);
    // Satisfied: the 4 of 5, the "good" and the 5 of 5; not: the 3 of 5 and the "bad".
    expect(row!.csat_pct).toBeCloseTo(60, 12);
  });

  it('has the same figures on the channel x segment row', async () => {
    const rows = await metrics('channel_segment', `channel = 'phone'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ segment: 'enterprise-novice', tickets: 7, responded: 5, ratings: 5 });
  });

  it('buckets weeks by Monday in UTC and keeps 26 weeks', async () => {
    const rows = await metrics('channel_week', `channel = 'social'`);
    expect(rows.map((r) => [isoDay(r.week), r.tickets])).toEqual([
      ['2023-12-18', 1], // the window's first instant; the minute before is out
      ['2024-06-03', 1], // Sunday 23:30 UTC
      ['2024-06-10', 1], // Monday 00:30 UTC (Sunday evening in New York)
    ]);
  });

  it('rolls up to every grouping, and the rollups add up', async () => {
    const groupings = await query(
      connection,
      `SELECT grouping, sum(tickets) AS tickets, count(*) AS n FROM support_metrics GROUP BY 1 ORDER BY 1`,
    );
    expect(groupings.map((g) => g.grouping)).toEqual([
      'all',
      'channel',
      'channel_segment',
      'channel_segment_week',
      'channel_week',
      'segment',
      'segment_week',
      'week',
    ]);
    const all = groupings.find((g) => g.grouping === 'all')!;
    expect(all.n).toBe(1);
    // Every ticket created in the window before as_of: all but the too-old phone ticket, the
    // future one and the social ticket from before the window.
    expect(all.tickets).toBe(tickets.length - 3);
    for (const g of groupings) expect(g.tickets).toBe(all.tickets);
  });

  it("files tickets without an account under 'unassigned'", async () => {
    const rows = await metrics('segment', `segment = 'unassigned'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ tickets: 1, responded: 1, ratings: 0, csat_pct: null });
  });
});

describe('account_upsell', () => {
  it('scores the documented signals with reasons, heaviest first', async () => {
    const [row] = await query(connection, `SELECT * FROM account_upsell WHERE account_id = ${EXPERT}`);
    // Both seats active, a plan limit hit, an add-on page viewed, and an expert paying $40 (< $500).
    expect(row!.upsell_score).toBeCloseTo(0.3 + 0.25 + 0.15 + 0.15, 12);
    const reasons = row!.reasons as { signal: string; value: number; weight: number }[];
    expect(reasons.map((r) => [r.signal, r.weight])).toEqual([
      ['seat_utilisation', 0.3],
      ['plan_limit_hits', 0.25],
      ['addon_interest', 0.15],
      ['expert_on_entry_plan', 0.15],
    ]);
    expect(reasons.map((r) => r.value)).toEqual([1, 1, 1, expect.closeTo(1, 12)]);
  });

  it('gives 0 and no reasons when nothing points to an upsell', async () => {
    const [row] = await query(connection, `SELECT * FROM account_upsell WHERE account_id = ${NOVICE}`);
    expect(row).toMatchObject({ upsell_score: 0, reasons: [] });
  });

  it('has a row for every account with features', async () => {
    const [row] = await query(
      connection,
      `SELECT (SELECT count(*) FROM account_upsell) AS upsell, (SELECT count(*) FROM account_features_now) AS features`,
    );
    expect(row!.upsell).toBe(row!.features);
  });
});

describe('business-hours ASA', () => {
  // AS_OF is Wednesday 2024-06-12 12:00 UTC; June is daylight time in New York (UTC-4).
  const at = (iso: string) => new Date(iso);
  const businessTickets: TicketRow[] = [
    // Friday 16:00 to Monday 10:00 UTC: 60 minutes on Friday and 60 on Monday within 09-17.
    {
      ...makeTicket(ENTERPRISE_BY_MRR, at('2024-06-07T16:00:00Z'), null),
      id: 9001,
      first_response_at: at('2024-06-10T10:00:00Z'),
    },
    // Answered within Saturday: no business minutes at all.
    { ...makeTicket(ENTERPRISE_BY_MRR, at('2024-06-08T10:00:00Z'), 120), id: 9002 },
    // The source reported its own business minutes: trusted as given.
    {
      ...makeTicket(ENTERPRISE_BY_MRR, at('2024-06-10T12:00:00Z'), 45),
      id: 9003,
      first_response_business_minutes: 30,
    },
    // Monday 12:00-14:00 UTC is 08:00-10:00 in New York: 120 minutes in UTC hours, 60 in New York's.
    { ...makeTicket(ENTERPRISE_BY_MRR, at('2024-06-10T12:00:00Z'), 120), id: 9004 },
  ];

  async function businessMean(hours: BusinessHours | null): Promise<unknown> {
    const db = await DuckDBInstance.create(':memory:');
    const c = await db.connect();
    try {
      await c.run(INPUT_SCHEMA_SQL);
      await insertRows(c, 'accounts', ACCOUNT_COLUMNS, accounts);
      await insertRows(c, 'tickets', TICKET_COLUMNS, businessTickets);
      await setParams(c, { asOf: AS_OF, ...DEFAULT_ANALYTICS_PARAMS });
      await setCatalog(c, DEFAULT_CATALOG);
      await setBusinessHours(c, hours);
      await runAnalyticsSql(c);
      const [all] = await query(
        c,
        `SELECT asa_business_mean_minutes AS m FROM support_metrics WHERE grouping = 'all'`,
      );
      return all!.m;
    } finally {
      c.closeSync();
      db.closeSync();
    }
  }

  it('counts only the minutes within working hours, in the team’s time zone', async () => {
    expect(await businessMean({ startMinute: 540, endMinute: 1020, timeZone: 'UTC' })).toBeCloseTo(
      (120 + 0 + 30 + 120) / 4,
      9,
    );
    expect(
      await businessMean({ startMinute: 540, endMinute: 1020, timeZone: 'America/New_York' }),
    ).toBeCloseTo(
      (300 + 0 + 30 + 60) / 4 /* 9001 in New York: Friday 12:00-17:00; Monday 06:00 adds none */,
      9,
    );
  });

  it('without working hours, uses only what the source reported', async () => {
    expect(await businessMean(null)).toBeCloseTo(30, 9);
  });
});
