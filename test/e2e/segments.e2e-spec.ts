import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AnalyticsRunListSchema,
  AnalyticsRunSchema,
  ErrorBodySchema,
  FilterFieldListSchema,
  SegmentListSchema,
  SegmentMembersPageSchema,
  SegmentPreviewSchema,
  SegmentSchema,
  type AnalyticsRun,
  type FilterNode,
  type Segment,
} from '@retain/contracts';
import { adminFetch } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';

jest.setTimeout(180_000);

const SMB_AT_RISK: FilterNode = {
  all: [
    { field: 'tier', op: 'eq', value: 'smb' },
    { field: 'churn_risk', op: 'gte', value: 0.3 },
  ],
};

describe('custom segments over the API, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let api: typeof fetch;

  const get = (path: string) => api(`${retain.baseUrl}${path}`);
  const send = (method: string, path: string, body: unknown) =>
    api(`${retain.baseUrl}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const ids = async (sql: string, params: unknown[] = []) =>
    (await db.query<{ id: number }>(sql, params)).map((r) => r.id);

  const waitForRun = async (predicate: (runs: AnalyticsRun[]) => boolean): Promise<AnalyticsRun[]> => {
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { runs } = AnalyticsRunListSchema.parse(await (await get('/api/jobs/analytics/runs')).json());
      if (predicate(runs)) return runs;
      if (Date.now() > deadline) throw new Error(`analytics did not finish: ${JSON.stringify(runs)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const allMembers = async (id: number): Promise<number[]> => {
    const found: number[] = [];
    let after = '';
    for (;;) {
      const page = SegmentMembersPageSchema.parse(
        await (await get(`/api/segments/${id}/members?limit=7${after}`)).json(),
      );
      found.push(...page.members.map((m) => m.accountId));
      if (page.nextAfter === null) return found;
      after = `&after=${page.nextAfter}`;
    }
  };

  let smb: Segment;

  beforeAll(async () => {
    db = await createTestDatabase('segments_api');
    retain = runRetain(
      { DATABASE_URL: db.url, DEMO_DATA: 'true', DEMO_ACCOUNTS: '80', DEMO_DAYS: '60', LOG_LEVEL: 'warn' },
      await freePort(),
    );
    await waitUntilUp(retain);
    api = await adminFetch(db.url);
    await waitForRun((runs) => runs.some((r) => r.status === 'succeeded'));
  });
  afterAll(async () => {
    await retain?.stop();
    await db.drop();
  });

  it('lists the fields a filter may use', async () => {
    const list = FilterFieldListSchema.parse(await (await get('/api/segments/fields')).json());
    expect(list.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['tier', 'churn_risk', 'mrr', 'renewal_date', 'events_30d', 'csat_pct_90d']),
    );
    expect(list.fields.find((f) => f.name === 'tier')).toMatchObject({ type: 'text', source: 'score' });
  });

  it('previews a filter live: the count and riskiest accounts a direct query finds', async () => {
    const res = await send('POST', '/api/segments/preview', { filter: SMB_AT_RISK });
    expect(res.status).toBe(200);
    const preview = SegmentPreviewSchema.parse(await res.json());
    const expected = await ids(
      `SELECT account_id::int AS id FROM account_scores WHERE tier = 'smb' AND churn_risk >= 0.3
       ORDER BY churn_risk DESC, account_id`,
    );
    expect(preview.accounts).toBe(expected.length);
    expect(preview.sample.map((m) => m.accountId)).toEqual(expected.slice(0, 10));
  });

  it('saves a segment (201) and computes its members at once, as SQL counts them', async () => {
    const res = await send('POST', '/api/segments', {
      name: 'SMB at risk',
      description: 'Small accounts likely to churn',
      filter: SMB_AT_RISK,
    });
    expect(res.status).toBe(201);
    smb = SegmentSchema.parse(await res.json());
    const [expected] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM account_scores WHERE tier = 'smb' AND churn_risk >= 0.3`,
    );
    expect(expected!.n).toBeGreaterThan(0);
    expect(smb).toMatchObject({ name: 'SMB at risk', filter: SMB_AT_RISK, members: expected!.n });
    expect(await allMembers(smb.id)).toEqual(
      await ids(
        `SELECT account_id::int AS id FROM account_scores WHERE tier = 'smb' AND churn_risk >= 0.3 ORDER BY 1`,
      ),
    );
    const list = SegmentListSchema.parse(await (await get('/api/segments')).json());
    expect(list.segments.map((s) => s.name)).toEqual(['SMB at risk']);
  });

  it('answers bad filters with 400 bodies naming the field, and never runs them', async () => {
    const unknown = await send('POST', '/api/segments', {
      name: 'typo',
      filter: {
        all: [
          { field: 'tier', op: 'eq', value: 'smb' },
          { field: 'mrrr', op: 'gt', value: 100 },
        ],
      },
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'filter.all.1.field: unknown field "mrrr"',
        details: { fields: [{ path: 'filter.all.1.field', message: 'unknown field "mrrr"' }] },
      },
    });

    const mistyped = await send('POST', '/api/segments/preview', {
      filter: {
        any: [
          { field: 'plan', op: 'gte', value: 3 },
          { field: 'created_at', op: 'gt', value: 'soon' },
        ],
      },
    });
    expect(mistyped.status).toBe(400);
    expect(ErrorBodySchema.parse(await mistyped.json()).error.details).toEqual({
      fields: [
        {
          path: 'filter.any.0.op',
          message:
            '"gte" does not apply to text field "plan" (use eq, neq, in, not_in, contains, starts_with, is_null, is_not_null)',
        },
        {
          path: 'filter.any.1.value',
          message: 'must be an ISO date or date-time with a zone for timestamp field "created_at"',
        },
      ],
    });

    const badOp = await send('POST', '/api/segments', {
      name: 'bad op',
      filter: { all: [{ field: 'mrr', op: 'like', value: 1 }] },
    });
    expect(badOp.status).toBe(400);
    expect(ErrorBodySchema.parse(await badOp.json()).error.details).toEqual({
      fields: [
        {
          path: 'filter.all.0.op',
          message:
            'must be one of eq, neq, gt, gte, lt, lte, between, in, not_in, contains, starts_with, is_null, is_not_null',
        },
      ],
    });

    const hostile = await send('POST', '/api/segments', {
      name: 'hostile',
      filter: { field: 'mrr; DROP TABLE accounts', op: 'eq', value: "1'; DROP TABLE accounts; --" },
    });
    expect(hostile.status).toBe(400);
    expect(ErrorBodySchema.parse(await hostile.json()).error.message).toBe(
      'filter.field: unknown field "mrr; DROP TABLE accounts"',
    );
    const quoted = await send('POST', '/api/segments/preview', {
      filter: { field: 'name', op: 'eq', value: "1'; DROP TABLE accounts; --" },
    });
    expect(SegmentPreviewSchema.parse(await quoted.json()).accounts).toBe(0);
    expect((await db.query(`SELECT 1 FROM accounts LIMIT 1`)).length).toBe(1);
    expect(SegmentListSchema.parse(await (await get('/api/segments')).json()).segments).toHaveLength(1);
  });

  it('lists the custom segment after the base segment in the scores export', async () => {
    const [member] = SegmentMembersPageSchema.parse(
      await (await get(`/api/segments/${smb.id}/members?limit=1`)).json(),
    ).members;
    const csv = await (await get('/api/scores/export')).text();
    const line = csv.split('\r\n').find((l) => l.startsWith(`${member!.externalId},`));
    expect(line?.split(',')[3]).toBe(`${member!.segment};SMB at risk`);
  });

  it('recomputes members on every analytics run', async () => {
    await waitForRun((all) => all.every((r) => r.status !== 'running'));
    // Members left wrong on purpose: only the run's recompute can set them right.
    await db.query(`DELETE FROM custom_segment_members WHERE segment_id = $1`, [smb.id]);
    await db.query(
      `INSERT INTO custom_segment_members (segment_id, account_id) SELECT $1, id FROM accounts WHERE id % 2 = 0`,
      [smb.id],
    );
    const res = await send('POST', '/api/jobs/analytics/run', {});
    expect(res.status).toBe(202);
    const started = AnalyticsRunSchema.parse(await res.json());
    const runs = await waitForRun((all) => all.some((r) => r.id === started.id && r.status !== 'running'));
    expect(runs.find((r) => r.id === started.id)?.status).toBe('succeeded');
    const expected = await ids(
      `SELECT account_id::int AS id FROM account_scores WHERE tier = 'smb' AND churn_risk >= 0.3 ORDER BY 1`,
    );
    expect(await allMembers(smb.id)).toEqual(expected);
    expect(SegmentSchema.parse(await (await get(`/api/segments/${smb.id}`)).json()).members).toBe(
      expected.length,
    );
  });

  it('renames with PATCH, refuses a taken name (409), and deletes (204, then 404)', async () => {
    const other = SegmentSchema.parse(
      await (
        await send('POST', '/api/segments', {
          name: 'Quiet',
          filter: { field: 'events_30d', op: 'lte', value: 5 },
        })
      ).json(),
    );
    const [quiet] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM account_scores WHERE (features->>'events_30d')::numeric <= 5`,
    );
    expect(other.members).toBe(quiet!.n);
    const taken = await send('PATCH', `/api/segments/${other.id}`, { name: 'SMB at risk' });
    expect(taken.status).toBe(409);
    const renamed = await send('PATCH', `/api/segments/${other.id}`, { name: 'Quiet accounts' });
    expect(SegmentSchema.parse(await renamed.json())).toMatchObject({
      name: 'Quiet accounts',
      members: quiet!.n,
    });
    expect((await api(`${retain.baseUrl}/api/segments/${other.id}`, { method: 'DELETE' })).status).toBe(204);
    const gone = await get(`/api/segments/${other.id}`);
    expect(gone.status).toBe(404);
    expect(ErrorBodySchema.parse(await gone.json()).error.code).toBe('NOT_FOUND');
  });
});
