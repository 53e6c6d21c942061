import type pg from 'pg';
import { LATE_COMMIT_WINDOW } from '../analytics/analytics-extract.repository.js';
import { isoDay, startOfIsoWeek } from './dashboard-sql.js';

/** The most weeks the account page asks for (AccountActivityQuerySchema); older weeks are dropped. */
export const ACTIVITY_WEEKS_KEPT = 104;

/** The ISO week (its Monday, UTC) an event's time falls in, as a date. */
const WEEK_OF = (timestamp: string) => `(date_trunc('week', ${timestamp} AT TIME ZONE 'UTC'))::date`;

/** The instant 00:00 UTC of a date. */
const START_OF = (date: string) => `(${date})::timestamp AT TIME ZONE 'UTC'`;

export interface ActivityRollupRefresh {
  /** Whether every week was counted from scratch (the first refresh). */
  full: boolean;
  /** Account-weeks counted (on the first refresh: written, this week's included). */
  accountWeeks: number;
}

interface RollupState {
  complete_before: string;
  max_event_id: string;
  changes_from: Date;
}

/**
 * Brings account_activity_weeks up to date on the caller's client and transaction (the analytics
 * run's write). Weeks before this one are counted; this week and later ones are only noted, and
 * counted once they are complete (the API counts them live from events meanwhile). Only account-weeks
 * that events added since the last refresh touched are counted again, so a refresh reads about as
 * many events as arrived since the last one, plus once a week the week just completed. The first
 * refresh counts every week (about 7 s at 10 million events).
 *
 * New events are those above the last refresh's highest id, or received from the start of the
 * oldest transaction then in progress (which may commit after it, with lower ids), as the analytics
 * extract reads them.
 */
export async function refreshAccountActivityRollup(
  client: pg.ClientBase,
  now = new Date(),
): Promise<ActivityRollupRefresh> {
  // Two refreshes never interleave; the API's reads are not blocked.
  await client.query(`LOCK TABLE account_activity_rollup IN SHARE ROW EXCLUSIVE MODE`);
  const { rows: previous } = await client.query<RollupState>(
    `SELECT to_char(complete_before, 'YYYY-MM-DD') AS complete_before, max_event_id, changes_from
     FROM account_activity_rollup`,
  );
  const last = previous[0];
  // A clock set back never uncounts a week.
  const thisWeek = isoDay(startOfIsoWeek(now));
  const next = await nextState(
    client,
    last && last.complete_before > thisWeek ? last.complete_before : thisWeek,
  );
  const accountWeeks = last
    ? await countTouchedWeeks(client, last, next.complete_before)
    : await countEveryWeek(client, next.complete_before);
  if (!last || last.complete_before < next.complete_before)
    await client.query(
      `DELETE FROM account_activity_weeks WHERE week < $1::date - 7 * ${ACTIVITY_WEEKS_KEPT}`,
      [next.complete_before],
    );
  await client.query(
    `INSERT INTO account_activity_rollup (id, complete_before, max_event_id, changes_from, refreshed_at)
     VALUES (true, $1, $2, $3, clock_timestamp())
     ON CONFLICT (id) DO UPDATE SET complete_before = EXCLUDED.complete_before,
       max_event_id = EXCLUDED.max_event_id, changes_from = EXCLUDED.changes_from,
       refreshed_at = EXCLUDED.refreshed_at`,
    [next.complete_before, next.max_event_id, next.changes_from],
  );
  return { full: !last, accountWeeks };
}

/**
 * Where the next refresh starts, taken before any event is read: an event this refresh cannot see
 * is above the highest id seen, or belongs to a transaction in progress now, so it was received
 * (received_at: its transaction's start) at or after the start of the oldest one. A role that
 * cannot see other sessions' transactions re-reads a late-commit window instead.
 */
async function nextState(client: pg.ClientBase, completeBefore: string): Promise<RollupState> {
  await client.query(`SELECT pg_stat_clear_snapshot()`);
  const { rows } = await client.query<Pick<RollupState, 'changes_from'>>(
    `SELECT COALESCE(
              CASE WHEN (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
                     OR pg_has_role(current_user, 'pg_read_all_stats', 'MEMBER')
                   THEN least(clock_timestamp(), (SELECT min(xact_start) FROM pg_stat_activity
                                                  WHERE datname = current_database() AND pid <> pg_backend_pid()))
              END,
              clock_timestamp() - interval '${LATE_COMMIT_WINDOW}') AS changes_from`,
  );
  const { rows: ids } = await client.query<{ max: string }>(
    `SELECT COALESCE(max(id), 0)::text AS max FROM events`,
  );
  return { complete_before: completeBefore, changes_from: rows[0]!.changes_from, max_event_id: ids[0]!.max };
}

/** The first refresh: every kept week of every account, counted from scratch. */
async function countEveryWeek(client: pg.ClientBase, completeBefore: string): Promise<number> {
  await client.query(`DELETE FROM account_activity_weeks`);
  const { rowCount } = await client.query(
    `INSERT INTO account_activity_weeks (account_id, week, events, active_users)
     SELECT account_id, week,
            CASE WHEN week < $1::date THEN count(*)::int END,
            CASE WHEN week < $1::date THEN count(DISTINCT contact_id)::int END
     FROM (SELECT account_id, contact_id, ${WEEK_OF('timestamp')} AS week
           FROM events
           WHERE account_id IS NOT NULL
             AND timestamp >= ${START_OF(`$1::date - 7 * ${ACTIVITY_WEEKS_KEPT}`)}) e
     GROUP BY account_id, week`,
    [completeBefore],
  );
  return rowCount ?? 0;
}

/**
 * Notes the account-weeks that new events fall in (a counted week touched again is uncounted),
 * then counts every noted week that is complete now.
 */
async function countTouchedWeeks(
  client: pg.ClientBase,
  last: RollupState,
  completeBefore: string,
): Promise<number> {
  await client.query(
    `INSERT INTO account_activity_weeks AS w (account_id, week)
     SELECT DISTINCT account_id, ${WEEK_OF('timestamp')}
     FROM events
     WHERE (id > $1::bigint OR received_at >= $2::timestamptz) AND account_id IS NOT NULL
       AND timestamp >= ${START_OF(`$3::date - 7 * ${ACTIVITY_WEEKS_KEPT}`)}
     ON CONFLICT (account_id, week) DO UPDATE SET events = NULL, active_users = NULL
       WHERE w.events IS NOT NULL`,
    [last.max_event_id, last.changes_from, completeBefore],
  );
  const { rowCount } = await client.query(
    `UPDATE account_activity_weeks w SET events = n.events, active_users = n.active_users
     FROM account_activity_weeks p
     CROSS JOIN LATERAL (
       SELECT count(*)::int AS events, count(DISTINCT e.contact_id)::int AS active_users
       FROM events e
       WHERE e.account_id = p.account_id
         AND e.timestamp >= ${START_OF('p.week')} AND e.timestamp < ${START_OF('p.week + 7')}) n
     WHERE p.events IS NULL AND p.week < $1::date AND w.account_id = p.account_id AND w.week = p.week`,
    [completeBefore],
  );
  return rowCount ?? 0;
}
