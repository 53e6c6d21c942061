import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { prepareDatabase } from '../database/prepare-database.js';
import type { TicketRecord } from './import-records.js';
import { ImportsWriteRepository } from './imports-write.repository.js';

const at = (iso: string) => new Date(iso);
const makeTicket = (over: Partial<TicketRecord> = {}): TicketRecord => ({
  externalId: 't1',
  channel: 'chat',
  createdAt: at('2026-03-01T10:00:00Z'),
  ...over,
});

describe('bulk writes of imported rows', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let writer: ImportsWriteRepository;

  beforeAll(async () => {
    db = await createTestDatabase('imports_write');
    await prepareDatabase(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 2 });
    // The database is dropped with FORCE at the end; a closing connection may report it.
    pool.on('error', () => undefined);
    writer = new ImportsWriteRepository(pool);
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
  });

  it('updates only the account columns a file carries, merges traits, and keeps the last of repeated rows', async () => {
    const first = await writer.writeAccounts(
      [
        { externalId: 'a1', name: 'A', plan: 'pro', mrr: 100, traits: { industry: 'retail' } },
        { externalId: 'a1', name: 'A one', plan: 'team', mrr: 200, traits: { industry: 'retail', nps: 9 } },
      ],
      [],
    );
    expect(first).toEqual({ inserted: 1, updated: 0, pending: 0, duplicates: 1 });
    const second = await writer.writeAccounts(
      [{ externalId: 'a1', name: 'A1', seats: 12, traits: { region_code: 'EU' } }],
      [],
    );
    expect(second).toEqual({ inserted: 0, updated: 1, pending: 0, duplicates: 0 });
    expect(await db.query(`SELECT name, plan, mrr, seats, traits FROM accounts`)).toEqual([
      {
        name: 'A1',
        plan: 'team',
        mrr: '200.00',
        seats: 12,
        traits: { industry: 'retail', nps: 9, region_code: 'EU' },
      },
    ]);
  });

  it('upserts tickets by (source, external id); a later row adds facts and never erases them', async () => {
    await writer.writeTickets('zd', [makeTicket({ accountExternalId: 'a1', tags: ['billing'] })], []);
    const answer = await writer.writeTickets(
      'zd',
      [
        makeTicket({
          firstResponseAt: at('2026-03-01T10:30:00Z'),
          firstResponseMinutes: 30,
          csatScore: 4,
          csatScale: 'five_point',
        }),
      ],
      [],
    );
    expect(answer).toEqual({ inserted: 0, updated: 1, pending: 0, duplicates: 0 });
    await writer.writeTickets('zd', [makeTicket({ status: 'solved' })], []);
    // A row without a status keeps the stored one.
    await writer.writeTickets('zd', [makeTicket({ tags: ['vip'] })], []);
    await writer.writeTickets('other', [makeTicket()], []);
    const rows = await db.query(
      `SELECT source, status, tags, first_response_minutes, csat_score, csat_scale, a.external_id AS account
       FROM tickets t LEFT JOIN accounts a ON a.id = t.account_id ORDER BY source`,
    );
    expect(rows).toEqual([
      {
        source: 'other',
        status: 'open',
        tags: [],
        first_response_minutes: null,
        csat_score: null,
        csat_scale: null,
        account: null,
      },
      {
        source: 'zd',
        status: 'solved',
        tags: ['vip'],
        first_response_minutes: 30,
        csat_score: 4,
        csat_scale: 'five_point',
        account: 'a1',
      },
    ]);
  });

  it('keeps metrics and ratings for a ticket not seen yet, and applies them when it arrives', async () => {
    const early = await writer.writeTicketUpdates(
      'zd',
      [
        { externalId: 't9', firstResponseMinutes: 240, firstResponseBusinessMinutes: 60 },
        {
          externalId: 't9',
          csatScore: 0,
          csatScale: 'good_bad',
          csatComment: 'slow',
          csatRatedAt: at('2026-03-02T00:00:00Z'),
        },
      ],
      [],
    );
    // Two facts about one ticket merge into one pending row.
    expect(early).toEqual({ inserted: 0, updated: 0, pending: 1, duplicates: 1 });
    expect(await db.query(`SELECT count(*)::int AS n FROM tickets WHERE external_id = 't9'`)).toEqual([
      { n: 0 },
    ]);

    await writer.writeTicketUpdates(
      'zd',
      [{ externalId: 't9', firstResponseMinutes: 240, firstResponseBusinessMinutes: 60 }],
      [],
    );
    await writer.writeTickets(
      'zd',
      [makeTicket({ externalId: 't9', createdAt: at('2026-03-01T08:00:00Z') })],
      [],
    );
    expect(
      await db.query(
        `SELECT first_response_minutes, first_response_business_minutes, first_response_at, csat_score, csat_comment
         FROM tickets WHERE external_id = 't9'`,
      ),
    ).toEqual([
      {
        first_response_minutes: 240,
        first_response_business_minutes: 60,
        first_response_at: at('2026-03-01T12:00:00Z'),
        csat_score: 0,
        csat_comment: 'slow',
      },
    ]);
    expect(await db.query(`SELECT count(*)::int AS n FROM pending_ticket_updates`)).toEqual([{ n: 0 }]);
  });
});
