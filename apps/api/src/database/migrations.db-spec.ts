import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { MIGRATIONS, createDataSource } from './data-source.js';
import { pendingAndApplied, revertLastMigration, runMigrations } from './migrator.js';

const TABLES = [
  'account_activity_rollup',
  'account_activity_weeks',
  'account_list_keys',
  'account_score_history',
  'account_scores',
  'accounts',
  'analytics_runs',
  'api_tokens',
  'audit_log',
  'campaign_deliveries',
  'campaign_delivery_attempts',
  'campaign_delivery_members',
  'campaign_members',
  'campaign_refreshes',
  'campaigns',
  'contact_activity',
  'contact_activity_state',
  'contacts',
  'custom_segment_members',
  'custom_segments',
  'dashboard_snapshots',
  'events',
  'identity_aliases',
  'imports',
  'pending_ticket_updates',
  'rejected_items',
  'segment_movements',
  'sources',
  'support_metrics',
  'threshold_settings',
  'tickets',
  'user_sessions',
  'users',
];
const NAMES = MIGRATIONS.map((m) => m.name);

describe('migrations', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase('migrations');
  });
  afterAll(async () => {
    await db.drop();
  });

  const tables = async () =>
    (
      await db.query<{ tablename: string }>(
        `SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations' ORDER BY 1`,
      )
    ).map((r) => r.tablename);

  it('apply once even when two processes start together', async () => {
    const [a, b] = [createDataSource(db.url), createDataSource(db.url)];
    await Promise.all([a.initialize(), b.initialize()]);
    const [first, second] = await Promise.all([runMigrations(a), runMigrations(b)]);
    expect([...first, ...second].sort()).toEqual([...NAMES].sort());
    expect(await tables()).toEqual(TABLES);
    expect(await pendingAndApplied(a)).toEqual({ applied: NAMES, pending: [] });
    await Promise.all([a.destroy(), b.destroy()]);
  });

  it('create the columns the data model promises, with types fit for 100 million events', async () => {
    const columns = await db.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' ORDER BY ordinal_position`,
    );
    expect(Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]))).toEqual({
      id: 'bigint',
      message_id: 'text',
      source_id: 'integer',
      account_id: 'bigint',
      contact_id: 'bigint',
      user_id: 'text',
      group_id: 'text',
      anonymous_id: 'text',
      type: 'text',
      name: 'text',
      timestamp: 'timestamp with time zone',
      received_at: 'timestamp with time zone',
      properties: 'jsonb',
    });
    const indexes = await db.query<{ indexname: string }>(
      `SELECT indexname FROM pg_indexes WHERE tablename = 'events' ORDER BY 1`,
    );
    expect(indexes.map((i) => i.indexname)).toEqual([
      'events_account_time_idx',
      'events_message_id_key',
      'events_pkey',
      'events_received_at_brin',
    ]);
  });

  it('enforce the rules of the domain in the database', async () => {
    await db.query(`INSERT INTO accounts (external_id, name, created_at) VALUES ('a1', 'A', now())`);
    await expect(
      db.query(`INSERT INTO accounts (external_id, name, created_at) VALUES ('a1', 'B', now())`),
    ).rejects.toThrow(/accounts_external_id_key/);
    const ticket = (id: string, channel: string, score: number | null, scale: string | null) =>
      db.query(
        `INSERT INTO tickets (source, external_id, channel, status, created_at, csat_score, csat_scale) VALUES ('t', $1, $2, 'open', now(), $3, $4)`,
        [id, channel, score, scale],
      );
    await ticket('1', 'chat', 5, 'five_point');
    await ticket('2', 'email', 0, 'good_bad');
    await expect(ticket('1', 'chat', null, null)).rejects.toThrow(/tickets_source_external_id_key/);
    await expect(ticket('3', 'pigeon', null, null)).rejects.toThrow(/tickets_channel_check/);
    await expect(ticket('4', 'chat', 6, 'five_point')).rejects.toThrow(/tickets_csat_score_in_scale/);
  });

  it('move updated_at on every update, bulk ones included', async () => {
    const [before] = await db.query<{ updated_at: Date }>(
      `SELECT updated_at FROM accounts WHERE external_id = 'a1'`,
    );
    await db.query(`UPDATE accounts SET plan = 'pro' WHERE external_id = 'a1'`);
    const [after] = await db.query<{ updated_at: Date }>(
      `SELECT updated_at FROM accounts WHERE external_id = 'a1'`,
    );
    expect(after!.updated_at.getTime()).toBeGreaterThan(before!.updated_at.getTime());
  });

  it('go down cleanly and up again', async () => {
    const ds = createDataSource(db.url);
    await ds.initialize();
    await db.query('TRUNCATE accounts, tickets CASCADE');
    for (let i = 0; i < NAMES.length; i++) expect(await revertLastMigration(ds)).toBe(true);
    expect(await tables()).toEqual([]);
    expect(await revertLastMigration(ds)).toBe(false);
    expect(await runMigrations(ds)).toEqual(NAMES);
    expect(await tables()).toEqual(TABLES);
    expect(await runMigrations(ds)).toEqual([]);
    await ds.destroy();
  });
});
