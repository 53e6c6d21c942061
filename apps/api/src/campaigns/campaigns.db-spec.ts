import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import pg from 'pg';
import {
  AudienceSchema,
  CAMPAIGN_EXPORT_COLUMNS,
  CreateCampaignRequestSchema,
  type AudienceInput,
  type CreateCampaignRequestInput,
} from '@retain/contracts';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { AudienceRepository } from './audience.repository.js';
import { CampaignsRepository } from './campaigns.repository.js';
import { CampaignsService } from './campaigns.service.js';
import { differenceOfProportions } from './uplift.js';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';

const SEGMENTS = ['smb-novice', 'smb-expert', 'mid_market-novice', 'enterprise-expert'];
const DOMAINS = ['acme.example', 'globex.example', 'Initech.Example'];
const ROLES = ['admin', 'analyst', 'owner', 'viewer'];
const DAY_MS = 86_400_000;

/** Account i of the fixture; every 16th is not scored yet (audiences only hold scored accounts). */
function makeAccount(i: number) {
  return {
    externalId: `acc_${String(i).padStart(3, '0')}`,
    name: i === 6 ? '-2+3 Corp' : `Account ${i}`,
    plan: i % 3 === 0 ? 'starter' : 'pro',
    mrr: i * 40,
    scored: i % 16 !== 0,
    segment: SEGMENTS[i % 4]!,
    churnRisk: ((i * 37) % 100) / 100,
  };
}

/** Contact j of account i: some without a usable email, some unsubscribed, one primary by trait. */
function makeContact(i: number, j: number) {
  const email =
    j === 3 && i % 2 === 0
      ? null
      : j === 2 && i % 7 === 0
        ? 'not-an-email'
        : `person.${i}.${j}@${DOMAINS[(i + j) % 3]}`;
  return {
    externalId: `usr_${i}_${j}`,
    email,
    name: i === 6 && j === 0 ? '=HYPERLINK("http://evil.example","click")' : `Person ${i}.${j}`,
    traits: {
      role: i === 12 && j === 1 ? '@risky' : ROLES[(i + j) % 4],
      title: j === 1 ? 'Head of Ops' : 'Engineer',
      ...(i % 6 === 0 && j === 2 ? { primary: true } : {}),
      ...((i + j) % 9 === 0 ? { unsubscribed: true } : {}),
    },
    createdAt: new Date(Date.UTC(2025, 0, 1 + i, j)).toISOString(),
    /** Days ago of the contact's last event; null: never seen. */
    lastSeenDaysAgo: (i + j) % 3 === 0 ? null : (i * (j + 1)) % 60,
  };
}

/** The audience condition written by hand, independently of the compiler (aliases c, a, s). */
const EMAILABLE = `c.email LIKE '%_@_%' AND c.email NOT LIKE '%@%@%'`;
const PRIMARY = `c.id IN (SELECT id FROM (
    SELECT p.id, row_number() OVER (PARTITION BY p.account_id ORDER BY
      (p.traits->>'primary' IS NOT NULL) DESC, (p.traits->>'role' IN ('admin', 'owner')) DESC, p.created_at, p.id) AS n
    FROM contacts p WHERE p.email LIKE '%_@_%' AND p.email NOT LIKE '%@%@%') ranked WHERE n = 1)`;
const FROM = `contacts c JOIN accounts a ON a.id = c.account_id JOIN account_scores s ON s.account_id = a.id
  LEFT JOIN contact_activity ca ON ca.contact_id = c.id`;

const audience = (input: AudienceInput) => AudienceSchema.parse(input);
const request = (input: Partial<CreateCampaignRequestInput> & { name: string; audience: AudienceInput }) =>
  CreateCampaignRequestSchema.parse({
    goal: { event: 'report_created', windowDays: 7 },
    channel: 'email_export',
    holdoutPct: 0,
    ...input,
  });

