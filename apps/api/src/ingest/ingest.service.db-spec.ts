import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { loadConfig } from '../config/config.js';
import { prepareDatabase } from '../database/prepare-database.js';
import type { SourcesService } from '../sources/sources.service.js';
import { IngestRepository } from './ingest.repository.js';
import { IngestService } from './ingest.service.js';

/** A request as Express hands it over: a byte stream with headers. */
function request(body: unknown): Readable & { headers: Record<string, string> } {
  return Object.assign(Readable.from([Buffer.from(JSON.stringify(body))]), {
    headers: { 'x-write-key': 'test-key' },
  });
}

const T = (minute: number) => new Date(Date.UTC(2026, 2, 1, 10, minute)).toISOString();

describe('ingest of Segment messages into PostgreSQL', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let ingest: IngestService;
  let sourceId: number;

  beforeAll(async () => {
    db = await createTestDatabase('ingest');
    await prepareDatabase(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    // The database is dropped with FORCE at the end; a closing connection may report it.
    pool.on('error', () => undefined);
    sourceId = (
      await pool.query<{ id: number }>(
        `INSERT INTO sources (name, write_key_hash, write_key_prefix) VALUES ('test', 'h', 'rk_') RETURNING id`,
      )
    ).rows[0]!.id;
    const sources = { authenticate: async (key: string) => (key === 'test-key' ? sourceId : null) };
    ingest = new IngestService(
      loadConfig({ DATABASE_URL: db.url }),
      sources as unknown as SourcesService,
      new IngestRepository(pool),
    );
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  const batch = (items: unknown[]) => ingest.ingest(request({ batch: items }) as never, {});

  it('creates the account from group, the contact from identify, and links events to both', async () => {
    const answer = await batch([
      { type: 'track', userId: 'u1', event: 'report_created', messageId: 'e1', timestamp: T(3) },
      { type: 'identify', userId: 'u1', traits: { email: 'ann@acme.test', name: 'Ann' }, timestamp: T(1) },
      {
        type: 'group',
        userId: 'u1',
        groupId: 'acme',
        traits: { name: 'Acme', plan: 'pro', mrr: 1200, seats: '40', industry: 'retail' },
        timestamp: T(2),
      },
    ]);
    expect(answer).toEqual({ received: 3, accepted: 3, duplicates: 0, rejected: 0, errors: [] });
    const [account] = await db.query(`SELECT id, name, plan, mrr, seats, traits FROM accounts`);
    expect(account).toMatchObject({
      name: 'Acme',
      plan: 'pro',
      mrr: '1200.00',
      seats: 40,
      traits: { industry: 'retail' },
    });
    const [contact] = await db.query(
      `SELECT id, account_id, email, name FROM contacts WHERE external_id = 'u1'`,
    );
    expect(contact).toMatchObject({ account_id: account!.id, email: 'ann@acme.test', name: 'Ann' });
    const [event] = await db.query(
      `SELECT account_id, contact_id, source_id, name FROM events WHERE message_id = 'e1'`,
    );
    expect(event).toEqual({
      account_id: account!.id,
      contact_id: contact!.id,
      source_id: sourceId,
      name: 'report_created',
    });
  });

  it('counts a repeated messageId as a duplicate, within a batch and across batches, and stores it once', async () => {
    const answer = await batch([
      { type: 'track', userId: 'u1', event: 'x', messageId: 'e1' },
      { type: 'track', userId: 'u1', event: 'x', messageId: 'e2' },
      { type: 'track', userId: 'u1', event: 'x', messageId: 'e2' },
    ]);
    expect(answer).toMatchObject({ received: 3, accepted: 1, duplicates: 2, rejected: 0 });
    expect(await db.query(`SELECT message_id FROM events ORDER BY 1`)).toEqual([
      { message_id: 'e1' },
      { message_id: 'e2' },
    ]);
  });

  it('never lets a late retry of an older identify overwrite newer traits, but lets it fill gaps', async () => {
    await batch([
      { type: 'identify', userId: 'u2', traits: { email: 'new@x.test', role: 'admin' }, timestamp: T(30) },
    ]);
    await batch([
      {
        type: 'identify',
        userId: 'u2',
        traits: { email: 'old@x.test', name: 'Bo', role: 'user' },
        timestamp: T(10),
      },
    ]);
    const [contact] = await db.query(`SELECT email, name, traits FROM contacts WHERE external_id = 'u2'`);
    expect(contact).toEqual({
      email: 'new@x.test',
      name: 'Bo',
      traits: { email: 'new@x.test', name: 'Bo', role: 'admin' },
    });
  });

  it('links a contact to an account that arrives later, and resolves events through an alias', async () => {
    await batch([
      { type: 'identify', userId: 'u3', context: { groupId: 'later' }, traits: { email: 'c@later.test' } },
    ]);
    expect(
      await db.query(`SELECT account_id, account_external_id FROM contacts WHERE external_id = 'u3'`),
    ).toEqual([{ account_id: null, account_external_id: 'later' }]);
    await batch([
      { type: 'group', groupId: 'later', anonymousId: 'a0', traits: { name: 'Later Ltd' } },
      { type: 'alias', previousId: 'anon-9', userId: 'u3' },
    ]);
    const [account] = await db.query<{ id: string }>(`SELECT id FROM accounts WHERE external_id = 'later'`);
    expect(await db.query(`SELECT account_id FROM contacts WHERE external_id = 'u3'`)).toEqual([
      { account_id: account!.id },
    ]);
    await batch([{ type: 'page', anonymousId: 'anon-9', name: 'Pricing', messageId: 'p1' }]);
    const [event] = await db.query(
      `SELECT e.account_id, c.external_id AS contact FROM events e JOIN contacts c ON c.id = e.contact_id WHERE message_id = 'p1'`,
    );
    expect(event).toEqual({ account_id: account!.id, contact: 'u3' });
  });

  it('stores the valid items of a batch and keeps each refused one with its reason, in one commit', async () => {
    const answer = await batch([
      { type: 'track', userId: 'u1', event: 'ok', messageId: 'v1' },
      { type: 'track', event: 'no-identity', messageId: 'bad1' },
      { type: 'track', userId: 'u1', event: 'ok', timestamp: 'yesterday', messageId: 'bad2' },
      { type: 'teleport', userId: 'u1', messageId: 'bad3' },
    ]);
    expect(answer).toMatchObject({ received: 4, accepted: 1, duplicates: 0, rejected: 3 });
    expect(answer.errors.map((e) => [e.index, e.messageId, e.code])).toEqual([
      [1, 'bad1', 'MISSING_IDENTITY'],
      [2, 'bad2', 'INVALID_TIMESTAMP'],
      [3, 'bad3', 'UNSUPPORTED_TYPE'],
    ]);
    const kept = await db.query(
      `SELECT item_index, item_id, code, source_id, payload::jsonb->>'event' AS event FROM rejected_items ORDER BY item_index`,
    );
    expect(kept).toEqual([
      { item_index: 1, item_id: 'bad1', code: 'MISSING_IDENTITY', source_id: sourceId, event: 'no-identity' },
      { item_index: 2, item_id: 'bad2', code: 'INVALID_TIMESTAMP', source_id: sourceId, event: 'ok' },
      { item_index: 3, item_id: 'bad3', code: 'UNSUPPORTED_TYPE', source_id: sourceId, event: null },
    ]);
    expect(await db.query(`SELECT count(*)::int AS n FROM events WHERE message_id = 'v1'`)).toEqual([
      { n: 1 },
    ]);
  });

  it('refuses text PostgreSQL cannot store as a per-item error instead of failing the batch', async () => {
    const answer = await batch([
      { type: 'track', userId: 'u1', event: 'nul', properties: { note: 'a\u0000b' }, messageId: 'n1' },
      { type: 'track', userId: 'u1', event: 'surrogate', properties: { note: '\ud800' }, messageId: 'n2' },
      { type: 'track', userId: 'u1', event: 'fine', properties: { note: '😀' }, messageId: 'n3' },
    ]);
    expect(answer.errors.map((e) => [e.messageId, e.code])).toEqual([
      ['n1', 'INVALID_FIELD'],
      ['n2', 'INVALID_FIELD'],
    ]);
    expect(await db.query(`SELECT properties FROM events WHERE message_id = 'n3'`)).toEqual([
      { properties: { note: '😀' } },
    ]);
  });
});
