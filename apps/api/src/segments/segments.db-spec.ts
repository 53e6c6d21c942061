import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import type { FilterNode } from '@retain/contracts';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { ScoresRepository } from '../analytics/scores.repository.js';
import { ScoresService } from '../analytics/scores.service.js';
import { csvLine } from '../common/csv/csv-writer.js';
import { AppException } from '../common/errors/app.exception.js';
import { inTransaction } from '../database/pg-pool.module.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { refreshCustomSegmentMembers } from './segment-membership.js';
import { SegmentsRepository } from './segments.repository.js';
import { SegmentsService } from './segments.service.js';

const TIERS = ['smb', 'mid_market', 'enterprise'];
const PLANS = ['free', 'pro', 'team', null];
const INDUSTRIES = ['retail', 'saas', "o'reilly", null];

/** Account i of the fixture: varied enough that every filter below matches some and misses some. */
function makeAccount(i: number) {
  return {
    externalId: `acc_${String(i).padStart(3, '0')}`,
    name: i % 5 === 0 ? `Acme ${i}` : `Globex's ${i}`,
    plan: PLANS[i % 4]!,
    mrr: i % 7 === 0 ? null : i * 37,
    region: i % 3 === 0 ? 'emea' : 'amer',
    createdAt: new Date(Date.UTC(2025, 0, 1 + i * 5)).toISOString(),
    churnedAt: i % 9 === 0 ? new Date(Date.UTC(2026, 0, i)).toISOString() : null,
    renewalDate: `2026-${String(1 + (i % 12)).padStart(2, '0')}-15`,
    traits: {
      ...(INDUSTRIES[i % 4] ? { industry: INDUSTRIES[i % 4] } : {}),
      // Numbers, a number written as text, and text that is not a number, as CRMs send them.
      nps: i % 6 === 0 ? String(i % 11) : i % 8 === 0 ? 'high' : i % 11,
    },
  };
}

function makeScore(i: number) {
  const seat = i % 10 === 0 ? 'n/a' : i % 4 === 0 ? String((i % 10) / 10) : (i % 10) / 10;
  return {
    tier: TIERS[i % 3]!,
    segment: `${TIERS[i % 3]}_${i % 2 ? 'novice' : 'expert'}`,
    churnRisk: i % 13 === 0 ? null : ((i * 17) % 100) / 100,
    health: (i * 29) % 101,
    features: { ...(i % 12 === 0 ? {} : { seat_utilisation: seat }), events_30d: i * 3 },
  };
}

