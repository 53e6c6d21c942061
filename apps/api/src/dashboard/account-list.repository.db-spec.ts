import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import {
  ACCOUNT_SORTS,
  ACCOUNT_SORT_DEFAULT_ORDER,
  RISK_BAND_THRESHOLDS,
  type AccountSort,
} from '@retain/contracts';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { AccountListRepository, type AccountListFilters } from './account-list.repository.js';

const RUN_AT = '2026-03-02T06:00:00Z';
const TIERS = ['smb', 'mid_market', 'enterprise'];
const OWNERS = ['ann@example.com', 'bo@example.com', null];

/** Account i of the fixture: some churned before the run, some after it, some never. */
function makeAccount(i: number) {
  return {
    externalId: `acc_${String(i).padStart(3, '0')}`,
    name: i % 4 === 0 ? `Cloud Works ${i}` : `Harbor ${i}`,
    mrr: i % 6 === 0 ? null : (i * 37) % 500,
    owner: OWNERS[i % 3]!,
    churnedAt: i % 7 === 0 ? '2026-01-15T00:00:00Z' : i % 11 === 0 ? '2026-04-01T00:00:00Z' : null,
    renewalDate: i % 5 === 0 ? null : `2026-${String(1 + (i % 12)).padStart(2, '0')}-15`,
  };
}

/** Its scores: nulls and ties in every order, days since last seen as a number, as text, or missing. */
function makeScore(i: number) {
  const tier = TIERS[i % 3]!;
  const days = i % 9 === 0 ? 'n/a' : i % 8 === 0 ? undefined : (i * 13) % 40;
  return {
    tier,
    proficiency: i % 2 ? 'novice' : 'expert',
    segment: `${tier}-${i % 2 ? 'novice' : 'expert'}`,
    churnRisk: i % 7 === 0 ? null : ((i * 17) % 20) / 20,
    health: i % 10 === 0 ? null : (i * 29) % 101,
    upsellScore: i % 5 === 0 ? null : ((i * 7) % 10) / 10,
    churnReasons: [{ feature: 'events_30d', contribution: 0.1, value: i, direction: 'raises' }],
    features: days === undefined ? {} : { days_since_last_seen: days },
  };
}

/** Each sort as the list promised it before account_list_keys existed: over account_scores s and accounts a. */
const REFERENCE_ORDER: Record<AccountSort, string> = {
  churn_risk: 's.churn_risk',
  health: 's.health',
  mrr: 'a.mrr',
  renewal_date: 'a.renewal_date',
  upsell_score: 's.upsell_score',
  name: 'a.name',
  days_since_last_seen: `(CASE WHEN jsonb_typeof(s.features -> 'days_since_last_seen') = 'number'
    THEN (s.features ->> 'days_since_last_seen')::float8 END)`,
};

/** The filters below, hand-written over account_scores s and accounts a. */
const FILTERS: [Partial<AccountListFilters>, string][] = [
  [{}, 'true'],
  [{ segment: 'smb-novice' }, `s.segment = 'smb-novice'`],
  [{ tier: 'enterprise' }, `s.tier = 'enterprise'`],
  [
    { proficiency: 'expert', riskBand: 'high' },
    `s.proficiency = 'expert' AND s.churn_risk >= ${RISK_BAND_THRESHOLDS.high}`,
  ],
  [{ owner: 'ann@example.com' }, `a.owner = 'ann@example.com'`],
  [{ q: 'CLOUD' }, `a.name ILIKE '%cloud%'`],
  [{ tier: 'smb', includeChurned: true }, `s.tier = 'smb'`],
];

const ACTIVE = `(a.churned_at IS NULL OR a.churned_at > s.computed_at)`;
const LIST_KEYS = `SELECT account_id::int, computed_at, tier, proficiency, segment, churn_risk, health, upsell_score,
  days_since_last_seen FROM account_list_keys ORDER BY account_id`;
const SCORES_AS_KEYS = `SELECT account_id::int, computed_at, tier, proficiency, segment, churn_risk, health, upsell_score,
  ${REFERENCE_ORDER.days_since_last_seen.replaceAll('s.', '')} AS days_since_last_seen
  FROM account_scores ORDER BY account_id`;

