import { createHmac } from 'node:crypto';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import {
  AnalyticsRunListSchema,
  AudienceFieldListSchema,
  AudienceHistorySchema,
  CAMPAIGN_EXPORT_COLUMNS,
  CampaignListSchema,
  GoalEventListSchema,
  CampaignMembersPageSchema,
  CampaignOutcomeSchema,
  CampaignPreviewSchema,
  CampaignSchema,
  CreatedCampaignSchema,
  DeliveryListSchema,
  ErrorBodySchema,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookBatchSchema,
  type AnalyticsRun,
  type AudienceInput,
  type CampaignMember,
  type CreateCampaignRequestInput,
  type WebhookBatch,
} from '@retain/contracts';
import { adminFetch } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';

jest.setTimeout(180_000);

/** The audience condition written by hand over contacts c, accounts a, scores s. */
const EMAILABLE = `c.email LIKE '%_@_%' AND c.email NOT LIKE '%@%@%'`;

const SMB_ADMINS: AudienceInput = {
  segments: ['smb-novice', 'smb-expert'],
  filter: { field: 'contact.role', op: 'eq', value: 'admin' },
};

describe('campaigns over the API, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let api: typeof fetch;

  const get = (path: string) => api(`${retain.baseUrl}${path}`);
  const post = (path: string, body: unknown) =>
    api(`${retain.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const handCount = async (where: string) =>
    (
      await db.query<{ accounts: number; contacts: number }>(
        `SELECT count(DISTINCT a.id)::int AS accounts, count(*)::int AS contacts
         FROM contacts c JOIN accounts a ON a.id = c.account_id JOIN account_scores s ON s.account_id = a.id
         WHERE ${EMAILABLE} AND (${where})`,
      )
    )[0]!;
  const campaign = (body: Partial<CreateCampaignRequestInput>): CreateCampaignRequestInput => ({
    name: 'unnamed',
    goal: { event: 'plan_upgraded', windowDays: 30 },
    channel: 'email_export',
    audience: { segments: [] },
    ...body,
  });
  const allMembers = async (id: number, group: string): Promise<CampaignMember[]> => {
    const found: CampaignMember[] = [];
    let after = '';
    for (;;) {
      const page = CampaignMembersPageSchema.parse(
        await (await get(`/api/campaigns/${id}/members?group=${group}&limit=50${after}`)).json(),
      );
      found.push(...page.members);
      if (page.nextAfter === null) return found;
      after = `&after=${page.nextAfter}`;
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('campaigns_api');
    retain = runRetain(
      { DATABASE_URL: db.url, DEMO_DATA: 'true', DEMO_ACCOUNTS: '200', DEMO_DAYS: '60', LOG_LEVEL: 'warn' },
      await freePort(),
    );
    await waitUntilUp(retain);
    api = await adminFetch(db.url);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const { runs } = AnalyticsRunListSchema.parse(await (await get('/api/jobs/analytics/runs')).json());
      if (runs.some((r: AnalyticsRun) => r.status === 'succeeded')) break;
      if (Date.now() > deadline) throw new Error(`analytics did not finish: ${JSON.stringify(runs)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });
  afterAll(async () => {
    await retain?.stop();
    await db.drop();
  });

  it('lists account and contact fields for the builder', async () => {
    const list = AudienceFieldListSchema.parse(await (await get('/api/campaigns/fields')).json());
    expect(list.fields.find((f) => f.name === 'contact.email_domain')).toMatchObject({
      type: 'text',
      source: 'contact',
    });
    expect(list.fields.map((f) => f.name)).toEqual(
      expect.arrayContaining(['churn_risk', 'contact.last_seen_at']),
    );
  });

  it.each([
    ['SMB admins', SMB_ADMINS, `s.tier = 'smb' AND c.traits->>'role' = 'admin'`],
    [
      'primary contacts of risky accounts',
      { segments: [], primaryContactOnly: true, filter: { field: 'churn_risk', op: 'gte', value: 0.2 } },
      // In the demo every account's first contact is its admin, and no contact is flagged primary.
      `s.churn_risk >= 0.2 AND c.id = (SELECT min(p.id) FROM contacts p
         WHERE p.account_id = a.id AND p.traits->>'role' = 'admin')`,
    ],
    [
      'analysts and viewers of novices on the starter plan',
      {
        segments: ['smb-novice', 'mid_market-novice', 'enterprise-novice'],
        filter: {
          all: [
            { field: 'plan', op: 'eq', value: 'starter' },
            { field: 'contact.role', op: 'in', value: ['analyst', 'viewer'] },
          ],
        },
      },
      `s.proficiency = 'novice' AND a.plan = 'starter' AND c.traits->>'role' IN ('analyst', 'viewer')`,
    ],
  ] as [string, AudienceInput, string][])(
    'previews "%s" live: the counts a direct query finds',
    async (_name, audience, where) => {
      const res = await post('/api/campaigns/preview', { audience });
      expect(res.status).toBe(200);
      const preview = CampaignPreviewSchema.parse(await res.json());
      const expected = await handCount(where);
      expect(expected.contacts).toBeGreaterThan(0);
      expect({ accounts: preview.accounts, contacts: preview.contacts }).toEqual(expected);
      expect(preview.sample.length).toBe(Math.min(10, expected.contacts));
      expect(preview.asOf).not.toBeNull();
    },
  );

  it('changes the preview as the audience narrows, with the count per segment', async () => {
    const wide = CampaignPreviewSchema.parse(
      await (
        await post('/api/campaigns/preview', { audience: { segments: ['smb-novice', 'smb-expert'] } })
      ).json(),
    );
    const narrow = CampaignPreviewSchema.parse(
      await (await post('/api/campaigns/preview', { audience: SMB_ADMINS })).json(),
    );
    expect(narrow.contacts).toBeLessThan(wide.contacts);
    expect(wide.bySegment.map((s) => [s.key, s.contacts])).toEqual([
      ['smb-novice', (await handCount(`s.segment = 'smb-novice'`)).contacts],
      ['smb-expert', (await handCount(`s.segment = 'smb-expert'`)).contacts],
    ]);
  });

  it('answers bad audiences with 400 bodies naming the part, and binds text values', async () => {
    const unknown = await post('/api/campaigns/preview', {
      audience: { segments: [], filter: { all: [{ field: 'contact.shoe_size', op: 'gt', value: 40 }] } },
    });
    expect(unknown.status).toBe(400);
    expect(await unknown.json()).toEqual({
      error: {
        code: 'VALIDATION_FAILED',
        message: 'audience.filter.all.0.field: unknown field "contact.shoe_size"',
        details: {
          fields: [{ path: 'audience.filter.all.0.field', message: 'unknown field "contact.shoe_size"' }],
        },
      },
    });

    const mistyped = await post('/api/campaigns/preview', {
      audience: { segments: [], filter: { field: 'mrr', op: 'gt', value: '100 OR 1=1' } },
    });
    expect(mistyped.status).toBe(400);
    expect(ErrorBodySchema.parse(await mistyped.json()).error.details).toEqual({
      fields: [{ path: 'audience.filter.value', message: 'must be a number for number field "mrr"' }],
    });

    const segment = await post(
      '/api/campaigns',
      campaign({ name: 'bad segment', audience: { segments: ['vip'] } }),
    );
    expect(segment.status).toBe(400);
    expect(ErrorBodySchema.parse(await segment.json()).error.details).toEqual({
      fields: [
        {
          path: 'audience.segments.0',
          message:
            'unknown segment "vip": use a base segment (enterprise-novice, enterprise-expert, mid_market-novice, mid_market-expert, smb-novice, smb-expert) or a custom segment id',
        },
      ],
    });
    const missing = await post('/api/campaigns/preview', { audience: { segments: ['987654'] } });
    expect(ErrorBodySchema.parse(await missing.json()).error.message).toBe(
      'audience.segments.0: unknown segment "987654": no custom segment has this id',
    );

    const hostile = await post('/api/campaigns/preview', {
      audience: { segments: [], filter: { field: "role'; DROP TABLE contacts; --", op: 'eq', value: 'x' } },
    });
    expect(hostile.status).toBe(400);
    const bound = await post('/api/campaigns/preview', {
      audience: {
        segments: [],
        filter: { field: 'contact.role', op: 'eq', value: "x'; DROP TABLE contacts; --" },
      },
    });
    expect(CampaignPreviewSchema.parse(await bound.json()).contacts).toBe(0);
    expect((await db.query(`SELECT 1 FROM contacts LIMIT 1`)).length).toBe(1);
    const list = CampaignListSchema.parse(await (await get('/api/campaigns')).json());
    expect(list.campaigns.map((c) => c.name)).not.toContain('bad segment');
  });

  it('saves a campaign and exports its contacted members, never the holdout', async () => {
    const res = await post(
      '/api/campaigns',
      campaign({
        name: 'SMB admins upgrade',
        audience: { segments: ['smb-novice', 'smb-expert'] },
        holdoutPct: 20,
      }),
    );
    expect(res.status).toBe(201);
    const created = CreatedCampaignSchema.parse(await res.json());
    expect(created).toMatchObject({ status: 'active', holdoutPct: 20, webhook: null, webhookSecret: null });
    expect(created.members.holdout).toBeGreaterThan(0);

    const csv = await get(`/api/campaigns/${created.id}/export.csv`);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    const rows = parse(await csv.text(), { columns: true }) as Record<string, string>[];
    expect(Object.keys(rows[0]!)).toEqual([...CAMPAIGN_EXPORT_COLUMNS]);
    const contacted = await allMembers(created.id, 'contacted');
    const holdout = await allMembers(created.id, 'holdout');
    expect(rows.map((r) => r.email)).toEqual(contacted.map((m) => m.email));
    expect(rows.filter((r) => holdout.some((h) => h.email === r.email))).toEqual([]);
    expect(rows.length).toBe(created.members.contacted);

    const again = await post('/api/campaigns', campaign({ name: 'SMB admins upgrade' }));
    expect(again.status).toBe(409);
    expect((await get('/api/campaigns/999999')).status).toBe(404);
    const history = AudienceHistorySchema.parse(
      await (await get(`/api/campaigns/${created.id}/audience-history`)).json(),
    );
    expect(history.points).toHaveLength(1);
    const outcome = CampaignOutcomeSchema.parse(
      await (await get(`/api/campaigns/${created.id}/outcome`)).json(),
    );
    expect(outcome.contacted.members).toBe(created.memberAccounts.contacted);
  });

  it('delivers a webhook campaign to a receiver that fails first, each member once, signed', async () => {
    const batches = new Map<string, number>();
    const accepted: WebhookBatch[] = [];
    let secret = '';
    let badSignatures = 0;
    const receiver = http.createServer((req, res) => {
      let raw = '';
      req.on('data', (chunk: Buffer) => (raw += chunk.toString('utf8')));
      req.on('end', () => {
        const expected = `sha256=${createHmac('sha256', secret).update(raw, 'utf8').digest('hex')}`;
        if (req.headers[WEBHOOK_SIGNATURE_HEADER] !== expected) badSignatures++;
        const id = String(req.headers[WEBHOOK_DELIVERY_HEADER]);
        const n = (batches.get(id) ?? 0) + 1;
        batches.set(id, n);
        if (n <= 2) return void res.writeHead(503).end();
        accepted.push(WebhookBatchSchema.parse(JSON.parse(raw)));
        res.writeHead(204).end();
      });
    });
    const port = await freePort();
    await new Promise<void>((resolve) => receiver.listen(port, '127.0.0.1', resolve));
    try {
      const res = await post(
        '/api/campaigns',
        campaign({
          name: 'webhook',
          channel: 'webhook',
          holdoutPct: 25,
          audience: { segments: [], primaryContactOnly: true },
          webhook: { url: `http://127.0.0.1:${port}/retain`, batchSize: 40 },
        }),
      );
      expect(res.status).toBe(201);
      const created = CreatedCampaignSchema.parse(await res.json());
      secret = created.webhookSecret!;
      expect(secret).toMatch(/^whsec_/);
      expect(CampaignSchema.parse(await (await get(`/api/campaigns/${created.id}`)).json()).webhook).toEqual({
        url: `http://127.0.0.1:${port}/retain`,
        batchSize: 40,
        secretHint: secret.slice(-4),
      });

      const deadline = Date.now() + 60_000;
      let list = DeliveryListSchema.parse(
        await (await get(`/api/campaigns/${created.id}/deliveries`)).json(),
      );
      while (list.totals.membersDelivered < created.members.contacted) {
        if (Date.now() > deadline) throw new Error(`not delivered: ${JSON.stringify(list.totals)}`);
        await new Promise((r) => setTimeout(r, 250));
        list = DeliveryListSchema.parse(await (await get(`/api/campaigns/${created.id}/deliveries`)).json());
      }
      const delivered = accepted.flatMap((b) => b.members.map((m) => m.contactId));
      const contacted = (await allMembers(created.id, 'contacted')).map((m) => m.contactId);
      const holdout = (await allMembers(created.id, 'holdout')).map((m) => m.contactId);
      expect([...delivered].sort((a, b) => a - b)).toEqual(contacted);
      expect(delivered.filter((id) => holdout.includes(id))).toEqual([]);
      expect(badSignatures).toBe(0);
      expect(list.deliveries.every((d) => d.attempts.map((a) => a.httpStatus).join() === '503,503,204')).toBe(
        true,
      );
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });

  it('shows the demo’s past campaigns with their outcome', async () => {
    const { campaigns } = CampaignListSchema.parse(await (await get('/api/campaigns')).json());
    const demo = campaigns.filter((c) => c.name.includes('starter plan') || c.name.includes('stalled'));
    expect(demo).toHaveLength(2);
    for (const c of demo) {
      const outcome = CampaignOutcomeSchema.parse(await (await get(`/api/campaigns/${c.id}/outcome`)).json());
      expect(outcome.contacted.members + outcome.holdout.members).toBeGreaterThan(0);
      expect(outcome.curve).toHaveLength(c.goal.windowDays + 1);
    }
  });

  it('suggests goal events: the names sent in the last 30 days with their counts', async () => {
    const list = GoalEventListSchema.parse(await (await get('/api/campaigns/goal-events')).json());
    expect(list.days).toBe(30);
    const expected = await db.query<{ name: string; events: number; accounts: number }>(
      `SELECT name, count(*)::int AS events, count(DISTINCT account_id)::int AS accounts FROM events
       WHERE timestamp >= now() - interval '30 days' AND timestamp <= now()
       GROUP BY name ORDER BY events DESC, name LIMIT 200`,
    );
    expect(list.events.map(({ name, events, accounts }) => ({ name, events, accounts }))).toEqual(expected);
    expect(list.events.map((e) => e.name)).toContain('plan_upgraded');
  });

  it('pages the campaign list on the server, with totals over all pages', async () => {
    const all = CampaignListSchema.parse(await (await get('/api/campaigns?limit=200')).json());
    expect(all.total).toBe(all.campaigns.length);
    expect(all.total).toBeGreaterThanOrEqual(3);
    expect(all.active).toBe(all.campaigns.filter((c) => c.status === 'active').length);
    expect(all.contacted).toBe(all.campaigns.reduce((n, c) => n + c.members.contacted, 0));
    const second = CampaignListSchema.parse(await (await get('/api/campaigns?limit=1&offset=1')).json());
    expect(second).toMatchObject({ total: all.total, limit: 1, offset: 1 });
    expect(second.campaigns.map((c) => c.id)).toEqual([all.campaigns[1]!.id]);
    const bad = await get('/api/campaigns?limit=0');
    expect(bad.status).toBe(400);
    expect(ErrorBodySchema.parse(await bad.json()).error.details).toEqual({
      fields: [expect.objectContaining({ path: 'limit' })],
    });
  });

  it('documents every campaign route in the OpenAPI document', async () => {
    const doc = (await (await get('/api/openapi.json')).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/campaigns',
        '/api/campaigns/preview',
        '/api/campaigns/fields',
        '/api/campaigns/{id}',
        '/api/campaigns/{id}/export.csv',
        '/api/campaigns/{id}/outcome',
        '/api/campaigns/{id}/deliveries',
        '/api/campaigns/{id}/audience-history',
        '/api/campaigns/{id}/members',
      ]),
    );
  });
});