describe('custom segments against PostgreSQL', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let segments: SegmentsService;

  const count = async (where: string): Promise<number> =>
    (
      await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM account_scores s JOIN accounts a ON a.id = s.account_id WHERE ${where}`,
      )
    )[0]!.n;

  const memberIds = async (segmentId: number): Promise<number[]> =>
    (
      await db.query<{ id: number }>(
        `SELECT account_id::int AS id FROM custom_segment_members WHERE segment_id = $1 ORDER BY 1`,
        [segmentId],
      )
    ).map((r) => r.id);

  const expectedIds = async (where: string): Promise<number[]> =>
    (
      await db.query<{ id: number }>(
        `SELECT a.id::int AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id WHERE ${where} ORDER BY 1`,
      )
    ).map((r) => r.id);

  beforeAll(async () => {
    db = await createTestDatabase('segments');
    await prepareDatabase(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    // The database is dropped with FORCE at the end; a closing connection may report it.
    pool.on('error', () => undefined);
    segments = new SegmentsService(new SegmentsRepository(pool));
    for (let i = 1; i <= 60; i++) {
      const a = makeAccount(i);
      const [row] = await db.query<{ id: string }>(
        `INSERT INTO accounts (external_id, name, plan, mrr, region, created_at, churned_at, renewal_date, traits)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
        [a.externalId, a.name, a.plan, a.mrr, a.region, a.createdAt, a.churnedAt, a.renewalDate, a.traits],
      );
      // A few accounts are not scored yet: segments only ever hold scored accounts.
      if (i % 15 === 0) continue;
      const s = makeScore(i);
      await db.query(
        `INSERT INTO account_scores (account_id, run_id, tier, proficiency, segment, churn_risk, health, features, computed_at)
         VALUES ($1, 1, $2, 'novice', $3, $4, $5, $6, now())`,
        [row!.id, s.tier, s.segment, s.churnRisk, s.health, s.features],
      );
    }
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  // Each filter with an independent, hand-written WHERE over the same rows.
  const cases: [string, FilterNode, string][] = [
    [
      'smb at risk',
      {
        all: [
          { field: 'tier', op: 'eq', value: 'smb' },
          { field: 'churn_risk', op: 'gte', value: 0.3 },
        ],
      },
      `s.tier = 'smb' AND s.churn_risk >= 0.3`,
    ],
    [
      'paid or small',
      {
        any: [
          { field: 'plan', op: 'in', value: ['pro', 'team'] },
          { not: { field: 'mrr', op: 'gt', value: 500 } },
        ],
      },
      `a.plan IN ('pro', 'team') OR a.mrr IS NULL OR a.mrr <= 500`,
    ],
    [
      'not on the free plan, outside emea',
      {
        all: [
          { field: 'plan', op: 'neq', value: 'free' },
          { field: 'region', op: 'not_in', value: ['emea'] },
        ],
      },
      `(a.plan IS NULL OR a.plan <> 'free') AND a.region <> 'emea'`,
    ],
    [
      'low seat use',
      { field: 'seat_utilisation', op: 'lt', value: 0.5 },
      `s.features->>'seat_utilisation' ~ '^[0-9.]+$' AND (s.features->>'seat_utilisation')::numeric < 0.5`,
    ],
    [
      'no seat use recorded',
      { field: 'seat_utilisation', op: 'is_null' },
      `NOT (s.features->>'seat_utilisation' ~ '^[0-9.]+$') OR NOT s.features ? 'seat_utilisation'`,
    ],
    [
      'retail promoters',
      {
        all: [
          { field: 'trait.industry', op: 'eq', value: 'retail' },
          { field: 'trait.nps', op: 'between', value: [5, 9] },
        ],
      },
      `a.traits->>'industry' = 'retail' AND a.traits->>'nps' ~ '^[0-9]+$' AND (a.traits->>'nps')::int BETWEEN 5 AND 9`,
    ],
    [
      'a quote in a trait',
      { field: 'trait.industry', op: 'in', value: ["o'reilly", 'saas'] },
      `a.traits->>'industry' IN ('o''reilly', 'saas')`,
    ],
    [
      'old live accounts renewing in spring',
      {
        all: [
          { field: 'created_at', op: 'lt', value: '2025-06-01T00:00:00Z' },
          { field: 'churned_at', op: 'is_null' },
          { field: 'renewal_date', op: 'between', value: ['2026-03-01', '2026-05-31'] },
        ],
      },
      `a.created_at < '2025-06-01' AND a.churned_at IS NULL AND a.renewal_date BETWEEN '2026-03-01' AND '2026-05-31'`,
    ],
    [
      'named like Acme, healthy',
      {
        all: [
          { field: 'name', op: 'contains', value: 'acme' },
          { field: 'health', op: 'gte', value: 40 },
          { field: 'events_30d', op: 'gt', value: 20 },
        ],
      },
      `a.name ILIKE '%acme%' AND s.health >= 40 AND (s.features->>'events_30d')::int > 20`,
    ],
  ];

  it.each(cases)('computes the members of "%s" as a hand-written query does', async (name, filter, where) => {
    const expected = await expectedIds(where);
    expect(expected.length).toBeGreaterThan(0);
    expect(expected.length).toBeLessThan(await count('TRUE'));
    const created = await segments.create({ name, description: null, filter });
    expect(created).toMatchObject({ name, members: expected.length, filter });
    expect(await memberIds(created.id)).toEqual(expected);
    const preview = await segments.preview(filter);
    expect(preview.accounts).toBe(expected.length);
    expect(preview.sample.length).toBe(Math.min(10, expected.length));
  });

  it('pages members by account id', async () => {
    const [first] = await segments.list();
    const all: number[] = [];
    let after: number | undefined;
    for (;;) {
      const page = await segments.members(first!.id, { limit: 3, after });
      all.push(...page.members.map((m) => m.accountId));
      if (page.nextAfter === null) break;
      after = page.nextAfter;
    }
    expect(all).toEqual(await memberIds(first!.id));
    expect(all.length).toBe(first!.members);
  });

  it('recomputes every segment inside the analytics transaction, emptying one whose filter went bad', async () => {
    const smb = (await segments.list()).find((s) => s.name === 'smb at risk')!;
    const [broken] = await db.query<{ id: string }>(
      `INSERT INTO custom_segments (name, filter) VALUES ('broken', '{"field": "gone", "op": "eq", "value": 1}')
       RETURNING id`,
    );
    await db.query(
      `INSERT INTO custom_segment_members (segment_id, account_id) SELECT $1, account_id FROM account_scores`,
      [broken!.id],
    );
    await db.query(`UPDATE account_scores SET tier = 'smb', churn_risk = 0.9 WHERE account_id % 4 = 0`);
    const written = await inTransaction(pool, (client) => refreshCustomSegmentMembers(client));
    expect(await memberIds(smb.id)).toEqual(await expectedIds(`s.tier = 'smb' AND s.churn_risk >= 0.3`));
    expect(await memberIds(Number(broken!.id))).toEqual([]);
    const total = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM custom_segment_members`);
    expect(written).toBe(total[0]!.n);
  });

  it('lists custom segment names after the base segment in the scores export', async () => {
    const smb = (await segments.list()).find((s) => s.name === 'smb at risk')!;
    const [member] = await segments.members(smb.id, { limit: 1 }).then((p) => p.members);
    let csv = '';
    for await (const chunk of new ScoresService(new ScoresRepository(pool)).exportCsv()) csv += chunk;
    const names = await db.query<{ name: string }>(
      `SELECT c.name FROM custom_segments c JOIN custom_segment_members m ON m.segment_id = c.id
       WHERE m.account_id = $1 ORDER BY c.name`,
      [member!.accountId],
    );
    const segmentsColumn = [member!.segment, ...names.map((n) => n.name)].join(';');
    const cell = csvLine([segmentsColumn]).trimEnd();
    expect(csv).toContain(`\r\n${member!.externalId},smb,novice,${cell},`);
    expect(segmentsColumn).toContain('smb at risk');
  });

  it('answers a taken name with CONFLICT and unknown ids with NOT_FOUND', async () => {
    const filter: FilterNode = { field: 'tier', op: 'eq', value: 'smb' };
    await expect(segments.create({ name: 'smb at risk', filter })).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    await expect(segments.get(999_999)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(segments.delete(999_999)).rejects.toBeInstanceOf(AppException);
  });

  it('refilters on update, and deleting a segment removes its members', async () => {
    const created = await segments.create({
      name: 'to change',
      filter: { field: 'tier', op: 'eq', value: 'smb' },
    });
    const updated = await segments.update(created.id, {
      description: 'enterprise only',
      filter: { field: 'tier', op: 'eq', value: 'enterprise' },
    });
    expect(updated).toMatchObject({ name: 'to change', description: 'enterprise only' });
    expect(await memberIds(created.id)).toEqual(await expectedIds(`s.tier = 'enterprise'`));
    await segments.delete(created.id);
    expect(await memberIds(created.id)).toEqual([]);
    await expect(segments.get(created.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
