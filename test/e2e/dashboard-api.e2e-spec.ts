import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  ACCOUNT_EXPORT_COLUMNS,
  Account360Schema,
  AccountActivitySchema,
  AccountListSchema,
  AccountTicketsSchema,
  AnalyticsRunListSchema,
  ErrorBodySchema,
  OverviewSchema,
  OwnerListSchema,
  RISK_BAND_THRESHOLDS,
  SegmentSchema,
  SegmentSummarySchema,
  SupportCommentsSchema,
  SupportMatrixSchema,
  SupportTrendsSchema,
  TrendsSchema,
  riskBandOf,
  type AccountList,
} from '@retain/contracts';
import pg from 'pg';
import type { z } from 'zod';
import { refreshAccountActivityRollup } from '../../apps/api/src/dashboard/account-activity-rollup.js';
import { adminFetch } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';

jest.setTimeout(120_000);

const ACCOUNTS = 150;

/** Active (not churned as of the run) scored accounts, as the dashboard counts them. */
const ACTIVE = `(a.churned_at IS NULL OR a.churned_at > s.computed_at)`;
const SATISFIED = `((t.csat_scale = 'five_point' AND t.csat_score >= 4) OR (t.csat_scale = 'good_bad' AND t.csat_score = 1))`;
const RATED = `(t.csat_score IS NOT NULL AND t.csat_scale IN ('five_point', 'good_bad'))`;