describe('campaigns against PostgreSQL', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let campaigns: CampaignsService;
  let customSegmentId: string;

  const handCount = async (where: string) =>
    (
      await db.query<{ accounts: number; contacts: number }>(
        `SELECT count(DISTINCT a.id)::int AS accounts, count(*)::int AS contacts FROM ${FROM}
         WHERE ${EMAILABLE} AND (${where})`,
      )
    )[0]!;

  const memberIds = async (campaignId: number, group?: 'contacted' | 'holdout') =>
    (
      await db.query<{ id: number }>(
        `SELECT contact_id::int AS id FROM campaign_members
         WHERE campaign_id = $1 AND ($2::text IS NULL OR member_group = $2) ORDER BY 1`,
        [campaignId, group ?? null],
      )
    ).map((r) => r.id);

  const handIds = async (where: string) =>
    (
      await db.query<{ id: number }>(
        `SELECT c.id::int AS id FROM ${FROM} WHERE ${EMAILABLE} AND (${where}) ORDER BY 1`,
      )
    ).map((r) => r.id);

  const csv = async (campaignId: number, since?: string): Promise<Record<string, string>[]> => {
    let text = '';
    for await (const chunk of await campaigns.exportCsv(campaignId, { since })) text += chunk;
    return parse(text, { columns: true, bom: true }) as Record<string, string>[];
  };

  beforeAll(async () => {
    db = await createTestDatabase('campaigns');
    await prepareDatabase(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    pool.on('error', () => undefined);
    const audiences = new AudienceRepository(pool);
    campaigns = new CampaignsService(
      new CampaignsRepository(pool),
      audiences,
      new WebhookDeliveriesRepository(pool),
    );
    for (let i = 1; i <= 48; i++) {
      const a = makeAccount(i);
      const [row] = await db.query<{ id: string }>(
        `INSERT INTO accounts (external_id, name, plan, mrr, created_at) VALUES ($1, $2, $3, $4, '2024-06-01')
         RETURNING id`,
        [a.externalId, a.name, a.plan, a.mrr],
      );
      if (a.scored)
        await db.query(
          `INSERT INTO account_scores (account_id, run_id, tier, proficiency, segment, churn_risk, features, computed_at)
           VALUES ($1, 1, $2, $3, $4, $5, $6, now())`,
          [row!.id, ...a.segment.split('-'), a.segment, a.churnRisk, { onboarding_completion: (i % 4) / 4 }],
        );
      for (let j = 0; j < i % 5; j++) {
        const c = makeContact(i, j);
        const [contact] = await db.query<{ id: string }>(
          `INSERT INTO contacts (external_id, account_id, email, name, traits, created_at)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
          [c.externalId, row!.id, c.email, c.name, c.traits, c.createdAt],
        );
        if (c.lastSeenDaysAgo !== null)
          await db.query(
            `INSERT INTO events (message_id, account_id, contact_id, type, name, timestamp)
             VALUES ($1, $2, $3, 'track', 'report_viewed', now() - make_interval(days => $4::int))`,
            [`m_${i}_${j}`, row!.id, contact!.id, c.lastSeenDaysAgo],
          );
      }
    }
    const [custom] = await db.query<{ id: string }>(
      `INSERT INTO custom_segments (name, filter) VALUES ('every third', '{"all": []}') RETURNING id`,
    );
    customSegmentId = custom!.id;
    await db.query(
      `INSERT INTO custom_segment_members (segment_id, account_id)
       SELECT $1, id FROM accounts WHERE right(external_id, 3)::int % 3 = 0`,
      [customSegmentId],
    );
    await audiences.refreshContactActivity();
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  // Each audience with an independent, hand-written WHERE over the same rows.
  const cases: [string, () => AudienceInput, string][] = [
    ['everyone', () => ({ segments: [] }), 'TRUE'],
    [
      'admins of SMB novices',
      () => ({ segments: ['smb-novice'], filter: { field: 'contact.role', op: 'eq', value: 'admin' } }),
      `s.segment = 'smb-novice' AND c.traits->>'role' = 'admin'`,
    ],
    [
      'a custom segment or a base one, by email domain or MRR',
      () => ({
        segments: [customSegmentId, 'enterprise-expert'],
        filter: {
          any: [
            { field: 'contact.email_domain', op: 'eq', value: 'initech.example' },
            { field: 'mrr', op: 'gt', value: 1200 },
          ],
        },
      }),
      `(s.segment = 'enterprise-expert' OR a.id IN (SELECT account_id FROM custom_segment_members
         WHERE segment_id = (SELECT id FROM custom_segments WHERE name = 'every third')))
       AND (lower(c.email) LIKE '%@initech.example' OR a.mrr > 1200)`,
    ],
    [
      'primary contacts of risky accounts',
      () => ({
        segments: [],
        primaryContactOnly: true,
        filter: { field: 'churn_risk', op: 'gte', value: 0.3 },
      }),
      `${PRIMARY} AND s.churn_risk >= 0.3`,
    ],
    [
      'seen in the last 30 days, not viewers',
      () => ({
        segments: [],
        filter: {
          all: [
            {
              field: 'contact.last_seen_at',
              op: 'gte',
              value: new Date(Date.now() - 30 * DAY_MS).toISOString(),
            },
            { not: { field: 'contact.role', op: 'in', value: ['viewer'] } },
          ],
        },
      }),
      `c.id IN (SELECT contact_id FROM events GROUP BY contact_id HAVING max(timestamp) >= now() - interval '30 days')
       AND c.traits->>'role' <> 'viewer'`,
    ],
    [
      'never seen, or heads of something',
      () => ({
        segments: ['smb-novice', 'smb-expert'],
        filter: {
          any: [
            { field: 'contact.days_since_last_seen', op: 'is_null' },
            { field: 'contact.trait.title', op: 'starts_with', value: 'head' },
          ],
        },
      }),
      `s.tier = 'smb' AND (NOT EXISTS (SELECT 1 FROM events e WHERE e.contact_id = c.id) OR c.traits->>'title' ILIKE 'head%')`,
    ],
  ];

  it.each(cases)('counts the audience "%s" as a hand-written query does', async (_name, input, where) => {
    const expected = await handCount(where);
    expect(expected.contacts).toBeGreaterThan(0);
    expect(expected.contacts).toBeLessThan((await handCount('TRUE')).contacts + (where === 'TRUE' ? 1 : 0));
    const preview = await campaigns.preview({ audience: audience(input()) });
    expect({ accounts: preview.accounts, contacts: preview.contacts }).toEqual(expected);
    expect(preview.sample.length).toBe(Math.min(10, expected.contacts));
    const sampleIds = preview.sample.map((c) => c.contactId);
    expect(sampleIds.every((id) => id > 0)).toBe(true);
    expect(await handIds(where)).toEqual(expect.arrayContaining(sampleIds));
  });

  it('breaks the count down per chosen segment, or per base segment when none is chosen', async () => {
    const chosen = await campaigns.preview({
      audience: audience({ segments: ['smb-novice', customSegmentId] }),
    });
    expect(chosen.bySegment).toEqual([
      {
        key: 'smb-novice',
        name: 'smb-novice',
        kind: 'base',
        ...(await handCount(`s.segment = 'smb-novice'`)),
      },
      {
        key: customSegmentId,
        name: 'every third',
        kind: 'custom',
        ...(await handCount(
          `a.id IN (SELECT account_id FROM custom_segment_members WHERE segment_id = ${customSegmentId})`,
        )),
      },
    ]);
    const all = await campaigns.preview({ audience: audience({ segments: [] }) });
    expect(all.bySegment.map((s) => s.key)).toEqual([
      'enterprise-novice',
      'enterprise-expert',
      'mid_market-novice',
      'mid_market-expert',
      'smb-novice',
      'smb-expert',
    ]);
    expect(all.bySegment.reduce((n, s) => n + s.contacts, 0)).toBe(all.contacts);
    expect(all.bySegment.find((s) => s.key === 'mid_market-expert')).toMatchObject({
      accounts: 0,
      contacts: 0,
    });
  });

  it('answers an unknown custom segment with a 400 naming it', async () => {
    await expect(
      campaigns.preview({ audience: audience({ segments: ['smb-novice', '999999'] }) }),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: {
        fields: [
          { path: 'audience.segments.1', message: 'unknown segment "999999": no custom segment has this id' },
        ],
      },
    });
  });

  it('keeps each contact’s last activity from events; a late old event never moves it back', async () => {
    const check = await db.query<{ bad: number }>(
      `SELECT count(*)::int AS bad FROM (SELECT contact_id, max(timestamp) AS t FROM events GROUP BY 1) e
       FULL JOIN contact_activity ca USING (contact_id) WHERE ca.last_seen_at IS DISTINCT FROM e.t`,
    );
    expect(check[0]!.bad).toBe(0);
    const [c] = await db.query<{ id: string; account_id: string }>(
      `SELECT id, account_id FROM contacts WHERE external_id = 'usr_4_0'`,
    );
    // An old event arriving late does not move last seen back; a new one moves it forward.
    await db.query(
      `INSERT INTO events (message_id, account_id, contact_id, type, name, timestamp) VALUES
       ('late', $1, $2, 'track', 'x', now() - interval '400 days'), ('new', $1, $2, 'track', 'x', now())`,
      [c!.account_id, c!.id],
    );
    await new AudienceRepository(pool).refreshContactActivity();
    const [seen] = await db.query<{ fresh: boolean }>(
      `SELECT last_seen_at > now() - interval '1 minute' AS fresh FROM contact_activity WHERE contact_id = $1`,
      [c!.id],
    );
    expect(seen!.fresh).toBe(true);
  });

  describe('suppression and holdout', () => {
    const everyone = { segments: [] };

    it('leaves out unsubscribed contacts, and counts them in the preview', async () => {
      const expected = await handIds(`c.traits->>'unsubscribed' IS NULL`);
      const preview = await campaigns.preview({
        audience: audience(everyone),
        suppression: { unsubscribed: true, recentlyContactedDays: null, frequencyCap: null },
      });
      const unsubscribed = (await handCount(`c.traits->>'unsubscribed' = 'true'`)).contacts;
      expect(unsubscribed).toBeGreaterThan(0);
      expect(preview.suppression).toEqual({
        suppressed: { unsubscribed, recentlyContacted: 0, frequencyCapped: 0 },
        accounts: (await handCount(`c.traits->>'unsubscribed' IS NULL`)).accounts,
        contacts: expected.length,
      });
      const created = await campaigns.create(
        request({ name: 'smb novices', audience: { segments: ['smb-novice'] } }),
      );
      expect(await memberIds(created.id)).toEqual(
        await handIds(`s.segment = 'smb-novice' AND c.traits->>'unsubscribed' IS NULL`),
      );
      expect(created.members.holdout).toBe(0);
    });

    it('leaves out whoever another campaign contacted in the last N days, and not the holdout', async () => {
      const [first] = (await campaigns.list({ limit: 200, offset: 0 })).campaigns.filter(
        (c) => c.name === 'smb novices',
      );
      const contacted = await memberIds(first!.id, 'contacted');
      const created = await campaigns.create(
        request({
          name: 'everyone, not recently contacted',
          audience: everyone,
          holdoutPct: 50,
          suppression: { recentlyContactedDays: 7 },
        }),
      );
      const members = await memberIds(created.id);
      expect(members).toEqual(
        (await handIds(`c.traits->>'unsubscribed' IS NULL`)).filter((id) => !contacted.includes(id)),
      );
      const [point] = (await campaigns.history(created.id)).points;
      expect(point!.suppressed.recentlyContacted).toBe(contacted.length);
    });

    it('holds out whole accounts at random, about the share asked', async () => {
      const [campaign] = (await campaigns.list({ limit: 200, offset: 0 })).campaigns.filter(
        (c) => c.name === 'everyone, not recently contacted',
      );
      const split = await db.query<{ account_id: string; groups: number }>(
        `SELECT account_id, count(DISTINCT member_group)::int AS groups FROM campaign_members
         WHERE campaign_id = $1 GROUP BY 1`,
        [campaign!.id],
      );
      expect(split.every((r) => r.groups === 1)).toBe(true);
      const detail = await campaigns.get(campaign!.id);
      const share =
        detail.memberAccounts.holdout / (detail.memberAccounts.holdout + detail.memberAccounts.contacted);
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.75);
      expect(detail.members).toEqual({
        contacted: (await memberIds(campaign!.id, 'contacted')).length,
        holdout: (await memberIds(campaign!.id, 'holdout')).length,
      });
    });

    it('caps how often a person is contacted, counting only contacted members', async () => {
      // smb novices are contacted twice now (first campaign and this one); holdout members of the
      // second campaign were never contacted, so it does not count against them.
      await campaigns.create(request({ name: 'smb novices again', audience: { segments: ['smb-novice'] } }));
      const counts = await db.query<{ id: number; n: number }>(
        `SELECT contact_id::int AS id, count(*)::int AS n FROM campaign_members WHERE member_group = 'contacted'
         GROUP BY 1`,
      );
      const twice = counts.filter((r) => r.n >= 2).map((r) => r.id);
      expect(twice.length).toBeGreaterThan(0);
      const capped = await campaigns.create(
        request({
          name: 'capped at two a month',
          audience: everyone,
          suppression: { unsubscribed: false, frequencyCap: { max: 2, days: 30 } },
        }),
      );
      expect(await memberIds(capped.id)).toEqual((await handIds('TRUE')).filter((id) => !twice.includes(id)));
      const [point] = (await campaigns.history(capped.id)).points;
      expect(point!.suppressed).toEqual({
        unsubscribed: 0,
        recentlyContacted: 0,
        frequencyCapped: twice.length,
      });
    });

    it('forgets contacts older than the suppression window', async () => {
      const [first] = (await campaigns.list({ limit: 200, offset: 0 })).campaigns.filter(
        (c) => c.name === 'smb novices',
      );
      await db.query(
        `UPDATE campaign_members SET assigned_at = now() - interval '10 days' WHERE member_group = 'contacted'`,
      );
      const again = await campaigns.create(
        request({
          name: 'smb novices, 7 days later',
          audience: { segments: ['smb-novice'] },
          suppression: { recentlyContactedDays: 7 },
        }),
      );
      expect(await memberIds(again.id)).toEqual(await memberIds(first!.id));
    });

    it('exports the contacted members only, never the holdout, with formula-like cells defused', async () => {
      const [campaign] = (await campaigns.list({ limit: 200, offset: 0 })).campaigns.filter(
        (c) => c.name === 'everyone, not recently contacted',
      );
      const rows = await csv(campaign!.id);
      expect(Object.keys(rows[0]!)).toEqual([...CAMPAIGN_EXPORT_COLUMNS]);
      const emails = async (group: string) =>
        (
          await db.query<{ email: string }>(
            `SELECT email FROM campaign_members WHERE campaign_id = $1 AND member_group = $2 ORDER BY contact_id`,
            [campaign!.id, group],
          )
        ).map((r) => r.email);
      const holdout = await emails('holdout');
      expect(holdout.length).toBeGreaterThan(0);
      expect(rows.map((r) => r.email)).toEqual(await emails('contacted'));
      expect(rows.some((r) => holdout.includes(r.email!))).toBe(false);
      const deliveries = await campaigns.deliveries(campaign!.id);
      expect(deliveries.totals.exports).toBe(1);
      expect(deliveries.deliveries[0]).toMatchObject({
        kind: 'export',
        status: 'delivered',
        members: rows.length,
      });
    });

    it('writes RFC 4180 CSV whose cells starting with = + - @ are escaped', async () => {
      const created = await campaigns.create(
        request({
          name: 'formula cells',
          audience: {
            segments: [],
            filter: { any: [{ field: 'external_id', op: 'in', value: ['acc_006', 'acc_012'] }] },
          },
          suppression: { unsubscribed: false },
        }),
      );
      let text = '';
      for await (const chunk of await campaigns.exportCsv(created.id, {})) text += chunk;
      expect(text.endsWith('\r\n')).toBe(true);
      expect(text).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
      expect(text).toContain(`,'-2+3 Corp,`);
      expect(text).toContain(`,'@risky,`);
      const rows = parse(text, { columns: true }) as Record<string, string>[];
      expect(rows.find((r) => r.contact_external_id === 'usr_6_0')).toMatchObject({
        name: `'=HYPERLINK("http://evil.example","click")`,
        account_name: `'-2+3 Corp`,
      });
      expect(rows.flatMap((r) => Object.values(r)).filter((cell) => /^[=+\-@]/.test(cell))).toEqual([]);
    });
  });

  it('lets only new matches join a refresh campaign, and records each refresh', async () => {
    const created = await campaigns.create(
      request({
        name: 'refreshing admins',
        schedule: 'refresh',
        audience: { segments: [], filter: { field: 'contact.role', op: 'eq', value: 'admin' } },
      }),
    );
    const before = await memberIds(created.id);
    const [{ assigned }] = await db.query<{ assigned: Date }>(
      `SELECT max(assigned_at) AS assigned FROM campaign_members WHERE campaign_id = $1`,
      [created.id],
    );
    const [account] = await db.query<{ id: string }>(`SELECT account_id AS id FROM account_scores LIMIT 1`);
    const [joiner] = await db.query<{ id: string }>(
      `INSERT INTO contacts (external_id, account_id, email, traits) VALUES ('late_admin', $1, 'late@acme.example', '{"role": "admin"}')
       RETURNING id`,
      [account!.id],
    );
    const summary = await campaigns.refreshScheduled();
    expect(summary).toMatchObject({ campaigns: 1, failed: 0 });
    expect(await memberIds(created.id)).toEqual([...before, Number(joiner!.id)].sort((x, y) => x - y));
    const old = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM campaign_members
       WHERE campaign_id = $1 AND assigned_at < $2::timestamptz + interval '1 millisecond'`,
      [created.id, assigned],
    );
    expect(old[0]!.n).toBe(before.length);
    const { points } = await campaigns.history(created.id);
    expect(points.map((p) => p.added.contacted + p.added.holdout)).toEqual([before.length, 1]);
    expect(points[1]!.members.contacted + points[1]!.members.holdout).toBe(before.length + 1);
    const since = await csv(created.id, new Date(assigned.getTime() + 1).toISOString());
    expect(since.map((r) => r.email)).toEqual(['late@acme.example']);
  });

  it('measures goal conversion per account within the window, contacted against holdout', async () => {
    const created = await campaigns.create(
      request({
        name: 'measured',
        audience: { segments: [] },
        holdoutPct: 50,
        goal: { event: 'plan_upgraded', windowDays: 10 },
        suppression: { unsubscribed: false },
      }),
    );
    await db.query(
      `UPDATE campaign_members SET assigned_at = now() - interval '20 days' WHERE campaign_id = $1`,
      [created.id],
    );
    const accounts = await db.query<{ account_id: string; member_group: string }>(
      `SELECT DISTINCT account_id, member_group FROM campaign_members WHERE campaign_id = $1 ORDER BY 1`,
      [created.id],
    );
    // Converts: every other account, at day 3; never counted: before contact, after the window, other names.
    const converting = accounts.filter((_, k) => k % 2 === 0);
    for (const [k, a] of accounts.entries()) {
      const events: [string, number][] = [
        ['plan_upgraded', 25],
        ['plan_upgraded', 5],
        ['plan_downgraded', 17],
        ...(k % 2 === 0 ? ([['plan_upgraded', 17]] as [string, number][]) : []),
      ];
      for (const [n, [name, daysAgo]] of events.entries())
        await db.query(
          `INSERT INTO events (message_id, account_id, type, name, timestamp)
           VALUES ($1, $2, 'track', $3, now() - make_interval(days => $4::int))`,
          [`goal_${a.account_id}_${n}`, a.account_id, name, daysAgo],
        );
    }
    const count = (group: string, list: typeof accounts) =>
      list.filter((a) => a.member_group === group).length;
    const outcome = await campaigns.outcome(created.id);
    const expected = {
      contacted: { members: count('contacted', accounts), converted: count('contacted', converting) },
      holdout: { members: count('holdout', accounts), converted: count('holdout', converting) },
    };
    expect(outcome.contacted).toMatchObject(expected.contacted);
    expect(outcome.holdout).toMatchObject(expected.holdout);
    const truth = differenceOfProportions(
      expected.contacted.converted,
      expected.contacted.members,
      expected.holdout.converted,
      expected.holdout.members,
    )!;
    expect(outcome.uplift).toBeCloseTo(truth.difference, 12);
    expect(outcome.ci).toEqual({ ...truth.ci, level: 0.95, method: 'newcombe' });
    expect(outcome.openWindows).toBe(0);
    expect(outcome.curve).toHaveLength(11);
    expect(outcome.curve[2]!.contacted).toBe(0);
    expect(outcome.curve[3]!.contacted).toBeCloseTo(
      expected.contacted.converted / expected.contacted.members,
      12,
    );
    expect(outcome.curve[10]!.holdout).toBeCloseTo(expected.holdout.converted / expected.holdout.members, 12);
  });

  it('answers a taken name with CONFLICT, and stops a campaign', async () => {
    await expect(
      campaigns.create(request({ name: 'measured', audience: { segments: [] } })),
    ).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    const [campaign] = (await campaigns.list({ limit: 200, offset: 0 })).campaigns.filter(
      (c) => c.name === 'refreshing admins',
    );
    const stopped = await campaigns.stop(campaign!.id);
    expect(stopped).toMatchObject({ status: 'stopped' });
    await expect(campaigns.refresh(campaign!.id)).rejects.toMatchObject({ code: 'CONFLICT' });
    await expect(campaigns.get(999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
