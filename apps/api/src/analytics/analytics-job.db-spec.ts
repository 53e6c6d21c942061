import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { DuckDBInstance } from '@duckdb/node-api';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { AppException } from '../common/errors/app.exception.js';
import { silentProgress } from '../common/progress/progress.js';
import { loadConfig } from '../config/config.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { DemoDataService } from '../demo/demo-data.service.js';
import { AnalyticsExtractRepository } from './analytics-extract.repository.js';
import { AnalyticsJobService } from './analytics-job.service.js';
import { AnalyticsResultsRepository, type AccountScoreRow } from './analytics-results.repository.js';
import { AnalyticsRunsRepository } from './analytics-runs.repository.js';
import { ScoresRepository } from './scores.repository.js';

jest.setTimeout(120_000);

describe('the analytics job on demo data', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dataDir: string;
  let job: AnalyticsJobService;
  let runs: AnalyticsRunsRepository;

  const count = async (table: string) =>
    Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);

  beforeAll(async () => {
    db = await createTestDatabase('analytics_job');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-analytics-'));
    await prepareDatabase(db.url);
    const config = loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir });
    const runtime = { version: 'test', databaseUrl: db.url, embeddedDatabase: false };
    await new DemoDataService(config, runtime).generate({
      accounts: 150,
      days: 150,
      seed: 7,
      reset: false,
      progress: silentProgress,
    });
    pool = new pg.Pool({ connectionString: db.url, max: 6 });
    // The database is dropped with FORCE at the end; a closing connection may report it.
    pool.on('error', () => undefined);
    runs = new AnalyticsRunsRepository(pool);
    job = new AnalyticsJobService(
      config,
      runtime,
      runs,
      new AnalyticsExtractRepository(pool),
      new AnalyticsResultsRepository(pool),
    );
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs in full, scores every account, writes support metrics and records the run', async () => {
    const run = await job.run('cli', false);
    expect(run).toMatchObject({ status: 'succeeded', progress: 100, fullRebuild: false, error: null });
    expect(Object.keys(run.stageMs).sort()).toEqual(['compute', 'extract', 'model', 'write']);
    expect(run.rowsRead).toBeGreaterThan(await count('events'));
    expect(await count('account_scores')).toBe(await count('accounts'));
    const live = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM account_scores s JOIN accounts a ON a.id = s.account_id
       WHERE a.churned_at IS NULL AND s.churn_risk BETWEEN 0 AND 1 AND s.health BETWEEN 0 AND 100`,
    );
    expect(Number(live.rows[0]!.n)).toBe(
      Number(
        (await pool.query<{ n: string }>(`SELECT count(*) AS n FROM accounts WHERE churned_at IS NULL`))
          .rows[0]!.n,
      ),
    );
    const overall = await pool.query<{ tickets: number }>(
      `SELECT tickets FROM support_metrics WHERE grouping = 'all'`,
    );
    expect(overall.rows).toHaveLength(1);
    expect(run.model?.method).toBeDefined();
  });

  it('keeps a score history: a row per live account for today, past Mondays backfilled once', async () => {
    const days = await pool.query<{ as_of: string; backfilled: boolean; n: string; monday: boolean }>(
      `SELECT as_of::text AS as_of, backfilled, count(*) AS n, extract(isodow FROM as_of) = 1 AS monday
       FROM account_score_history GROUP BY as_of, backfilled ORDER BY 1`,
    );
    const today = days.rows.filter((d) => !d.backfilled);
    expect(today).toHaveLength(1);
    expect(Number(today[0]!.n)).toBe(
      Number(
        (
          await pool.query<{ n: string }>(
            `SELECT count(*) AS n FROM account_scores WHERE churn_risk IS NOT NULL`,
          )
        ).rows[0]!.n,
      ),
    );
    const past = days.rows.filter((d) => d.backfilled);
    // 150 days of history: the Mondays of the last 12 weeks all have 30 days of history before them.
    expect(past).toHaveLength(12);
    expect(past.every((d) => d.monday && d.as_of < today[0]!.as_of && Number(d.n) > 0)).toBe(true);
    // The backfill is the model's score of that day's features: a probability, and health from it.
    const bad = await pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM account_score_history
       WHERE backfilled AND NOT (churn_risk BETWEEN 0 AND 1 AND health = round(100 * (1 - churn_risk)))`,
    );
    expect(Number(bad.rows[0]!.n)).toBe(0);
  });

  it('reads only what is new on the next run, and the results stay the same for the same data', async () => {
    const before = await pool.query(`SELECT account_id, segment FROM account_scores ORDER BY account_id`);
    const [previous] = await runs.list(1);
    const run = await job.run('cli', false);
    expect(run.status).toBe('succeeded');
    // The churn model is trained once a day: this run scores with the one trained by the last.
    expect(run.model?.trainedAt).toBe(previous!.model?.trainedAt);
    // Accounts, contacts and tickets are re-read whole; events only past the watermark (and a window).
    const small = (await count('accounts')) + (await count('contacts')) + (await count('tickets'));
    expect(run.rowsRead).toBeLessThan(small + 1_000);
    const after = await pool.query(`SELECT account_id, segment FROM account_scores ORDER BY account_id`);
    expect(after.rows).toEqual(before.rows);
  });

  it('takes changed tickets on an incremental run: a deleted one leaves, a new rating counts', async () => {
    const metric = async () =>
      (
        await pool.query<{ tickets: number; ratings: number }>(
          `SELECT tickets, ratings FROM support_metrics WHERE grouping = 'all'`,
        )
      ).rows[0]!;
    const before = await metric();
    const inWindow = `created_at >= date_trunc('week', now()) - interval '25 weeks'`;
    const {
      rows: [gone],
    } = await pool.query<{ id: string }>(
      `SELECT id FROM tickets WHERE ${inWindow} AND csat_score IS NULL AND status <> 'deleted' ORDER BY id LIMIT 1`,
    );
    const {
      rows: [rated],
    } = await pool.query<{ id: string }>(
      `SELECT id FROM tickets WHERE ${inWindow} AND csat_score IS NULL AND status <> 'deleted' AND id <> $1
       ORDER BY id LIMIT 1`,
      [gone!.id],
    );
    await pool.query(`UPDATE tickets SET status = 'deleted' WHERE id = $1`, [gone!.id]);
    await pool.query(
      `UPDATE tickets SET csat_score = 5, csat_scale = 'five_point', solved_at = COALESCE(solved_at, created_at)
       WHERE id = $1`,
      [rated!.id],
    );
    expect((await job.run('cli', false)).status).toBe('succeeded');
    expect(await metric()).toEqual({ tickets: before.tickets - 1, ratings: before.ratings + 1 });
  });

  it('never runs twice at once: a second start while one runs is a conflict', async () => {
    let conflict: unknown;
    const first = job.run('api', false);
    await new Promise((r) => setTimeout(r, 50));
    try {
      await job.run('api', false);
    } catch (error) {
      conflict = error;
    }
    await first;
    expect(conflict).toBeInstanceOf(AppException);
    expect((conflict as AppException).code).toBe('CONFLICT');
  });

  it('leaves the previous results in place when a run fails', async () => {
    const before = await pool.query(`SELECT account_id, run_id FROM account_scores ORDER BY account_id`);
    // Break the extract: a table the job reads is renamed away for the run.
    await pool.query(`ALTER TABLE identity_aliases RENAME TO identity_aliases_away`);
    try {
      await expect(job.run('cli', false)).rejects.toThrow();
    } finally {
      await pool.query(`ALTER TABLE identity_aliases_away RENAME TO identity_aliases`);
    }
    const [failed] = await runs.list(1);
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed!.error).toMatch(/^extract: /);
    expect(
      (await pool.query(`SELECT account_id, run_id FROM account_scores ORDER BY account_id`)).rows,
    ).toEqual(before.rows);
    expect((await job.run('cli', false)).status).toBe('succeeded');
  });

  it('writes nothing when the support metrics, computed during the write, fail after the scores went in', async () => {
    const scoresBefore = await pool.query(
      `SELECT account_id, run_id, churn_risk FROM account_scores ORDER BY 1`,
    );
    const metricsBefore = await pool.query(
      `SELECT * FROM support_metrics ORDER BY grouping, week, channel, segment`,
    );
    const [last] = await runs.list(1);
    const scores: AccountScoreRow[] = scoresBefore.rows.map((r: { account_id: string }) => ({
      accountId: String(r.account_id),
      tier: 'smb',
      proficiency: 'novice',
      proficiencyScore: null,
      segment: 'smb-novice',
      churnRisk: 0.5,
      health: 50,
      churnReasons: [],
      upsellScore: null,
      upsellReasons: [],
      features: {},
    }));
    // The metrics fail only once the write has had time to stage and swap the scores.
    const supportMetrics = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error('support metrics failed')), 200),
    );
    await expect(
      new AnalyticsResultsRepository(pool).replace(last!.id, new Date(), {
        scores,
        supportMetrics,
        model: null,
      }),
    ).rejects.toThrow('support metrics failed');
    expect(
      (await pool.query(`SELECT account_id, run_id, churn_risk FROM account_scores ORDER BY 1`)).rows,
    ).toEqual(scoresBefore.rows);
    expect(
      (await pool.query(`SELECT * FROM support_metrics ORDER BY grouping, week, channel, segment`)).rows,
    ).toEqual(metricsBefore.rows);
  });

  it('records the accounts that changed segment since the previous run', async () => {
    const [account] = (
      await pool.query<{ account_id: string; segment: string; proficiency: string }>(
        `SELECT account_id, segment, proficiency FROM account_scores WHERE tier = 'smb' ORDER BY account_id LIMIT 1`,
      )
    ).rows;
    await pool.query(`UPDATE accounts SET mrr = 100000 WHERE id = $1`, [account!.account_id]);
    const run = await job.run('cli', false);
    const moved = await new ScoresRepository(pool).movements({ runId: run.id, limit: 500 });
    expect(moved.runId).toBe(run.id);
    expect(moved.movements).toContainEqual(
      expect.objectContaining({
        accountId: Number(account!.account_id),
        from: account!.segment,
        to: `enterprise-${account!.proficiency}`,
      }),
    );
    expect(moved.summary.reduce((n, s) => n + s.accounts, 0)).toBe(moved.movements.length);
  });

  it('counts an event whose transaction began before a run and committed after it, exactly once', async () => {
    const events7d = async (accountId: string) =>
      Number(
        (
          await pool.query<{ n: string }>(
            `SELECT features->>'events_7d' AS n FROM account_scores WHERE account_id = $1`,
            [accountId],
          )
        ).rows[0]!.n,
      );
    const copyEvent = (accountId: string, suffix: string) =>
      `INSERT INTO events (message_id, source_id, account_id, contact_id, user_id, group_id, anonymous_id, type,
                           name, timestamp, properties)
       SELECT message_id || '${suffix}', source_id, account_id, contact_id, user_id, group_id, anonymous_id, type,
              name, now() - interval '1 hour', properties
       FROM events WHERE account_id = ${Number(accountId)} LIMIT 1`;
    const [late, other] = (
      await pool.query<{ account_id: string }>(
        `SELECT account_id FROM account_scores WHERE churn_risk IS NOT NULL ORDER BY account_id LIMIT 2`,
      )
    ).rows.map((r) => r.account_id);
    const before = await events7d(late!);

    // A slow writer takes its id first, a quick one commits a higher id, and then the run extracts:
    // the slow writer's row is below the watermark id and invisible to the run.
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(copyEvent(late!, ':late'));
      await pool.query(copyEvent(other!, ':quick'));
      expect((await job.run('cli', false)).status).toBe('succeeded');
      expect(await events7d(late!)).toBe(before);
      await slow.query('COMMIT');
    } finally {
      slow.release();
    }
    expect((await job.run('cli', false)).status).toBe('succeeded');
    expect(await events7d(late!)).toBe(before + 1);
    // Read again by the run after (its transaction was still open then), still counted once.
    expect((await job.run('cli', false)).status).toBe('succeeded');
    expect(await events7d(late!)).toBe(before + 1);
  });

  const features = async (accountId: string) =>
    (
      await pool.query<{ features: Record<string, number> }>(
        `SELECT features FROM account_scores WHERE account_id = $1`,
        [accountId],
      )
    ).rows[0]!.features;
  const liveAccount = async (offset: number) =>
    (
      await pool.query<{ account_id: string }>(
        `SELECT account_id FROM account_scores WHERE churn_risk IS NOT NULL ORDER BY account_id OFFSET $1 LIMIT 1`,
        [offset],
      )
    ).rows[0]!.account_id;
  const lakeFile = () => {
    const dir = path.join(dataDir, 'lake');
    const file = fs.readdirSync(dir).find((f) => /^analytics-[0-9a-f]+\.duckdb$/.test(f));
    if (!file) throw new Error(`no lake in ${dir}`);
    return path.join(dir, file);
  };
  /** Opens the lake between runs (each run closes it) and reads `sql`. */
  const lake = async <T>(sql: string): Promise<T[]> => {
    const instance = await DuckDBInstance.create(lakeFile());
    const c = await instance.connect();
    try {
      return (await c.runAndReadAll(sql)).getRowObjectsJson() as T[];
    } finally {
      c.closeSync();
      instance.closeSync();
    }
  };
  /** Events per account in the lake, as PostgreSQL holds them (both as text, for comparing). */
  const lakeEventCounts = () =>
    lake<{ account_id: string; n: string }>(
      `SELECT account_id::VARCHAR AS account_id, count(*)::VARCHAR AS n FROM events
       WHERE account_id IS NOT NULL GROUP BY 1 ORDER BY 1`,
    );
  const postgresEventCounts = async () =>
    (
      await pool.query<{ account_id: string; n: string }>(
        // An event stored without an account counts for its contact's account (as the lake links it).
        `SELECT a::text AS account_id, count(*)::text AS n
         FROM (SELECT COALESCE(e.account_id, c.account_id) AS a
               FROM events e LEFT JOIN contacts c ON e.account_id IS NULL AND c.external_id = e.user_id) x
         WHERE a IS NOT NULL GROUP BY a ORDER BY (a::text) COLLATE "C"`,
      )
    ).rows;

  it('stores an event name never seen before under a new id, once, incrementally and on a full rebuild', async () => {
    const account = await liveAccount(3);
    const before = await features(account);
    await pool.query(
      `INSERT INTO events (message_id, account_id, contact_id, type, name, timestamp)
       SELECT 'new-name-' || g, $1, (SELECT id FROM contacts WHERE account_id = $1 LIMIT 1), 'track',
              'Quarterly Forecast Built', now() - interval '2 hours'
       FROM generate_series(1, 2) g`,
      [account],
    );
    const stored = () =>
      lake<{ n: string; unnamed: string; ids: string }>(
        `SELECT count(*) FILTER (WHERE account_id = ${Number(account)})::VARCHAR AS n,
                (SELECT count(*) FROM event_rows WHERE name_id IS NULL OR name IS NOT NULL)::VARCHAR AS unnamed,
                (SELECT count(*) FROM event_names WHERE name = 'Quarterly Forecast Built')::VARCHAR AS ids
         FROM events WHERE type = 'track' AND name = 'Quarterly Forecast Built'`,
      );
    expect((await job.run('cli', false)).status).toBe('succeeded');
    expect(await stored()).toEqual([{ n: '2', unnamed: '0', ids: '1' }]);
    // A new, uncatalogued track name is one more feature used.
    expect((await features(account)).distinct_features_30d).toBe(before.distinct_features_30d! + 1);

    expect((await job.run('cli', false)).status).toBe('succeeded');
    expect(await stored()).toEqual([{ n: '2', unnamed: '0', ids: '1' }]);
    const full = await job.run('cli', true);
    expect(full).toMatchObject({ status: 'succeeded', fullRebuild: true });
    expect(full.rowsRead).toBeGreaterThan(await count('events'));
    expect(await stored()).toEqual([{ n: '2', unnamed: '0', ids: '1' }]);
    expect(await lakeEventCounts()).toEqual(await postgresEventCounts());
  });

  it('links an event sent before its contact existed once the contact arrives', async () => {
    const account = await liveAccount(4);
    const before = await features(account);
    const { rows } = await pool.query<{ id: string }>(
      `INSERT INTO events (message_id, user_id, type, name, timestamp)
       VALUES ('before-contact-1', 'late-contact-1', 'track', 'Dashboard Viewed', now() - interval '3 hours')
       RETURNING id::text AS id`,
    );
    const linked = () =>
      lake<{ account_id: string | null; name: string }>(
        `SELECT account_id::VARCHAR AS account_id, name FROM events WHERE id = ${Number(rows[0]!.id)}`,
      );
    expect((await job.run('cli', false)).status).toBe('succeeded');
    expect(await linked()).toEqual([{ account_id: null, name: 'Dashboard Viewed' }]);

    const contact = await pool.query<{ id: string }>(
      `INSERT INTO contacts (external_id, account_id) VALUES ('late-contact-1', $1) RETURNING id::text AS id`,
      [account],
    );
    expect((await job.run('cli', false)).status).toBe('succeeded');
    expect(await linked()).toEqual([{ account_id: account, name: 'Dashboard Viewed' }]);
    // A new contact with an event this week is one more active user.
    expect((await features(account)).active_users_30d).toBe(before.active_users_30d! + 1);
    expect(contact.rows).toHaveLength(1);
  });

  it('rebuilds a lake laid out by an earlier version (events as a table of text)', async () => {
    const old = await DuckDBInstance.create(lakeFile());
    const c = await old.connect();
    await c.run(`DROP VIEW events; DROP TABLE event_rows; DROP TABLE event_names;
                 CREATE TABLE events (id BIGINT, account_id BIGINT, contact_id BIGINT, type VARCHAR, name VARCHAR,
                                      ts TIMESTAMPTZ, user_id VARCHAR, group_id VARCHAR, anonymous_id VARCHAR);
                 INSERT INTO events VALUES (1, 1, 1, 'track', 'stale', now(), NULL, NULL, NULL);
                 UPDATE lake_meta SET value = '2' WHERE key = 'layout';`);
    c.closeSync();
    old.closeSync();

    const run = await job.run('cli', false);
    expect(run.status).toBe('succeeded');
    expect(run.rowsRead).toBeGreaterThan(await count('events'));
    expect(await lake(`SELECT count(*)::INTEGER AS n FROM events WHERE name = 'stale'`)).toEqual([{ n: 0 }]);
    expect(await lakeEventCounts()).toEqual(await postgresEventCounts());
  });
});

describe('the analytics job on an empty database', () => {
  it('succeeds and writes no scores (a fresh install before any data arrives)', async () => {
    const db = await createTestDatabase('analytics_empty');
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-analytics-empty-'));
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    try {
      await prepareDatabase(db.url);
      const config = loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir });
      const runtime = { version: 'test', databaseUrl: db.url, embeddedDatabase: false };
      const job = new AnalyticsJobService(
        config,
        runtime,
        new AnalyticsRunsRepository(pool),
        new AnalyticsExtractRepository(pool),
        new AnalyticsResultsRepository(pool),
      );
      const run = await job.run('cli', false);
      expect({ status: run.status, error: run.error }).toEqual({ status: 'succeeded', error: null });
      const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM account_scores`);
      expect(rows[0]!.n).toBe(0);
    } finally {
      await pool.end();
      await db.drop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
