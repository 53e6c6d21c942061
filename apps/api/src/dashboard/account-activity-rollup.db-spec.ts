import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { inTransaction } from '../database/pg-pool.module.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { Account360Repository } from './account-360.repository.js';
import { ACTIVITY_WEEKS_KEPT, refreshAccountActivityRollup } from './account-activity-rollup.js';
import { addDays, isoDay, startOfIsoWeek } from './dashboard-sql.js';

const NOW = new Date();
const THIS_WEEK = startOfIsoWeek(NOW);
const weekStart = (weeksFromNow: number) => addDays(THIS_WEEK, 7 * weeksFromNow);

/** Event k of an account in a week: spread over the week's days and a few contacts. */
function makeEvent(accountId: number, weeksFromNow: number, k: number, id?: number) {
  const at = new Date(weekStart(weeksFromNow).getTime() + ((k * 37) % (7 * 24)) * 3_600_000 + 60_000);
  return { id, accountId, contactId: 100 * accountId + (k % 3), at };
}

describe('account activity rollup against PostgreSQL', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let accounts: Account360Repository;
  let busy: number;
  let quiet: number;

  const insertEvents = async (events: ReturnType<typeof makeEvent>[]) => {
    for (const e of events)
      await db.query(
        `INSERT INTO events (id, message_id, account_id, contact_id, type, name, timestamp)
         OVERRIDING SYSTEM VALUE
         VALUES (COALESCE($1, nextval(pg_get_serial_sequence('events', 'id'))), gen_random_uuid()::text,
                 $2, $3, 'track', 'used', $4)`,
        [e.id ?? null, e.accountId, e.contactId, e.at],
      );
  };
  const refresh = (now = NOW) => inTransaction(pool, (client) => refreshAccountActivityRollup(client, now));
  /** Weeks as the account page gets them, over [from, to) (Mondays). */
  const served = (id: number, from: Date, to: Date) => accounts.weeklyActivity(id, isoDay(from), isoDay(to));
  /** The same counted from the events directly. */
  const expected = async (id: number, from: Date, to: Date) =>
    db.query<{ week: string; events: number; activeUsers: number }>(
      `SELECT to_char(date_trunc('week', timestamp AT TIME ZONE 'UTC'), 'YYYY-MM-DD') AS week,
              count(*)::int AS events, count(DISTINCT contact_id)::int AS "activeUsers"
       FROM events WHERE account_id = $1 AND timestamp >= $2 AND timestamp < $3
       GROUP BY 1 ORDER BY 1`,
      [id, from, to],
    );
  const rollupWeeks = async (where: string) =>
    (
      await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM account_activity_weeks WHERE ${where}`)
    )[0]!.n;

  beforeAll(async () => {
    db = await createTestDatabase('activity_rollup');
    await prepareDatabase(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    accounts = new Account360Repository(pool);
    const ids = await db.query<{ id: string }>(
      `INSERT INTO accounts (external_id, name, created_at)
       VALUES ('busy', 'Busy', now()), ('quiet', 'Quiet', now()) RETURNING id`,
    );
    [busy, quiet] = ids.map((r) => Number(r.id)) as [number, number];
    // Ids from 1,000 on: the lower ones are left for events committed late.
    let id = 1_000;
    const history = [];
    for (let w = -(ACTIVITY_WEEKS_KEPT + 6); w <= 1; w++)
      for (let k = 0; k < 1 + ((w + 200) % 4); k++) history.push(makeEvent(busy, w, k, id++));
    for (const w of [-30, -2, 0]) history.push(makeEvent(quiet, w, 0, id++));
    await insertEvents(history);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.drop();
  });

  it('reads every week from the events before the first refresh', async () => {
    const [from, to] = [weekStart(-20), weekStart(1)];
    expect(await served(busy, from, to)).toEqual(await expected(busy, from, to));
  });

  it('counts every complete week on the first refresh, and notes this week and later ones', async () => {
    expect((await refresh()).full).toBe(true);
    expect(await rollupWeeks(`week < '${isoDay(THIS_WEEK)}' AND events IS NULL`)).toBe(0);
    expect(await rollupWeeks(`week >= '${isoDay(THIS_WEEK)}' AND events IS NOT NULL`)).toBe(0);
    expect(await rollupWeeks(`week < '${isoDay(weekStart(-ACTIVITY_WEEKS_KEPT))}'`)).toBe(0);
    for (const id of [busy, quiet]) {
      const [from, to] = [weekStart(-(ACTIVITY_WEEKS_KEPT - 1)), weekStart(1)];
      expect(await served(id, from, to)).toEqual(await expected(id, from, to));
    }
  });

  it('recounts only the complete weeks new events fall in, those committed late included', async () => {
    await insertEvents([
      makeEvent(busy, -3, 10),
      makeEvent(quiet, -40, 0),
      // Its id is below the highest the last refresh saw: a transaction that committed after it.
      makeEvent(quiet, -30, 1, 7),
      makeEvent(busy, 0, 11),
    ]);
    expect(await refresh()).toEqual({ full: false, accountWeeks: 3 });
    for (const id of [busy, quiet]) {
      const [from, to] = [weekStart(-50), weekStart(1)];
      expect(await served(id, from, to)).toEqual(await expected(id, from, to));
    }
    expect(await refresh()).toEqual({ full: false, accountWeeks: 0 });
  });

  it('reads events added since the last refresh to this week at once', async () => {
    await insertEvents([makeEvent(busy, 0, 12), makeEvent(quiet, 0, 13)]);
    for (const id of [busy, quiet])
      expect(await served(id, weekStart(-2), weekStart(1))).toEqual(
        await expected(id, weekStart(-2), weekStart(1)),
      );
  });

  it('counts the noted weeks once they are complete, and keeps only the weeks the page can ask for', async () => {
    const nextWeek = addDays(NOW, 7);
    const noted = await rollupWeeks(`week = '${isoDay(THIS_WEEK)}'`);
    expect(noted).toBe(2);
    expect(await refresh(nextWeek)).toEqual({ full: false, accountWeeks: noted });
    expect(await rollupWeeks(`week <= '${isoDay(THIS_WEEK)}' AND events IS NULL`)).toBe(0);
    expect(await rollupWeeks(`week < '${isoDay(weekStart(1 - ACTIVITY_WEEKS_KEPT))}'`)).toBe(0);
    for (const id of [busy, quiet]) {
      const [from, to] = [weekStart(-10), weekStart(2)];
      expect(await served(id, from, to)).toEqual(await expected(id, from, to));
    }
  });
});
