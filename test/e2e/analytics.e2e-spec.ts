import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AnalyticsRunListSchema,
  AnalyticsRunSchema,
  ErrorBodySchema,
  SupportMetricsSchema,
  type AnalyticsRun,
} from '@retain/contracts';
import { adminFetch } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';

jest.setTimeout(120_000);

describe('analytics over the API, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let api: typeof fetch;

  beforeAll(async () => {
    db = await createTestDatabase('analytics_api');
    retain = runRetain(
      { DATABASE_URL: db.url, DEMO_DATA: 'true', DEMO_ACCOUNTS: '80', DEMO_DAYS: '60', LOG_LEVEL: 'warn' },
      await freePort(),
    );
    await waitUntilUp(retain);
    api = await adminFetch(db.url);
  });
  afterAll(async () => {
    await retain?.stop();
    await db.drop();
  });

  const get = async (path: string) => api(`${retain.baseUrl}${path}`);
  const waitForRun = async (id: number): Promise<AnalyticsRun> => {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const run = AnalyticsRunSchema.parse(await (await get(`/api/jobs/analytics/runs/${id}`)).json());
      if (run.status !== 'running') return run;
      if (Date.now() > deadline) throw new Error(`run ${id} still running`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  it('runs once at start on a new install, so results are served without waiting for the schedule', async () => {
    let runs: AnalyticsRun[] = [];
    const deadline = Date.now() + 90_000;
    while (Date.now() < deadline) {
      runs = AnalyticsRunListSchema.parse(await (await get('/api/jobs/analytics/runs')).json()).runs;
      if (runs.some((r) => r.status === 'succeeded')) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(runs.at(-1)).toMatchObject({ trigger: 'schedule', status: 'succeeded', progress: 100 });
  });

  it('starts a run on POST (202 with the run), refuses a second one while it runs (409), and finishes', async () => {
    const res = await api(`${retain.baseUrl}/api/jobs/analytics/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ full: true }),
    });
    expect(res.status).toBe(202);
    const started = AnalyticsRunSchema.parse(await res.json());
    expect(started).toMatchObject({ trigger: 'api', fullRebuild: true, status: 'running' });
    const again = await api(`${retain.baseUrl}/api/jobs/analytics/run`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    if (again.status === 409) {
      expect(ErrorBodySchema.parse(await again.json()).error.code).toBe('CONFLICT');
    } else {
      // The first run was already over: the second is a new run of its own.
      expect(again.status).toBe(202);
      await waitForRun(AnalyticsRunSchema.parse(await again.json()).id);
    }
    const done = await waitForRun(started.id);
    expect(done).toMatchObject({ status: 'succeeded', progress: 100, error: null });
    expect(done.rowsRead).toBeGreaterThan(0);
  });

  it('serves ASA and CSAT by channel equal to a direct SQL computation over the tickets', async () => {
    const rows = SupportMetricsSchema.parse(await (await get('/api/metrics/support?by=channel')).json());
    expect(rows.map((r) => r.key).sort()).toEqual(['chat', 'email', 'phone', 'social', 'web']);
    const expected = await db.query<{
      key: string;
      tickets: number;
      ratings: number;
      csat: number | null;
      asa: number | null;
    }>(
      `SELECT channel AS key, count(*)::int AS tickets,
              count(csat_score)::int AS ratings,
              100.0 * count(*) FILTER (WHERE (csat_scale = 'five_point' AND csat_score >= 4) OR (csat_scale = 'good_bad' AND csat_score = 1))
                / NULLIF(count(csat_score), 0) AS csat,
              avg(COALESCE(first_response_minutes, extract(epoch FROM first_response_at - created_at) / 60)) AS asa
       FROM tickets
       WHERE created_at >= date_trunc('week', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' - interval '25 weeks'
       GROUP BY channel ORDER BY channel`,
    );
    for (const e of expected) {
      const row = rows.find((r) => r.key === e.key)!;
      expect(row.tickets).toBe(e.tickets);
      expect(row.ratings).toBe(e.ratings);
      expect(row.csatPct).toBeCloseTo(Number(e.csat), 6);
      expect(row.asaMeanMinutes).toBeCloseTo(Number(e.asa), 6);
    }
    const bad = await get('/api/metrics/support?by=planet');
    expect(bad.status).toBe(400);
  });

  it('exports one CSV row per account with the documented columns', async () => {
    const res = await get('/api/scores/export');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/csv');
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('external_id,tier,proficiency,segments,churn_risk,health,upsell_score,top_reasons');
    expect(lines).toHaveLength(81);
    const accounts = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM account_scores`);
    expect(accounts[0]!.n).toBe(80);
    for (const line of lines.slice(1))
      expect(line).toMatch(/^acc_\d+,(enterprise|mid_market|smb),(novice|expert),/);
  });
});
