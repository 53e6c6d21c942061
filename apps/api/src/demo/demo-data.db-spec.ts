import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { loadConfig } from '../config/config.js';
import { silentProgress } from '../common/progress/progress.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { DatabaseNotEmptyError, DemoDataService } from './demo-data.service.js';
import { GROUND_TRUTH_COLUMNS } from './ground-truth.js';

const END = new Date('2026-06-01T00:00:00Z');
const REQUEST = { accounts: 60, days: 30, seed: 11, end: END, progress: silentProgress };

async function serviceFor(db: TestDatabase, dataDir: string): Promise<DemoDataService> {
  await prepareDatabase(db.url);
  const config = loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir });
  return new DemoDataService(config, { version: 'test', databaseUrl: db.url, embeddedDatabase: false });
}

const count = async (db: TestDatabase, table: string) =>
  Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);

/** A fingerprint of the loaded data that ignores generated ids and load times. */
const fingerprint = async (db: TestDatabase) =>
  (
    await db.query<{ f: string }>(`
      SELECT md5(string_agg(e.message_id || e.name || e.timestamp::text || a.external_id, ',' ORDER BY e.message_id)) ||
             (SELECT md5(string_agg(t.external_id || t.channel || coalesce(t.csat_score::text, '-'), ',' ORDER BY t.external_id)) FROM tickets t) AS f
      FROM events e JOIN accounts a ON a.id = e.account_id`)
  )[0]!.f;

describe('demo data loader', () => {
  let db: TestDatabase;
  let twin: TestDatabase;
  let dataDir: string;
  let service: DemoDataService;

  beforeAll(async () => {
    [db, twin] = await Promise.all([createTestDatabase('demo'), createTestDatabase('demo_twin')]);
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-demo-'));
    service = await serviceFor(db, dataDir);
  });
  afterAll(async () => {
    await Promise.all([db.drop(), twin.drop()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('loads every row it reports, linked to its account and contact', async () => {
    const summary = await service.generate(REQUEST);
    expect(summary.accounts).toBe(60);
    expect(await count(db, 'accounts')).toBe(summary.accounts);
    expect(await count(db, 'contacts')).toBe(summary.contacts);
    expect(await count(db, 'events')).toBe(summary.events);
    expect(await count(db, 'tickets')).toBe(summary.tickets);
    expect(summary.events).toBeGreaterThan(60 * 30 * 4);
    const orphans = await db.query(`
      SELECT 1 FROM events e LEFT JOIN contacts c ON c.id = e.contact_id
      WHERE c.id IS NULL OR c.account_id <> e.account_id OR c.external_id <> e.user_id LIMIT 1`);
    expect(orphans).toEqual([]);
    const late = await db.query(
      `SELECT 1 FROM tickets WHERE first_response_at < created_at OR first_response_at >= $1 OR solved_at >= $1 LIMIT 1`,
      [END],
    );
    expect(late).toEqual([]);
  });

  it('writes the hidden ground truth beside the data, one row per account, matching the database', async () => {
    const lines = fs.readFileSync(path.join(dataDir, 'demo/ground-truth.csv'), 'utf8').trim().split('\n');
    expect(lines[0]).toBe(GROUND_TRUTH_COLUMNS.join(','));
    expect(lines).toHaveLength(61);
    const churnedInTruth = lines
      .slice(1)
      .map((l) => l.split(','))
      .filter((f) => f[4] !== '')
      .map((f) => f[0])
      .sort();
    const churnedInDb = (
      await db.query<{ external_id: string }>(
        `SELECT external_id FROM accounts WHERE churned_at IS NOT NULL ORDER BY 1`,
      )
    ).map((r) => r.external_id);
    expect(churnedInDb).toEqual(churnedInTruth);
    const manifest = JSON.parse(fs.readFileSync(path.join(dataDir, 'demo/manifest.json'), 'utf8'));
    expect(manifest).toMatchObject({ seed: 11, accounts: 60, days: 30, end: END.toISOString() });
  });

  it('refuses a database that has data, and changes nothing', async () => {
    const before = await fingerprint(db);
    await expect(service.generate(REQUEST)).rejects.toBeInstanceOf(DatabaseNotEmptyError);
    expect(await fingerprint(db)).toBe(before);
    const seeded = await service.seedIfEmpty();
    expect(seeded).toBeNull();
    expect(await fingerprint(db)).toBe(before);
  });

  it('produces the same data set for the same seed, in another database', async () => {
    const twinService = await serviceFor(twin, dataDir);
    await twinService.generate(REQUEST);
    expect(await fingerprint(twin)).toBe(await fingerprint(db));
  });

  it('replaces the data with --reset', async () => {
    const summary = await service.generate({ ...REQUEST, seed: 12, reset: true });
    expect(await count(db, 'accounts')).toBe(60);
    expect(await count(db, 'events')).toBe(summary.events);
    expect(await fingerprint(db)).not.toBe(await fingerprint(twin));
  });
});
