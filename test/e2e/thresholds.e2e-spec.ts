import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AnalyticsRunListSchema,
  AnalyticsRunSchema,
  AuditLogPageSchema,
  ErrorBodySchema,
  ThresholdSettingsSchema,
  type Role,
  type Thresholds,
} from '@retain/contracts';
import { createApiToken, withToken } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';

jest.setTimeout(180_000);

const CHANGED: Thresholds = {
  enterpriseMinMrr: 1200,
  enterpriseMinSeats: 120,
  midMarketMinMrr: 150,
  expertMinScore: 0.62,
};

/** Segment thresholds saved over the API decide the next run's tiers and proficiency. */
describe('segment thresholds', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  const as: Partial<Record<Role, typeof fetch>> = {};

  const call = (role: Role, path: string, init?: RequestInit) => as[role]!(`${retain.baseUrl}${path}`, init);
  const put = (role: Role, body: unknown) =>
    call(role, '/api/settings/thresholds', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const succeededRuns = async () =>
    AnalyticsRunListSchema.parse(await (await call('admin', '/api/jobs/analytics/runs')).json()).runs.filter(
      (r) => r.status === 'succeeded',
    );
  const waitForRuns = async (n: number) => {
    const deadline = Date.now() + 120_000;
    while ((await succeededRuns()).length < n) {
      if (Date.now() > deadline) throw new Error(`fewer than ${n} analytics runs succeeded`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('thresholds');
    retain = runRetain(
      {
        DATABASE_URL: db.url,
        DEMO_DATA: 'true',
        DEMO_ACCOUNTS: '120',
        DEMO_DAYS: '60',
        LOG_LEVEL: 'warn',
        ANALYTICS_CRON: '0 0 1 1 *',
        TIER_ENTERPRISE_MIN_MRR: '6000',
      },
      await freePort(),
    );
    await waitUntilUp(retain);
    for (const role of ['admin', 'cs_manager', 'viewer'] as const)
      as[role] = withToken(await createApiToken(db.url, role));
    await waitForRuns(1);
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  it('answers the configured defaults until thresholds are saved', async () => {
    const settings = ThresholdSettingsSchema.parse(
      await (await call('viewer', '/api/settings/thresholds')).json(),
    );
    const defaults = {
      enterpriseMinMrr: 6000,
      enterpriseMinSeats: 250,
      midMarketMinMrr: 500,
      expertMinScore: 0.5,
    };
    expect(settings).toEqual({ thresholds: defaults, defaults, updatedAt: null, updatedBy: null });
  });

  it('refuses a viewer (403) and invalid thresholds (400 naming the field), saving nothing', async () => {
    expect((await put('viewer', CHANGED)).status).toBe(403);
    const inverted = await put('cs_manager', { ...CHANGED, midMarketMinMrr: 5000 });
    expect(inverted.status).toBe(400);
    expect(ErrorBodySchema.parse(await inverted.json()).error.details).toMatchObject({
      fields: [{ path: 'midMarketMinMrr', message: 'must be below enterpriseMinMrr' }],
    });
    const outOfRange = await put('cs_manager', { ...CHANGED, expertMinScore: 1.5, enterpriseMinSeats: 0.5 });
    expect(outOfRange.status).toBe(400);
    const paths = (
      ErrorBodySchema.parse(await outOfRange.json()).error.details as { fields: { path: string }[] }
    ).fields
      .map((f) => f.path)
      .sort();
    expect(paths).toEqual(['enterpriseMinSeats', 'expertMinScore']);
    expect(await db.query(`SELECT * FROM threshold_settings`)).toEqual([]);
  });

  it('saves thresholds from a CS manager, records the change, and the next run segments by them', async () => {
    const saved = await put('cs_manager', CHANGED);
    expect(saved.status).toBe(200);
    const settings = ThresholdSettingsSchema.parse(await saved.json());
    expect(settings.thresholds).toEqual(CHANGED);
    expect(settings.updatedBy).toBe('test cs_manager');

    const audit = AuditLogPageSchema.parse(
      await (await call('admin', '/api/audit-log?action=settings.thresholds_changed')).json(),
    ).entries;
    expect(audit[0]).toMatchObject({ actorLabel: 'test cs_manager', details: { to: CHANGED } });

    const started = await call('admin', '/api/jobs/analytics/run', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(started.status).toBe(202);
    AnalyticsRunSchema.parse(await started.json());
    await waitForRuns(2);

    // Every account's tier and proficiency, as the thresholds define them, computed here in SQL.
    const mismatches = await db.query(
      `SELECT a.id, s.tier, s.proficiency, a.mrr, a.seats, s.proficiency_score
       FROM account_scores s JOIN accounts a ON a.id = s.account_id
       WHERE s.tier IS DISTINCT FROM CASE
               WHEN a.mrr >= $1 OR a.seats >= $2 THEN 'enterprise'
               WHEN a.mrr >= $3 THEN 'mid_market' ELSE 'smb' END
          OR s.proficiency IS DISTINCT FROM CASE WHEN s.proficiency_score >= $4 THEN 'expert' ELSE 'novice' END`,
      [CHANGED.enterpriseMinMrr, CHANGED.enterpriseMinSeats, CHANGED.midMarketMinMrr, CHANGED.expertMinScore],
    );
    expect(mismatches).toEqual([]);
    const [{ enterprise, scored }] = await db.query<{ enterprise: number; scored: number }>(
      `SELECT count(*) FILTER (WHERE tier = 'enterprise')::int AS enterprise, count(*)::int AS scored FROM account_scores`,
    );
    const [{ atDefault }] = await db.query<{ atDefault: number }>(
      `SELECT count(*)::int AS "atDefault" FROM accounts WHERE mrr >= 6000 OR seats >= 250`,
    );
    expect(scored).toBe(120);
    // The lower bar takes in more enterprise accounts than the default did.
    expect(enterprise).toBeGreaterThan(atDefault);
  });
});