describe('account lists against PostgreSQL', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let list: AccountListRepository;

  const insertScores = async () => {
    const accounts = await db.query<{ id: string }>(`SELECT id FROM accounts ORDER BY id`);
    for (const [index, { id }] of accounts.entries()) {
      const i = index + 1;
      // A few accounts are not scored yet: the lists only show scored ones.
      if (i % 13 === 0) continue;
      const s = makeScore(i);
      await db.query(
        `INSERT INTO account_scores (account_id, run_id, tier, proficiency, segment, churn_risk, health,
                                     churn_reasons, upsell_score, features, computed_at)
         VALUES ($1, 1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
        [
          id,
          s.tier,
          s.proficiency,
          s.segment,
          s.churnRisk,
          s.health,
          JSON.stringify(s.churnReasons),
          s.upsellScore,
          s.features,
          RUN_AT,
        ],
      );
    }
  };

  beforeAll(async () => {
    db = await createTestDatabase('account_lists');
    await prepareDatabase(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    pool.on('error', () => undefined);
    list = new AccountListRepository(pool);
    for (let i = 1; i <= 90; i++) {
      const a = makeAccount(i);
      await db.query(
        `INSERT INTO accounts (external_id, name, mrr, owner, created_at, churned_at, renewal_date)
         VALUES ($1, $2, $3, $4, '2025-01-01', $5, $6)`,
        [a.externalId, a.name, a.mrr, a.owner, a.churnedAt, a.renewalDate],
      );
    }
    await insertScores();
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('keeps the list keys equal to the scores through every kind of write', async () => {
    expect(await db.query(LIST_KEYS)).toEqual(await db.query(SCORES_AS_KEYS));
    await db.query(
      `UPDATE account_scores SET churn_risk = 1 - churn_risk, features = '{"days_since_last_seen": 3}'
       WHERE account_id % 4 = 0`,
    );
    await db.query(`DELETE FROM account_scores WHERE account_id % 5 = 0`);
    expect(await db.query(LIST_KEYS)).toEqual(await db.query(SCORES_AS_KEYS));
    // As the analytics run replaces them: every row deleted, then the new ones inserted.
    await db.query(`BEGIN; DELETE FROM account_scores; COMMIT`);
    expect(await db.query(LIST_KEYS)).toEqual([]);
    await insertScores();
    await db.query(`TRUNCATE account_scores`);
    expect(await db.query(LIST_KEYS)).toEqual([]);
    await insertScores();
    expect(await db.query(LIST_KEYS)).toEqual(await db.query(SCORES_AS_KEYS));
  });

  it("keeps the list keys' names and external ids equal to the accounts' (search reads them there)", async () => {
    const keyNames = `SELECT k.account_id::int, k.name, k.external_id FROM account_list_keys k ORDER BY 1`;
    const accountNames = `SELECT a.id::int AS account_id, a.name, a.external_id
      FROM account_list_keys k JOIN accounts a ON a.id = k.account_id ORDER BY 1`;
    expect(await db.query(keyNames)).toEqual(await db.query(accountNames));
    const [before] = await db.query<{ name: string; external_id: string }>(
      `SELECT name, external_id FROM accounts WHERE id = (SELECT min(account_id) FROM account_list_keys)`,
    );
    // Renamed in place, and by an upsert as ingest and imports write accounts.
    await db.query(`UPDATE accounts SET name = name || ' Zephyrine' WHERE id % 3 = 0`);
    await db.query(
      `INSERT INTO accounts (external_id, name, created_at) VALUES ($1, 'Quillfeather Ltd', '2025-01-01')
       ON CONFLICT (external_id) DO UPDATE SET name = EXCLUDED.name`,
      [before!.external_id],
    );
    expect(await db.query(keyNames)).toEqual(await db.query(accountNames));
    const found = await list.page(
      { q: 'zephyrine', sort: 'name', order: 'asc', includeChurned: true },
      100,
      0,
      true,
    );
    const expected = await db.query<{ id: number }>(
      `SELECT a.id::int AS id FROM accounts a JOIN account_scores s ON s.account_id = a.id
       WHERE a.name ILIKE '%zephyrine%' ORDER BY a.name, a.id`,
    );
    expect(found.rows.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    expect(expected.length).toBeGreaterThan(0);
    const renamed = await list.page(
      { q: 'quillfeather', sort: 'churn_risk', includeChurned: true },
      10,
      0,
      true,
    );
    expect(renamed.rows.map((r) => r.externalId)).toEqual([before!.external_id]);
    // Back as they were, for the tests that follow.
    await db.query(`UPDATE accounts SET name = replace(name, ' Zephyrine', '') WHERE id % 3 = 0`);
    await db.query(`UPDATE accounts SET name = $1 WHERE external_id = $2`, [
      before!.name,
      before!.external_id,
    ]);
    expect(await db.query(keyNames)).toEqual(await db.query(accountNames));
  });

  it.each(FILTERS)('pages %j in every order, first and deeper pages, as SQL does', async (filter, where) => {
    const live = filter.owner !== undefined || filter.q !== undefined;
    for (const sort of ACCOUNT_SORTS)
      for (const order of ['asc', 'desc'] as const) {
        const orderBy = `${REFERENCE_ORDER[sort]} ${order} NULLS LAST, s.account_id`;
        const from = `account_scores s JOIN accounts a ON a.id = s.account_id
          WHERE (${where}) ${filter.includeChurned ? '' : `AND ${ACTIVE}`}`;
        const expected = (
          await db.query<{ id: number }>(`SELECT s.account_id::int AS id FROM ${from} ORDER BY ${orderBy}`)
        ).map((r) => r.id);
        for (const offset of [0, 7, 30]) {
          const filters = { ...filter, sort, order, includeChurned: filter.includeChurned ?? false };
          const page = await list.page(filters, 10, offset, live);
          expect([sort, order, offset, page.rows.map((r) => r.id)]).toEqual([
            sort,
            order,
            offset,
            expected.slice(offset, offset + 10),
          ]);
          if (live && page.rows.length > 0) expect(page.total).toBe(expected.length);
        }
        if (order === ACCOUNT_SORT_DEFAULT_ORDER[sort] && !live)
          expect(await list.count({ ...filter, sort, includeChurned: filter.includeChurned ?? false })).toBe(
            expected.length,
          );
      }
  });

  it('shows each row as the scores and the account have it', async () => {
    const [row] = (await list.page({ sort: 'days_since_last_seen', includeChurned: false }, 1, 3, false))
      .rows;
    const [expected] = await db.query<{
      id: number;
      days: number | null;
      risk: number | null;
      reasons: unknown[];
    }>(
      `SELECT s.account_id::int AS id, ${REFERENCE_ORDER.days_since_last_seen} AS days, s.churn_risk AS risk,
              s.churn_reasons AS reasons
       FROM account_scores s JOIN accounts a ON a.id = s.account_id WHERE ${ACTIVE}
       ORDER BY ${REFERENCE_ORDER.days_since_last_seen} DESC NULLS LAST, s.account_id OFFSET 3 LIMIT 1`,
    );
    expect(row).toMatchObject({
      id: expected!.id,
      daysSinceLastSeen: expected!.days,
      churnRisk: expected!.risk,
      topReasons: expected!.reasons,
    });
  });
});