describe('dashboard API, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let api: typeof fetch;

  const get = (path: string) => api(`${retain.baseUrl}${path}`);
  const getOk = async <S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> => {
    const res = await get(path);
    const body: unknown = await res.json();
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(body)}`);
    return schema.parse(body);
  };
  const list = (query: string) => getOk(`/api/accounts?${query}`, AccountListSchema);
  const ids = (page: AccountList) => page.rows.map((r) => r.id);
  const sqlIds = async (sql: string, params: unknown[] = []) =>
    (await db.query<{ id: string }>(sql, params)).map((r) => Number(r.id));

  beforeAll(async () => {
    db = await createTestDatabase('dashboard_api');
    retain = runRetain(
      {
        DATABASE_URL: db.url,
        DEMO_DATA: 'true',
        DEMO_ACCOUNTS: String(ACCOUNTS),
        DEMO_DAYS: '100',
        LOG_LEVEL: 'warn',
      },
      await freePort(),
    );
    await waitUntilUp(retain);
    api = await adminFetch(db.url);
    // A new install runs the analytics job once at start; the dashboard serves its results.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const runs = AnalyticsRunListSchema.parse(await (await get('/api/jobs/analytics/runs')).json()).runs;
      if (runs.some((r) => r.status === 'succeeded')) break;
      if (runs.some((r) => r.status === 'failed'))
        throw new Error(`analytics run failed: ${JSON.stringify(runs)}`);
      if (Date.now() > deadline) throw new Error('no analytics run succeeded');
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  describe('overview', () => {
    it('has one cell per tier x proficiency, equal to SQL over account_scores and accounts', async () => {
      const overview = await getOk('/api/overview', OverviewSchema);
      expect(overview.cells.map((c) => c.segment).sort()).toEqual(
        [
          'enterprise-expert',
          'enterprise-novice',
          'mid_market-expert',
          'mid_market-novice',
          'smb-expert',
          'smb-novice',
        ].sort(),
      );
      const expected = await db.query<{
        segment: string;
        accounts: number;
        mrr: number;
        high: number;
        low: number;
      }>(
        `SELECT s.segment, count(*)::int AS accounts, COALESCE(sum(a.mrr), 0)::float8 AS mrr,
                count(*) FILTER (WHERE s.churn_risk >= ${RISK_BAND_THRESHOLDS.high})::int AS high,
                count(*) FILTER (WHERE s.churn_risk < ${RISK_BAND_THRESHOLDS.medium})::int AS low
         FROM account_scores s JOIN accounts a ON a.id = s.account_id WHERE ${ACTIVE} GROUP BY 1`,
      );
      for (const cell of overview.cells) {
        const e = expected.find((r) => r.segment === cell.segment) ?? {
          accounts: 0,
          mrr: 0,
          high: 0,
          low: 0,
        };
        expect(cell).toMatchObject({ accounts: e.accounts, highRiskAccounts: e.high });
        expect(cell.mrr).toBeCloseTo(e.mrr, 2);
        expect(cell.riskMix.low).toBe(e.low);
        expect(cell.highRiskShare).toBe(e.accounts > 0 ? e.high / e.accounts : null);
      }
      const total = expected.reduce((n, r) => n + r.accounts, 0);
      expect(overview.totals.accounts).toBe(total);
      expect(total).toBeGreaterThan(0);

      const [run] = await db.query<{ id: string; as_of: Date }>(
        `SELECT id, as_of FROM analytics_runs ORDER BY started_at DESC LIMIT 1`,
      );
      expect(overview.lastRun).toMatchObject({ id: Number(run!.id), status: 'succeeded', progress: 100 });
      expect(overview.asOf).toBe(run!.as_of.toISOString());
      expect(overview.riskBands).toEqual([
        { band: 'low', min: 0, max: 0.1 },
        { band: 'medium', min: 0.1, max: 0.3 },
        { band: 'high', min: 0.3, max: null },
      ]);
    });

    it('counts tickets, ratings, CSAT and the ASA median of the period as SQL does, per cell', async () => {
      const overview = await getOk('/api/overview?days=30', OverviewSchema);
      expect(overview.period?.days).toBe(30);
      const asOf = overview.asOf!;
      const expected = await db.query<{
        segment: string;
        tickets: number;
        ratings: number;
        satisfied: number;
        median: number | null;
      }>(
        `SELECT s.segment, count(*)::int AS tickets,
                count(*) FILTER (WHERE ${RATED} AND COALESCE(t.solved_at, t.first_response_at, t.created_at) < $2)::int AS ratings,
                count(*) FILTER (WHERE ${RATED} AND ${SATISFIED} AND COALESCE(t.solved_at, t.first_response_at, t.created_at) < $2)::int AS satisfied,
                percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE
                  WHEN COALESCE(t.first_response_at, t.created_at + t.first_response_minutes * interval '1 minute') < $2
                  THEN COALESCE(t.first_response_minutes, extract(epoch FROM t.first_response_at - t.created_at) / 60) END) AS median
         FROM tickets t JOIN account_scores s ON s.account_id = t.account_id
         WHERE t.created_at >= $1::timestamptz AND t.created_at < $2
         GROUP BY 1`,
        [`${overview.period!.from}T00:00:00Z`, asOf],
      );
      expect(expected.length).toBeGreaterThan(0);
      for (const cell of overview.cells) {
        const e = expected.find((r) => r.segment === cell.segment);
        expect(cell.tickets).toBe(e?.tickets ?? 0);
        expect(cell.ratings).toBe(e?.ratings ?? 0);
        if (e && e.ratings > 0) expect(cell.csatPct).toBeCloseTo((100 * e.satisfied) / e.ratings, 9);
        if (e?.median != null) expect(cell.asaMedianMinutes).toBeCloseTo(e.median, 6);
      }
    });

    it('compares with the score-history day the period ago, or says there is none', async () => {
      const overview = await getOk('/api/overview?days=7', OverviewSchema);
      const [point] = await db.query<{ day: string | null }>(
        `SELECT to_char(max(as_of), 'YYYY-MM-DD') AS day FROM account_score_history
         WHERE as_of <= ($1::timestamptz AT TIME ZONE 'UTC')::date - 7`,
        [overview.asOf],
      );
      expect(overview.comparedTo).toBe(point!.day);
      if (overview.comparedTo === null) expect(overview.totals.change.accounts).toBeNull();
      else expect(typeof overview.totals.change.accounts).toBe('number');
    });

    it('answers 400 naming the field for a bad period', async () => {
      const res = await get('/api/overview?days=2');
      expect(res.status).toBe(400);
      const body = ErrorBodySchema.parse(await res.json());
      expect(body.error.code).toBe('VALIDATION_FAILED');
      expect(body.error.details).toMatchObject({ fields: [{ path: 'days' }] });
    });
  });

  it('gives weekly trends per segment equal to the score history and the run’s support metrics', async () => {
    const trends = await getOk('/api/trends?by=segment&weeks=8', TrendsSchema);
    const history = await db.query<{ week: string; segment: string; accounts: number }>(
      `WITH h AS (
         SELECT DISTINCT ON (account_id, date_trunc('week', as_of::timestamp))
                date_trunc('week', as_of::timestamp)::date AS week, segment
         FROM account_score_history WHERE as_of >= $1::date
         ORDER BY account_id, date_trunc('week', as_of::timestamp), as_of DESC)
       SELECT to_char(week, 'YYYY-MM-DD') AS week, segment, count(*)::int AS accounts FROM h GROUP BY 1, 2`,
      [trends.period!.from],
    );
    // Every run writes the day's scores to the history, so there is at least this week.
    expect(history.length).toBeGreaterThan(0);
    for (const h of history)
      expect(trends.rows.find((r) => r.week === h.week && r.key === h.segment)?.accounts).toBe(h.accounts);
    const support = await db.query<{ week: string; segment: string; tickets: number }>(
      `SELECT to_char(week, 'YYYY-MM-DD') AS week, segment, tickets FROM support_metrics
       WHERE grouping = 'segment_week' AND week >= $1::date AND segment <> 'unassigned'`,
      [trends.period!.from],
    );
    expect(support.length).toBeGreaterThan(0);
    for (const s of support)
      expect(trends.rows.find((r) => r.week === s.week && r.key === s.segment)?.support?.tickets).toBe(
        s.tickets,
      );
    expect(new Set(trends.rows.map((r) => r.week)).size).toBeLessThanOrEqual(8);
  });

  describe('accounts list', () => {
    it('lists active accounts riskiest first, paged, with the total', async () => {
      const expected = await sqlIds(
        `SELECT s.account_id AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE ${ACTIVE} ORDER BY s.churn_risk DESC NULLS LAST, s.account_id`,
      );
      const first = await list('limit=20');
      expect(first).toMatchObject({
        total: expected.length,
        limit: 20,
        offset: 0,
        sort: 'churn_risk',
        order: 'desc',
      });
      const pages = [first];
      for (let offset = 20; offset < expected.length; offset += 20)
        pages.push(await list(`limit=20&offset=${offset}`));
      expect(pages.flatMap(ids)).toEqual(expected);
      const row = first.rows[0]!;
      expect(row.riskBand).toBe(riskBandOf(row.churnRisk));
      expect(row.topReasons.length).toBeLessThanOrEqual(3);
    });

    it.each([
      ['sort=mrr', 'a.mrr DESC NULLS LAST, a.id'],
      ['sort=mrr&order=asc', 'a.mrr ASC NULLS LAST, a.id'],
      ['sort=name', 'a.name ASC NULLS LAST, a.id'],
      ['sort=health', 's.health ASC NULLS LAST, s.account_id'],
      ['sort=upsell_score', 's.upsell_score DESC NULLS LAST, s.account_id'],
      ['sort=renewal_date', 'a.renewal_date ASC NULLS LAST, a.id'],
      [
        'sort=days_since_last_seen',
        `(s.features ->> 'days_since_last_seen')::float8 DESC NULLS LAST, s.account_id`,
      ],
    ])('sorts by %s as SQL does', async (query, orderBy) => {
      const expected = await sqlIds(
        `SELECT s.account_id AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE ${ACTIVE} ORDER BY ${orderBy} LIMIT 40`,
      );
      expect(ids(await list(`${query}&limit=40`))).toEqual(expected);
    });

    it('filters by tier, proficiency, segment and risk band, with totals', async () => {
      const cases: [string, string][] = [
        ['tier=smb', `s.tier = 'smb'`],
        ['proficiency=expert', `s.proficiency = 'expert'`],
        ['segment=smb-novice', `s.segment = 'smb-novice'`],
        ['riskBand=low', `s.churn_risk < 0.1`],
        ['riskBand=medium', `s.churn_risk >= 0.1 AND s.churn_risk < 0.3`],
        ['riskBand=high&tier=smb', `s.churn_risk >= 0.3 AND s.tier = 'smb'`],
      ];
      for (const [query, where] of cases) {
        const expected = await sqlIds(
          `SELECT s.account_id AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id
           WHERE ${ACTIVE} AND ${where} ORDER BY s.churn_risk DESC NULLS LAST, s.account_id`,
        );
        const page = await list(`${query}&limit=500`);
        expect({ query, ids: ids(page), total: page.total }).toEqual({
          query,
          ids: expected,
          total: expected.length,
        });
      }
    });

    it('filters by owner and by a search on name or external id', async () => {
      const [owner] = await db.query<{ owner: string; n: number }>(
        `SELECT a.owner, count(*)::int AS n FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE ${ACTIVE} AND a.owner IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1`,
      );
      if (owner) {
        const page = await list(`owner=${encodeURIComponent(owner.owner)}&limit=500`);
        expect(page.total).toBe(owner.n);
        expect(page.rows.every((r) => r.owner === owner.owner)).toBe(true);
      }
      const [sample] = await db.query<{ external_id: string; name: string }>(
        `SELECT a.external_id, a.name FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE ${ACTIVE} ORDER BY a.id LIMIT 1`,
      );
      const byId = await list(`q=${encodeURIComponent(sample!.external_id.toUpperCase())}`);
      expect(byId.rows.map((r) => r.externalId)).toContain(sample!.external_id);
      const word = sample!.name.split(' ')[0]!;
      const expected = await sqlIds(
        `SELECT s.account_id AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE ${ACTIVE} AND (a.name ILIKE $1 OR a.external_id ILIKE $1)
         ORDER BY s.churn_risk DESC NULLS LAST, s.account_id`,
        [`%${word}%`],
      );
      const byName = await list(`q=${encodeURIComponent(word)}&limit=500`);
      expect(ids(byName)).toEqual(expected);
      expect(byName.total).toBe(expected.length);
    });

    it('pages past the first page as SQL does, in every kind of list, with totals', async () => {
      const [owner] = await db.query<{ owner: string }>(
        `SELECT owner FROM accounts WHERE owner IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`,
      );
      const cases: [string, string, string][] = [
        [
          'segment=smb-novice&sort=days_since_last_seen',
          `s.segment = 'smb-novice'`,
          `(s.features ->> 'days_since_last_seen')::float8 DESC NULLS LAST, s.account_id`,
        ],
        ['tier=smb&sort=health&order=desc', `s.tier = 'smb'`, 's.health DESC NULLS LAST, s.account_id'],
        ['sort=upsell_score&order=asc', 'true', 's.upsell_score ASC NULLS LAST, s.account_id'],
        [
          `owner=${encodeURIComponent(owner!.owner)}&sort=mrr`,
          `a.owner = '${owner!.owner.replace(/'/g, "''")}'`,
          'a.mrr DESC NULLS LAST, a.id',
        ],
        [
          'q=a&sort=name&order=desc',
          `(a.name ILIKE '%a%' OR a.external_id ILIKE '%a%')`,
          'a.name DESC, a.id',
        ],
      ];
      for (const [query, where, orderBy] of cases) {
        const expected = await sqlIds(
          `SELECT s.account_id AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id
           WHERE ${ACTIVE} AND ${where} ORDER BY ${orderBy}`,
        );
        expect(expected.length).toBeGreaterThan(4);
        for (const offset of [2, Math.floor(expected.length / 2)]) {
          const page = await list(`${query}&limit=5&offset=${offset}`);
          expect({ query, offset, ids: ids(page), total: page.total }).toEqual({
            query,
            offset,
            ids: expected.slice(offset, offset + 5),
            total: expected.length,
          });
        }
      }
    });

    it('includes churned accounts on request, last in risk order', async () => {
      const [counts] = await db.query<{ all: number; churned: number }>(
        `SELECT count(*)::int AS all, count(*) FILTER (WHERE NOT ${ACTIVE})::int AS churned
         FROM account_scores s JOIN accounts a ON a.id = s.account_id`,
      );
      const page = await list('includeChurned=true&limit=500');
      expect(page.total).toBe(counts!.all);
      if (counts!.churned > 0) expect(page.rows.at(-1)!.churnedAt).not.toBeNull();
    });

    it('filters by a custom segment id, and answers 404 for an unknown one', async () => {
      const res = await api(`${retain.baseUrl}/api/segments`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          name: 'dashboard test: mid-risk',
          filter: { field: 'churn_risk', op: 'gte', value: 0.1 },
        }),
      });
      expect(res.status).toBe(201);
      const segment = SegmentSchema.parse(await res.json());
      const expected = await sqlIds(
        `SELECT s.account_id AS id FROM custom_segment_members m
         JOIN account_scores s ON s.account_id = m.account_id JOIN accounts a ON a.id = s.account_id
         WHERE m.segment_id = $1 AND ${ACTIVE} ORDER BY s.churn_risk DESC NULLS LAST, s.account_id`,
        [segment.id],
      );
      expect(expected.length).toBeGreaterThan(0);
      const page = await list(`segment=${segment.id}&limit=500`);
      expect(ids(page)).toEqual(expected);
      expect(page.total).toBe(expected.length);

      const summary = await getOk(`/api/segment-summary/${segment.id}`, SegmentSummarySchema);
      expect(summary).toMatchObject({
        kind: 'custom',
        name: 'dashboard test: mid-risk',
        accounts: expected.length,
      });

      for (const path of ['/api/accounts?segment=987654', '/api/accounts/export.csv?segment=987654']) {
        const unknown = await get(path);
        expect(unknown.status).toBe(404);
        expect(ErrorBodySchema.parse(await unknown.json()).error.code).toBe('NOT_FOUND');
      }
    });

    it('answers 400 naming each bad field', async () => {
      const res = await get('/api/accounts?sort=planet&riskBand=extreme&limit=0');
      expect(res.status).toBe(400);
      const body = ErrorBodySchema.parse(await res.json());
      expect(body.error.code).toBe('VALIDATION_FAILED');
      const paths = (body.error.details as { fields: { path: string }[] }).fields.map((f) => f.path).sort();
      expect(paths).toEqual(['limit', 'riskBand', 'sort']);
      const segment = await get('/api/accounts?segment=enterprise-guru');
      expect(segment.status).toBe(400);
      expect(JSON.stringify(await segment.json())).toContain('"path":"segment"');
    });

    it('exports the same filtered list as CSV, every row, in list order', async () => {
      const page = await list('tier=smb&sort=mrr&limit=500');
      const res = await get('/api/accounts/export.csv?tier=smb&sort=mrr');
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/csv');
      const lines = (await res.text()).trimEnd().split('\r\n');
      expect(lines[0]).toBe(ACCOUNT_EXPORT_COLUMNS.join(','));
      expect(lines.slice(1).map((l) => Number(l.split(',')[0]))).toEqual(ids(page));
    });

    it('lists owners with their account counts', async () => {
      const owners = await getOk('/api/owners', OwnerListSchema);
      const expected = await db.query<{ owner: string; n: number }>(
        `SELECT owner, count(*)::int AS n FROM accounts WHERE owner IS NOT NULL GROUP BY 1 ORDER BY 1`,
      );
      expect(owners.owners.map((o) => [o.owner, o.accounts])).toEqual(expected.map((e) => [e.owner, e.n]));
      const [unassigned] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM accounts WHERE owner IS NULL`,
      );
      expect(owners.unassigned).toBe(unassigned!.n);
    });
  });

  describe('account 360', () => {
    it('shows the account, its score, risk trend, contacts and segment history', async () => {
      const [top] = await list('limit=1').then((p) => p.rows);
      const page = await getOk(`/api/accounts/${top!.id}`, Account360Schema);
      const [a] = await db.query<{ external_id: string; name: string; contacts: number }>(
        `SELECT external_id, name, (SELECT count(*)::int FROM contacts c WHERE c.account_id = a.id) AS contacts
         FROM accounts a WHERE id = $1`,
        [top!.id],
      );
      expect(page.account).toMatchObject({ id: top!.id, externalId: a!.external_id, name: a!.name });
      expect(page.score).toMatchObject({ churnRisk: top!.churnRisk, segment: top!.segment });
      expect(page.score!.churnReasons.slice(0, 3)).toEqual(top!.topReasons);
      expect(page.contacts.total).toBe(a!.contacts);
      expect(page.contacts.rows.length).toBe(Math.min(a!.contacts, 50));
      const history = await db.query<{ as_of: string }>(
        `SELECT to_char(as_of, 'YYYY-MM-DD') AS as_of FROM account_score_history WHERE account_id = $1 ORDER BY as_of`,
        [top!.id],
      );
      expect(history.length).toBeGreaterThan(0);
      expect(page.riskTrend.map((p) => p.asOf)).toEqual(history.map((h) => h.as_of));
    });

    it('counts weekly events and active users as SQL does', async () => {
      const [busy] = await sqlIds(
        `SELECT account_id AS id FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
      );
      const activity = await getOk(`/api/accounts/${busy}/activity?weeks=8`, AccountActivitySchema);
      expect(activity.weeks).toHaveLength(8);
      const expected = await db.query<{ week: string; events: number; users: number }>(
        `SELECT to_char(date_trunc('week', timestamp AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week,
                count(*)::int AS events, count(DISTINCT contact_id)::int AS users
         FROM events WHERE account_id = $1 AND timestamp >= $2::timestamptz GROUP BY 1`,
        [busy, `${activity.weeks[0]!.week}T00:00:00Z`],
      );
      for (const w of activity.weeks) {
        const e = expected.find((x) => x.week === w.week);
        expect([w.week, w.events, w.activeUsers]).toEqual([w.week, e?.events ?? 0, e?.users ?? 0]);
      }
      expect(activity.weeks.reduce((n, w) => n + w.events, 0)).toBeGreaterThan(0);
    });

    it('counts complete weeks from the weekly rollup and this week live, as SQL does', async () => {
      // The analytics run's write step; a second refresh only counts what changed since the first.
      const client = new pg.Client({ connectionString: db.url });
      await client.connect();
      try {
        await client.query('BEGIN');
        await refreshAccountActivityRollup(client);
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
      const [busy] = await sqlIds(
        `SELECT account_id AS id FROM events GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
      );
      const [rollup] = await db.query<{ weeks: number }>(
        `SELECT count(*)::int AS weeks FROM account_activity_weeks WHERE account_id = $1 AND events IS NOT NULL`,
        [busy],
      );
      expect(rollup!.weeks).toBeGreaterThan(0);
      // Sent after the refresh: this week's count has it at once.
      const [sent] = await db.query<{ id: string }>(
        `INSERT INTO events (message_id, account_id, contact_id, type, name, timestamp)
         SELECT 'activity-test', $1, min(id), 'track', 'report_viewed', now() FROM contacts WHERE account_id = $1
         RETURNING id`,
        [busy],
      );
      try {
        const activity = await getOk(`/api/accounts/${busy}/activity?weeks=20`, AccountActivitySchema);
        const expected = await db.query<{ week: string; events: number; users: number }>(
          `SELECT to_char(date_trunc('week', timestamp AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week,
                  count(*)::int AS events, count(DISTINCT contact_id)::int AS users
           FROM events WHERE account_id = $1 AND timestamp >= $2::timestamptz GROUP BY 1`,
          [busy, `${activity.weeks[0]!.week}T00:00:00Z`],
        );
        expect(activity.weeks.map((w) => [w.week, w.events, w.activeUsers])).toEqual(
          activity.weeks.map((w) => {
            const e = expected.find((x) => x.week === w.week);
            return [w.week, e?.events ?? 0, e?.users ?? 0];
          }),
        );
        expect(activity.weeks.at(-1)!.events).toBeGreaterThan(0);
      } finally {
        await db.query(`DELETE FROM events WHERE id = $1`, [sent!.id]);
      }
    });

    it('pages the tickets newest first, with the total', async () => {
      const [busy] = await sqlIds(
        `SELECT account_id AS id FROM tickets GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
      );
      const expected = await sqlIds(
        `SELECT id FROM tickets WHERE account_id = $1 ORDER BY created_at DESC, id DESC`,
        [busy],
      );
      const first = await getOk(`/api/accounts/${busy}/tickets?limit=5`, AccountTicketsSchema);
      const second = await getOk(`/api/accounts/${busy}/tickets?limit=5&offset=5`, AccountTicketsSchema);
      expect(first.total).toBe(expected.length);
      expect([...first.rows, ...second.rows].map((t) => t.id)).toEqual(expected.slice(0, 10));
      for (const t of first.rows) expect(t.satisfied === null).toBe(t.csatScore === null);
    });

    it('answers 404 with the error body for an unknown account, 400 for a bad id', async () => {
      for (const path of [
        '/api/accounts/987654',
        '/api/accounts/987654/activity',
        '/api/accounts/987654/tickets',
      ]) {
        const res = await get(path);
        expect(res.status).toBe(404);
        expect(await res.json()).toEqual({
          error: { code: 'NOT_FOUND', message: 'Account 987654 does not exist' },
        });
      }
      const bad = await get('/api/accounts/abc');
      expect(bad.status).toBe(400);
      expect(ErrorBodySchema.parse(await bad.json()).error.details).toMatchObject({
        fields: [{ path: 'id' }],
      });
    });
  });

  describe('segment summary', () => {
    it('sums to the segment’s accounts and counts reasons and tickets as SQL does', async () => {
      const summary = await getOk('/api/segment-summary/smb-novice', SegmentSummarySchema);
      const [e] = await db.query<{ accounts: number; scored: number }>(
        `SELECT count(*)::int AS accounts, count(s.churn_risk)::int AS scored
         FROM account_scores s JOIN accounts a ON a.id = s.account_id WHERE s.segment = 'smb-novice' AND ${ACTIVE}`,
      );
      expect(summary.accounts).toBe(e!.accounts);
      expect(summary.riskHistogram).toHaveLength(10);
      expect(summary.riskHistogram.reduce((n, b) => n + b.accounts, 0)).toBe(e!.scored);

      const reasons = await db.query<{ feature: string; n: number }>(
        `SELECT r ->> 'feature' AS feature, count(*)::int AS n
         FROM account_scores s JOIN accounts a ON a.id = s.account_id, jsonb_array_elements(s.churn_reasons) r
         WHERE s.segment = 'smb-novice' AND ${ACTIVE} GROUP BY 1`,
      );
      for (const r of summary.churnReasons)
        expect(r.accounts).toBe(reasons.find((x) => x.feature === r.feature)?.n);

      const tickets = await db.query<{ channel: string; n: number }>(
        `SELECT t.channel, count(*)::int AS n FROM tickets t JOIN account_scores s ON s.account_id = t.account_id
         WHERE s.segment = 'smb-novice' AND t.created_at >= $1::timestamptz AND t.created_at < $2 GROUP BY 1`,
        [`${summary.ticketsByChannel.period!.from}T00:00:00Z`, summary.asOf],
      );
      expect(summary.ticketsByChannel.rows.map((r) => [r.channel, r.tickets]).sort()).toEqual(
        tickets.map((t) => [t.channel, t.n]).sort(),
      );
      expect(summary.recentComments.length).toBeLessThanOrEqual(10);
      for (const c of summary.recentComments) expect(c.segment).toBe('smb-novice');
    });

    it('answers 400 for a key that is neither a base segment nor an id, 404 for an unknown id', async () => {
      expect((await get('/api/segment-summary/large-novice')).status).toBe(400);
      expect((await get('/api/segment-summary/987654')).status).toBe(404);
    });
  });

  describe('support quality', () => {
    it('serves the channel x segment matrix the run computed', async () => {
      const matrix = await getOk('/api/support/matrix', SupportMatrixSchema);
      const expected = await db.query<{ channel: string; segment: string; tickets: number; ratings: number }>(
        `SELECT channel, segment, tickets, ratings FROM support_metrics WHERE grouping = 'channel_segment'`,
      );
      expect(matrix.cells.map((c) => [c.channel, c.segment, c.tickets, c.ratings]).sort()).toEqual(
        expected.map((e) => [e.channel, e.segment, e.tickets, e.ratings]).sort(),
      );
      expect(matrix.total?.tickets).toBe(expected.reduce((n, e) => n + e.tickets, 0));
      expect(matrix.period?.days).toBeGreaterThan(25 * 7);
    });

    it('serves weekly rows per channel, for one segment on request', async () => {
      const all = await getOk('/api/support/trends?by=channel&weeks=4', SupportTrendsSchema);
      expect(new Set(all.rows.map((r) => r.week)).size).toBeLessThanOrEqual(4);
      expect(all.rows.every((r) => ['chat', 'email', 'phone', 'web', 'social'].includes(r.key))).toBe(true);
      const one = await getOk(
        '/api/support/trends?by=channel&weeks=4&segment=smb-novice',
        SupportTrendsSchema,
      );
      expect(one.segment).toBe('smb-novice');
      const expected = await db.query<{ n: number }>(
        `SELECT COALESCE(sum(tickets), 0)::int AS n FROM support_metrics
         WHERE grouping = 'channel_segment_week' AND segment = 'smb-novice' AND week >= $1::date`,
        [one.period!.from],
      );
      expect(one.rows.reduce((n, r) => n + r.tickets, 0)).toBe(expected[0]!.n);
    });

    it('pages a segment’s rated comments by cursor, satisfied or not, as SQL does', async () => {
      for (const satisfied of [false, true]) {
        const expected = await sqlIds(
          `SELECT t.id FROM tickets t JOIN account_scores s ON s.account_id = t.account_id
           WHERE t.csat_comment IS NOT NULL AND btrim(t.csat_comment) <> '' AND ${RATED}
             AND s.segment = 'enterprise-novice' AND ${satisfied ? '' : 'NOT'} ${SATISFIED}
           ORDER BY t.created_at DESC, t.id DESC LIMIT 12`,
        );
        const seen: number[] = [];
        let before: string | null = null;
        do {
          const cursor: string = before ? `&before=${encodeURIComponent(before)}` : '';
          const page = await getOk(
            `/api/support/comments?segment=enterprise-novice&satisfied=${satisfied}&limit=5${cursor}`,
            SupportCommentsSchema,
          );
          for (const c of page.comments)
            expect([c.segment, c.satisfied]).toEqual(['enterprise-novice', satisfied]);
          seen.push(...page.comments.map((c) => c.ticketId));
          before = page.nextBefore;
        } while (before && seen.length < 12);
        expect(seen.slice(0, 12)).toEqual(expected);
      }
    });

    it('pages rated comments newest first by cursor, filtered, without repeats', async () => {
      const expected = await sqlIds(
        `SELECT t.id FROM tickets t
         WHERE t.csat_comment IS NOT NULL AND btrim(t.csat_comment) <> '' AND ${RATED} AND t.channel = 'email'
           AND NOT ${SATISFIED}
         ORDER BY t.created_at DESC, t.id DESC LIMIT 30`,
      );
      const seen: number[] = [];
      let before: string | null = null;
      do {
        const cursor: string = before ? `&before=${encodeURIComponent(before)}` : '';
        const page = await getOk(
          `/api/support/comments?channel=email&satisfied=false&limit=7${cursor}`,
          SupportCommentsSchema,
        );
        for (const c of page.comments) expect([c.channel, c.satisfied]).toEqual(['email', false]);
        seen.push(...page.comments.map((c) => c.ticketId));
        before = page.nextBefore;
      } while (before && seen.length < 30);
      expect(seen.slice(0, 30)).toEqual(expected);
      const bad = await get('/api/support/comments?before=yesterday');
      expect(bad.status).toBe(400);
    });
  });
});
