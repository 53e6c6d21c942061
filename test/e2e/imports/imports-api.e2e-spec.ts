import fs from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import {
  ImportListSchema,
  ImportSchema,
  RejectedItemPageSchema,
  TicketsWriteResponseSchema,
  type Import,
  type ImportKind,
  type RejectedItem,
  type TicketsWriteResponse,
} from '@retain/contracts';
import {
  REPO_ROOT,
  freePort,
  runRetain,
  waitUntilUp,
  type RetainProcess,
} from '../../support/retain-process.js';
import { adminFetch } from '../../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

const ZENDESK_FIXTURES = path.join(REPO_ROOT, 'apps/api/src/imports/__fixtures__/zendesk');
const zendeskFixture = (name: string) => fs.readFileSync(path.join(ZENDESK_FIXTURES, name), 'utf8');

type Row = Record<string, unknown>;
/** Dates as ISO strings, so rows compare as plain data. */
const plain = (row: Row): Row =>
  Object.fromEntries(Object.entries(row).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : v]));

const TICKET_COLUMNS = `external_id, account_id, contact_id, account_external_id, contact_external_id, channel,
  channel_detail, subject, priority, status, tags, created_at, first_response_at, first_response_minutes,
  first_response_business_minutes, solved_at, csat_score, csat_scale, csat_comment, csat_rated_at`;

// Starting the server and each CLI run take a second or more; a loaded machine needs more.
jest.setTimeout(30_000);

describe('Imports over the HTTP API', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let api: typeof fetch;
  let dataDir: string;
  // One client of our own, ended (and closed) before the database is dropped: the pool of
  // TestDatabase resolves end() before its sockets close, so a forced DROP can kill them mid-way.
  let sql: pg.Client;
  const query = async <T extends pg.QueryResultRow = Row>(text: string, params?: unknown[]) =>
    (await sql.query<T>(text, params)).rows;

  const url = (route: string, query: Record<string, string | string[]> = {}) => {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query))
      for (const v of Array.isArray(value) ? value : [value]) params.append(key, v);
    const qs = params.toString();
    return `${retain.baseUrl}${route}${qs ? `?${qs}` : ''}`;
  };

  const getImport = async (id: number): Promise<Import> => {
    const res = await api(url(`/api/imports/${id}`));
    expect(res.status).toBe(200);
    return ImportSchema.parse(await res.json());
  };

  /** Polls GET /api/imports/:id until the import ends; `seen` gets every answer. */
  const waitForImport = async (id: number, seen?: (imp: Import) => void): Promise<Import> => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const imp = await getImport(id);
      seen?.(imp);
      if (imp.status === 'succeeded' || imp.status === 'failed') return imp;
      if (Date.now() > deadline) throw new Error(`Import ${id} still ${imp.status} after 30 s`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  /** POST /api/imports/:kind: checks the 202 and its Location, then waits for the end. */
  const runImport = async (
    kind: ImportKind,
    body: string | Uint8Array,
    query: Record<string, string | string[]> = {},
    seen?: (imp: Import) => void,
    headers: Record<string, string> = {},
  ): Promise<Import> => {
    const res = await api(url(`/api/imports/${kind}`, query), {
      method: 'POST',
      headers: { 'content-type': 'text/csv', ...headers },
      body,
    });
    const text = await res.text();
    expect({ status: res.status, text }).toMatchObject({ status: 202 });
    const created = ImportSchema.parse(JSON.parse(text));
    expect(res.headers.get('location')).toBe(`/api/imports/${created.id}`);
    expect(created).toMatchObject({ kind, format: query.format ?? 'csv' });
    // Small files may be done (or failed) before the 202 is written: any status is a valid answer here.
    return waitForImport(created.id, seen);
  };

  const rejectedOf = async (importId: number): Promise<RejectedItem[]> => {
    const res = await api(url('/api/rejected-items', { importId: String(importId), limit: '500' }));
    expect(res.status).toBe(200);
    const page = RejectedItemPageSchema.parse(await res.json());
    return [...page.items].sort((a, b) => (a.line ?? a.index) - (b.line ?? b.index));
  };
  const reasons = (items: RejectedItem[]) =>
    items.map((r) => ({ line: r.line, itemId: r.itemId, code: r.code, message: r.message }));

  const postTickets = async (
    body: string,
    contentType: string,
    source?: string,
  ): Promise<{ status: number; body: TicketsWriteResponse }> => {
    const res = await api(url('/api/tickets', source ? { source } : {}), {
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
    });
    const text = await res.text();
    expect({ status: res.status, text }).toMatchObject({ status: 200 });
    return { status: res.status, body: TicketsWriteResponseSchema.parse(JSON.parse(text)) };
  };
  const postJson = (items: unknown, source?: string) =>
    postTickets(JSON.stringify(items), 'application/json', source);

  const tickets = async (source: string): Promise<Row[]> =>
    (
      await query<Row>(`SELECT ${TICKET_COLUMNS} FROM tickets WHERE source = $1 ORDER BY external_id`, [
        source,
      ])
    ).map(plain);
  const idOf = async (table: 'accounts' | 'contacts', externalId: string): Promise<string> => {
    const rows = await query<{ id: string }>(`SELECT id FROM ${table} WHERE external_id = $1`, [externalId]);
    if (!rows[0]) throw new Error(`no ${table} row ${externalId}`);
    return rows[0].id;
  };
  const count = async (text: string, params: unknown[] = []) =>
    Number((await query<{ n: string }>(text, params))[0]!.n);

  beforeAll(async () => {
    db = await createTestDatabase('imports_api');
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-imports-api-'));
    retain = runRetain(
      { DATABASE_URL: db.url, DEMO_DATA: 'false', LOG_LEVEL: 'warn', DATA_DIR: dataDir },
      await freePort(),
    );
    await waitUntilUp(retain);
    api = await adminFetch(db.url);
  });
  afterAll(async () => {
    await retain?.stop();
    await sql?.end();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  describe('accounts CSV', () => {
    const ACCOUNTS_CSV = [
      'external_id,name,plan,mrr,seats,employees,region,owner,created_at,churned_at,renewal_date,Industry,health_score,beta,zip',
      'acc_1,Acme Corp,pro,1200.50,10,250,EU,alice@retain.test,2025-01-15T10:00:00Z,,2026-06-30,Software,87,true,02134',
      'acc_2,Bad Money Ltd,pro,lots,5,10,US,bob,2025-02-01,,,Retail,50,false,',
      '"acc_3","Globex, Inc.",enterprise,"$2,500.00",40,1000,US,bob,2025-03-01 08:30:00+02,2026-01-31T00:00:00Z,,Manufacturing,12.5,FALSE,10001',
      'acc_4,Bad Date GmbH,starter,99,1,3,EU,carol,yesterday,,,Retail,1,true,',
      'acc_5,Initech,starter,0,,,,,,,,,,,',
      '',
    ].join('\n');
    let firstImport: Import;

    it('answers 202 with a Location, then stores the good rows with typed columns and typed traits', async () => {
      firstImport = await runImport('accounts', ACCOUNTS_CSV, { fileName: 'accounts.csv' });
      expect(firstImport).toMatchObject({
        status: 'succeeded',
        progress: 100,
        fileName: 'accounts.csv',
        source: null,
        error: null,
        received: 5,
        inserted: 3,
        updated: 0,
        duplicates: 0,
        pending: 0,
        rejected: 2,
        bytesTotal: Buffer.byteLength(ACCOUNTS_CSV),
        bytesDone: Buffer.byteLength(ACCOUNTS_CSV),
      });

      const rows = (
        await query<Row>(
          `SELECT external_id, name, plan, mrr::float8 AS mrr, seats, employees, region, owner, created_at,
                  churned_at, renewal_date::text AS renewal_date, traits
           FROM accounts ORDER BY external_id`,
        )
      ).map(plain);
      expect(rows).toEqual([
        {
          external_id: 'acc_1',
          name: 'Acme Corp',
          plan: 'pro',
          mrr: 1200.5,
          seats: 10,
          employees: 250,
          region: 'EU',
          owner: 'alice@retain.test',
          created_at: '2025-01-15T10:00:00.000Z',
          churned_at: null,
          renewal_date: '2026-06-30',
          traits: { Industry: 'Software', health_score: 87, beta: true, zip: '02134' },
        },
        {
          external_id: 'acc_3',
          name: 'Globex, Inc.',
          plan: 'enterprise',
          mrr: 2500,
          seats: 40,
          employees: 1000,
          region: 'US',
          owner: 'bob',
          created_at: '2025-03-01T06:30:00.000Z',
          churned_at: '2026-01-31T00:00:00.000Z',
          renewal_date: null,
          traits: { Industry: 'Manufacturing', health_score: 12.5, beta: false, zip: 10001 },
        },
        {
          external_id: 'acc_5',
          name: 'Initech',
          plan: 'starter',
          mrr: 0,
          seats: null,
          employees: null,
          region: null,
          owner: null,
          created_at: expect.any(String),
          churned_at: null,
          renewal_date: null,
          traits: {},
        },
      ]);
      // No created_at in the file: the account is created now.
      const acc5 = rows.find((r) => r.external_id === 'acc_5')!;
      expect(Math.abs(Date.parse(String(acc5.created_at)) - Date.now())).toBeLessThan(120_000);
    });

    it('lists the bad mrr and the bad date with their line numbers and reasons', async () => {
      const rejected = await rejectedOf(firstImport.id);
      expect(reasons(rejected)).toEqual([
        { line: 3, itemId: 'acc_2', code: 'INVALID_FIELD', message: 'mrr: "lots" is not a number' },
        {
          line: 5,
          itemId: 'acc_4',
          code: 'INVALID_TIMESTAMP',
          message:
            'created_at: "yesterday" is not a date or timestamp (use ISO 8601, e.g. 2026-03-01T10:00:00Z)',
        },
      ]);
      expect(rejected.map((r) => ({ kind: r.kind, importId: r.importId }))).toEqual([
        { kind: 'account', importId: firstImport.id },
        { kind: 'account', importId: firstImport.id },
      ]);
      expect(rejected[0]!.payload).toContain('lots');
    });

    it('updates rather than duplicates when the same file comes again', async () => {
      const again = await runImport('accounts', ACCOUNTS_CSV);
      expect(again).toMatchObject({
        status: 'succeeded',
        received: 5,
        inserted: 0,
        updated: 3,
        duplicates: 0,
        rejected: 2,
      });
      expect(await count(`SELECT count(*) AS n FROM accounts`)).toBe(3);
      expect((await rejectedOf(again.id)).map((r) => r.line)).toEqual([3, 5]);
    });

    it('fails a CSV without a name column as a whole, naming the column, and writes nothing', async () => {
      const before = await count(`SELECT count(*) AS n FROM accounts`);
      const failed = await runImport('accounts', 'external_id,company_name,plan\nacc_9,Nope Inc,pro\n');
      expect(failed.status).toBe('failed');
      expect(failed.error).toContain('Missing required column(s): name.');
      expect(failed.error).toContain('Columns found: external_id, company_name, plan.');
      expect(failed).toMatchObject({ received: 0, inserted: 0, updated: 0, rejected: 0 });
      expect(await count(`SELECT count(*) AS n FROM accounts`)).toBe(before);
      expect(await count(`SELECT count(*) AS n FROM accounts WHERE external_id = 'acc_9'`)).toBe(0);
      expect(await rejectedOf(failed.id)).toEqual([]);
    });

    it('imports another export’s headers through a column mapping', async () => {
      const csv =
        'Account ID,Company,Plan,MRR,Segment\ncrm-1,Hooli,enterprise,9000,Large\ncrm-2,Pied Piper,starter,49,Small\n';
      const imp = await runImport('accounts', csv, { map: ['external_id=Account ID', 'name=Company'] });
      expect(imp).toMatchObject({ status: 'succeeded', received: 2, inserted: 2, rejected: 0 });
      const rows = await query<Row>(
        `SELECT external_id, name, plan, mrr::float8 AS mrr, traits FROM accounts
         WHERE external_id LIKE 'crm-%' ORDER BY external_id`,
      );
      expect(rows).toEqual([
        { external_id: 'crm-1', name: 'Hooli', plan: 'enterprise', mrr: 9000, traits: { Segment: 'Large' } },
        { external_id: 'crm-2', name: 'Pied Piper', plan: 'starter', mrr: 49, traits: { Segment: 'Small' } },
      ]);
    });

    it('lists the imports, newest first', async () => {
      const res = await api(url('/api/imports'));
      expect(res.status).toBe(200);
      const { imports } = ImportListSchema.parse(await res.json());
      expect(imports.length).toBeGreaterThanOrEqual(4);
      expect(imports.map((i) => i.id)).toEqual([...imports.map((i) => i.id)].sort((a, b) => b - a));
      expect(imports.find((i) => i.id === firstImport.id)).toMatchObject({ received: 5, inserted: 3 });
    });
  });

  describe('contacts CSV', () => {
    it('links contacts to their accounts, also when the account arrives in a later import', async () => {
      const csv = [
        'external_id,account_external_id,email,name,role',
        'c_1,acc_1,ann@acme.test,Ann,admin',
        'c_2,acc_late,ben@late.test,Ben,user',
        'c_3,acc_1,not-an-email,Cat,user',
        'c_4,,dan@solo.test,Dan,',
      ].join('\n');
      const imp = await runImport('contacts', csv);
      expect(imp).toMatchObject({ status: 'succeeded', received: 4, inserted: 3, updated: 0, rejected: 1 });
      expect(reasons(await rejectedOf(imp.id))).toEqual([
        {
          line: 4,
          itemId: 'c_3',
          code: 'INVALID_FIELD',
          message: 'email: "not-an-email" is not an email address',
        },
      ]);

      const contacts = () =>
        query<Row>(
          `SELECT c.external_id, c.email, c.name, c.traits, c.account_id, c.account_external_id
           FROM contacts c ORDER BY c.external_id`,
        );
      const acc1 = await idOf('accounts', 'acc_1');
      expect(await contacts()).toEqual([
        {
          external_id: 'c_1',
          email: 'ann@acme.test',
          name: 'Ann',
          traits: { role: 'admin' },
          account_id: acc1,
          account_external_id: 'acc_1',
        },
        {
          external_id: 'c_2',
          email: 'ben@late.test',
          name: 'Ben',
          traits: { role: 'user' },
          account_id: null,
          account_external_id: 'acc_late',
        },
        {
          external_id: 'c_4',
          email: 'dan@solo.test',
          name: 'Dan',
          traits: {},
          account_id: null,
          account_external_id: null,
        },
      ]);

      const late = await runImport('accounts', 'external_id,name\nacc_late,Late Arrival Inc\n');
      expect(late).toMatchObject({ status: 'succeeded', inserted: 1 });
      const lateId = await idOf('accounts', 'acc_late');
      expect((await contacts()).map((c) => [c.external_id, c.account_id])).toEqual([
        ['c_1', acc1],
        ['c_2', lateId],
        ['c_4', null],
      ]);
    });
  });

  describe('NDJSON files', () => {
    // Each line is one object; a line may carry fields another line lacks.
    const ndjson = (...items: object[]) => `${items.map((i) => JSON.stringify(i)).join('\n')}\n`;
    const accounts = () =>
      query(
        `SELECT external_id, name, plan, mrr::float8 AS mrr, region FROM accounts
         WHERE external_id LIKE 'nd-%' ORDER BY external_id`,
      );

    it('accounts: stores the fields of every line, not only those the first line has', async () => {
      const imp = await runImport(
        'accounts',
        ndjson(
          { external_id: 'nd-1', name: 'First', region: 'US' },
          { external_id: 'nd-2', name: 'Second', plan: 'pro', mrr: 10 },
        ),
        { format: 'ndjson' },
      );
      expect(imp).toMatchObject({ status: 'succeeded', received: 2, inserted: 2, rejected: 0 });
      expect(await accounts()).toEqual([
        { external_id: 'nd-1', name: 'First', plan: null, mrr: null, region: 'US' },
        { external_id: 'nd-2', name: 'Second', plan: 'pro', mrr: 10, region: null },
      ]);
    });

    it('accounts: leaves a field a line does not carry as stored', async () => {
      await query(`UPDATE accounts SET region = 'US', plan = 'pro', mrr = 10 WHERE external_id LIKE 'nd-%'`);
      const imp = await runImport(
        'accounts',
        ndjson(
          { external_id: 'nd-2', name: 'Second', region: 'EU' },
          { external_id: 'nd-1', name: 'First again' },
        ),
        { format: 'ndjson' },
      );
      expect(imp).toMatchObject({ status: 'succeeded', received: 2, inserted: 0, updated: 2, rejected: 0 });
      expect(await accounts()).toEqual([
        { external_id: 'nd-1', name: 'First again', plan: 'pro', mrr: 10, region: 'US' },
        { external_id: 'nd-2', name: 'Second', plan: 'pro', mrr: 10, region: 'EU' },
      ]);
    });

    it('contacts: stores the fields of every line, and links the account', async () => {
      const imp = await runImport(
        'contacts',
        ndjson(
          { external_id: 'ndc-1' },
          { external_id: 'ndc-2', email: 'two@nd.test', name: 'Two', account_external_id: 'nd-1' },
        ),
        { format: 'ndjson' },
      );
      expect(imp).toMatchObject({ status: 'succeeded', received: 2, inserted: 2, rejected: 0 });
      expect(
        await query(
          `SELECT c.external_id, c.email, c.name, a.external_id AS account
           FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id
           WHERE c.external_id LIKE 'ndc-%' ORDER BY c.external_id`,
        ),
      ).toEqual([
        { external_id: 'ndc-1', email: null, name: null, account: null },
        { external_id: 'ndc-2', email: 'two@nd.test', name: 'Two', account: 'nd-1' },
      ]);
    });
  });

  describe('tickets CSV', () => {
    it('derives first_response_minutes, reads the CSAT scale and refuses an unknown channel', async () => {
      const csv = [
        'external_id,account_external_id,contact_external_id,channel,created_at,first_response_at,solved_at,csat_score,csat_comment',
        't-1,acc_1,c_1,email,2026-03-01T10:00:00Z,2026-03-01T10:45:30Z,2026-03-02T09:00:00Z,5,"Great, thanks"',
        't-2,acc_3,,Live chat,2026-03-02T08:00:00Z,2026-03-02T08:01:00Z,,good,',
        't-3,acc_1,c_1,pigeon,2026-03-03T08:00:00Z,,,,',
        't-4,,c_2,phone,2026-03-04T08:00:00Z,,,bad,Slow',
        't-5,acc_5,,web,2026-03-05T08:00:00Z,,,offered,',
        't-6,acc_5,,email,2026-03-06T08:00:00Z,,,7,',
        't-7,acc_missing,,email,2026-03-07T08:00:00Z,2026-03-07T07:00:00Z,,,',
        '',
      ].join('\r\n');
      const imp = await runImport('tickets', csv, { source: 'helpdesk' });
      expect(imp).toMatchObject({
        status: 'succeeded',
        source: 'helpdesk',
        received: 7,
        inserted: 4,
        updated: 0,
        rejected: 3,
      });
      expect(reasons(await rejectedOf(imp.id))).toEqual([
        {
          line: 4,
          itemId: 't-3',
          code: 'INVALID_FIELD',
          message: expect.stringContaining('channel: "pigeon" is not a known channel'),
        },
        {
          line: 7,
          itemId: 't-6',
          code: 'INVALID_FIELD',
          message: expect.stringContaining('csat_score: "7" is not a rating'),
        },
        {
          line: 8,
          itemId: 't-7',
          code: 'INVALID_FIELD',
          message: expect.stringContaining('first_response_at: "2026-03-07T07:00:00Z" is before created_at'),
        },
      ]);

      const [acc1, acc3, acc5, c1, c2, accLate] = await Promise.all([
        idOf('accounts', 'acc_1'),
        idOf('accounts', 'acc_3'),
        idOf('accounts', 'acc_5'),
        idOf('contacts', 'c_1'),
        idOf('contacts', 'c_2'),
        idOf('accounts', 'acc_late'),
      ]);
      const base = {
        subject: null,
        priority: null,
        tags: [],
        first_response_business_minutes: null,
        csat_rated_at: null,
      };
      expect(await tickets('helpdesk')).toEqual([
        {
          ...base,
          external_id: 't-1',
          account_id: acc1,
          contact_id: c1,
          account_external_id: 'acc_1',
          contact_external_id: 'c_1',
          channel: 'email',
          channel_detail: null,
          status: 'solved',
          created_at: '2026-03-01T10:00:00.000Z',
          first_response_at: '2026-03-01T10:45:30.000Z',
          first_response_minutes: 45.5,
          solved_at: '2026-03-02T09:00:00.000Z',
          csat_score: 5,
          csat_scale: 'five_point',
          csat_comment: 'Great, thanks',
        },
        {
          ...base,
          external_id: 't-2',
          account_id: acc3,
          contact_id: null,
          account_external_id: 'acc_3',
          contact_external_id: null,
          channel: 'chat',
          channel_detail: 'Live chat',
          status: 'open',
          created_at: '2026-03-02T08:00:00.000Z',
          first_response_at: '2026-03-02T08:01:00.000Z',
          first_response_minutes: 1,
          solved_at: null,
          csat_score: 1,
          csat_scale: 'good_bad',
          csat_comment: null,
        },
        {
          ...base,
          external_id: 't-4',
          account_id: accLate,
          contact_id: c2,
          account_external_id: null,
          contact_external_id: 'c_2',
          channel: 'phone',
          channel_detail: null,
          status: 'open',
          created_at: '2026-03-04T08:00:00.000Z',
          first_response_at: null,
          first_response_minutes: null,
          solved_at: null,
          csat_score: 0,
          csat_scale: 'good_bad',
          csat_comment: 'Slow',
        },
        {
          ...base,
          external_id: 't-5',
          account_id: acc5,
          contact_id: null,
          account_external_id: 'acc_5',
          contact_external_id: null,
          channel: 'web',
          channel_detail: null,
          status: 'open',
          created_at: '2026-03-05T08:00:00.000Z',
          first_response_at: null,
          first_response_minutes: null,
          solved_at: null,
          csat_score: null,
          csat_scale: null,
          csat_comment: null,
        },
      ]);
    });
  });

  describe('POST /api/tickets', () => {
    it('takes a JSON array and answers 200 with the counts and each refused item', async () => {
      const { body } = await postJson([
        {
          external_id: 'j-1',
          channel: 'chat',
          created_at: '2026-03-01T10:00:00Z',
          first_response_at: '2026-03-01T10:02:00Z',
          csat_score: 4,
          tags: ['vip', 'billing'],
        },
        { external_id: 'j-2', channel: 'fax', created_at: '2026-03-01T10:00:00Z' },
        { external_id: 'j-3', channel: 'email' },
        'not an object',
      ]);
      expect(body).toEqual({
        received: 4,
        inserted: 1,
        updated: 0,
        duplicates: 0,
        pending: 0,
        rejected: 3,
        errors: [
          {
            index: 1,
            line: null,
            externalId: 'j-2',
            code: 'INVALID_FIELD',
            message: expect.stringContaining('channel: "fax" is not a known channel'),
          },
          {
            index: 2,
            line: null,
            externalId: 'j-3',
            code: 'MISSING_FIELD',
            message: 'created_at: is required',
          },
          {
            index: 3,
            line: null,
            externalId: null,
            code: 'INVALID_FIELD',
            message: 'row: must be a JSON object',
          },
        ],
      });
      expect(await tickets('api')).toEqual([
        expect.objectContaining({
          external_id: 'j-1',
          channel: 'chat',
          tags: ['vip', 'billing'],
          first_response_minutes: 2,
          csat_score: 4,
          csat_scale: 'five_point',
        }),
      ]);
    });

    it('takes { tickets: [...] } under the given source', async () => {
      const { body } = await postJson(
        { tickets: [{ external_id: 'j-1', channel: 'web', created_at: '2026-03-01T10:00:00Z' }] },
        'other',
      );
      expect(body).toMatchObject({ received: 1, inserted: 1, updated: 0, rejected: 0, errors: [] });
      // Same external id, other source: its own row.
      expect((await tickets('other')).map((t) => [t.external_id, t.channel])).toEqual([['j-1', 'web']]);
      expect((await tickets('api')).map((t) => [t.external_id, t.channel])).toEqual([['j-1', 'chat']]);
    });

    it('takes NDJSON, reporting refused lines by line number and merging repeats', async () => {
      const ndjson = [
        '{"external_id":"n-1","channel":"email","created_at":"2026-03-01T10:00:00Z"}',
        '',
        '{"external_id":"n-2","channel":"fax","created_at":"2026-03-01T10:00:00Z"}',
        '{"external_id":"n-3",',
        '{"external_id":"n-1","channel":"email","created_at":"2026-03-01T10:00:00Z","status":"Pending"}',
        '',
      ].join('\n');
      const { body } = await postTickets(ndjson, 'application/x-ndjson', 'nd');
      expect(body).toEqual({
        received: 4,
        inserted: 1,
        updated: 0,
        duplicates: 1,
        pending: 0,
        rejected: 2,
        errors: [
          {
            index: 1,
            line: 3,
            externalId: 'n-2',
            code: 'INVALID_FIELD',
            message: expect.stringContaining('channel: "fax" is not a known channel'),
          },
          {
            index: 2,
            line: 4,
            externalId: null,
            code: 'INVALID_JSON',
            message: expect.stringMatching(/^line 4: not valid JSON/),
          },
        ],
      });
      expect((await tickets('nd')).map((t) => [t.external_id, t.status])).toEqual([['n-1', 'pending']]);
    });

    it('upserts by (source, external_id): later posts add a first response and a rating, and never erase them', async () => {
      const created = '2026-03-01T10:00:00Z';
      const first = await postJson(
        [{ external_id: 'u-1', channel: 'email', created_at: created, subject: 'Help' }],
        'upsert',
      );
      expect(first.body).toMatchObject({ received: 1, inserted: 1, updated: 0 });
      expect(await tickets('upsert')).toEqual([
        expect.objectContaining({
          subject: 'Help',
          first_response_at: null,
          first_response_minutes: null,
          csat_score: null,
        }),
      ]);

      const second = await postJson(
        [
          {
            external_id: 'u-1',
            channel: 'email',
            created_at: created,
            first_response_at: '2026-03-01T10:30:00Z',
            csat_score: 5,
            csat_comment: 'Nice',
          },
        ],
        'upsert',
      );
      expect(second.body).toMatchObject({ received: 1, inserted: 0, updated: 1, rejected: 0 });
      const afterSecond = await tickets('upsert');
      expect(afterSecond).toEqual([
        expect.objectContaining({
          external_id: 'u-1',
          subject: 'Help',
          first_response_at: '2026-03-01T10:30:00.000Z',
          first_response_minutes: 30,
          csat_score: 5,
          csat_scale: 'five_point',
          csat_comment: 'Nice',
          status: 'open',
        }),
      ]);

      const third = await postJson(
        [
          {
            external_id: 'u-1',
            channel: 'email',
            created_at: created,
            status: 'solved',
            solved_at: '2026-03-01T12:00:00Z',
          },
        ],
        'upsert',
      );
      expect(third.body).toMatchObject({ received: 1, inserted: 0, updated: 1, rejected: 0 });
      expect(await tickets('upsert')).toEqual([
        {
          ...afterSecond[0],
          status: 'solved',
          solved_at: '2026-03-01T12:00:00.000Z',
        },
      ]);
      const afterThird = await tickets('upsert');
      expect(await count(`SELECT count(*) AS n FROM tickets WHERE source = 'upsert'`)).toBe(1);

      // A post that only adds a tag carries no status and no solved_at: the ticket stays solved.
      const fourth = await postJson(
        [{ external_id: 'u-1', channel: 'email', created_at: created, tags: ['followup'] }],
        'upsert',
      );
      expect(fourth.body).toMatchObject({ received: 1, inserted: 0, updated: 1, rejected: 0 });
      expect(await tickets('upsert')).toEqual([{ ...afterThird[0], tags: ['followup'] }]);
    });

    it('keeps tickets of the same external id apart per source', async () => {
      const { body } = await postJson(
        [{ external_id: 'u-1', channel: 'phone', created_at: '2026-03-02T10:00:00Z' }],
        'upsert-other',
      );
      expect(body).toMatchObject({ received: 1, inserted: 1, updated: 0 });
      expect(
        await query(`SELECT source, channel FROM tickets WHERE external_id = 'u-1' ORDER BY source`),
      ).toEqual([
        { source: 'upsert', channel: 'email' },
        { source: 'upsert-other', channel: 'phone' },
      ]);
    });
  });

  describe('Zendesk export', () => {
    it('keeps metrics and ratings that come before their tickets, applies them when the tickets arrive', async () => {
      const metrics = await runImport('tickets', zendeskFixture('ticket-metrics.json'), {
        format: 'zendesk',
      });
      expect(metrics).toMatchObject({
        status: 'succeeded',
        source: 'zendesk',
        received: 2,
        inserted: 0,
        updated: 0,
        pending: 2,
        rejected: 0,
      });
      const ratings = await runImport('tickets', zendeskFixture('satisfaction-ratings.json'), {
        format: 'zendesk',
      });
      // The 'offered' rating (35438) is not a rating: it is not counted, kept or applied.
      expect(ratings).toMatchObject({
        status: 'succeeded',
        received: 3,
        inserted: 0,
        updated: 0,
        pending: 3,
        rejected: 0,
      });
      expect(await count(`SELECT count(*) AS n FROM tickets WHERE source = 'zendesk'`)).toBe(0);
      expect(
        (
          await query<{ external_id: string }>(
            `SELECT external_id FROM pending_ticket_updates WHERE source = 'zendesk' ORDER BY external_id`,
          )
        ).map((r) => r.external_id),
      ).toEqual(['35436', '35437', '99999']);

      const page = await runImport('tickets', zendeskFixture('tickets-page.json'), { format: 'zendesk' });
      expect(page).toMatchObject({ status: 'succeeded', received: 3, inserted: 3, updated: 0, rejected: 0 });
      const incremental = await runImport('tickets', zendeskFixture('incremental-tickets.json'), {
        format: 'zendesk',
      });
      expect(incremental).toMatchObject({
        status: 'succeeded',
        received: 6,
        inserted: 3,
        updated: 3,
        pending: 0,
        rejected: 0,
      });

      const base = { account_id: null, contact_id: null };
      expect(await tickets('zendesk')).toEqual([
        {
          ...base,
          external_id: '35436',
          account_external_id: '509974',
          contact_external_id: '20978392',
          channel: 'web',
          channel_detail: null,
          subject: 'Cannot log in after password reset',
          priority: 'high',
          status: 'solved',
          tags: ['enterprise', 'login'],
          created_at: '2026-02-02T09:15:00.000Z',
          first_response_at: '2026-02-02T09:27:00.000Z',
          first_response_minutes: 12,
          first_response_business_minutes: 12,
          solved_at: '2026-02-02T11:02:45.000Z',
          csat_score: 1,
          csat_scale: 'good_bad',
          csat_comment: 'Thanks, fixed quickly!',
          csat_rated_at: '2026-02-03T16:40:12.000Z',
        },
        {
          ...base,
          external_id: '35437',
          account_external_id: '509974',
          contact_external_id: '20978393',
          channel: 'email',
          channel_detail: null,
          subject: 'Refund for the duplicate invoice',
          priority: 'normal',
          status: 'solved',
          tags: ['billing', 'refund'],
          created_at: '2026-02-03T14:05:10.000Z',
          first_response_at: '2026-02-03T15:40:10.000Z',
          first_response_minutes: 95,
          first_response_business_minutes: 35,
          solved_at: '2026-03-01T18:20:00.000Z',
          csat_score: 0,
          csat_scale: 'good_bad',
          csat_comment: 'Took far too long to get my money back',
          csat_rated_at: '2026-03-02T10:00:00.000Z',
        },
        {
          ...base,
          external_id: '35438',
          account_external_id: null,
          contact_external_id: '20978394',
          channel: 'web',
          channel_detail: 'api',
          subject: 'Webhook deliveries failing with 502',
          priority: null,
          status: 'new',
          tags: [],
          created_at: '2026-02-04T20:30:00.000Z',
          first_response_at: null,
          first_response_minutes: null,
          first_response_business_minutes: null,
          solved_at: null,
          csat_score: null,
          csat_scale: null,
          csat_comment: null,
          csat_rated_at: null,
        },
        {
          ...base,
          external_id: '35439',
          account_external_id: '509975',
          contact_external_id: '20978395',
          channel: 'chat',
          channel_detail: 'native_messaging',
          subject: 'Conversation with Tom Becker',
          priority: 'low',
          status: 'open',
          tags: ['messaging', 'reports'],
          created_at: '2026-03-01T08:00:00.000Z',
          first_response_at: null,
          first_response_minutes: null,
          first_response_business_minutes: null,
          solved_at: null,
          csat_score: null,
          csat_scale: null,
          csat_comment: null,
          csat_rated_at: null,
        },
        {
          ...base,
          external_id: '35440',
          account_external_id: '509974',
          contact_external_id: '20978392',
          channel: 'web',
          channel_detail: null,
          subject: 'test please ignore',
          priority: null,
          status: 'deleted',
          tags: [],
          created_at: '2026-02-20T12:00:00.000Z',
          first_response_at: null,
          first_response_minutes: null,
          first_response_business_minutes: null,
          solved_at: null,
          csat_score: null,
          csat_scale: null,
          csat_comment: null,
          csat_rated_at: null,
        },
        {
          ...base,
          external_id: '35441',
          account_external_id: null,
          contact_external_id: '20978396',
          channel: 'web',
          channel_detail: 'sample_ticket',
          subject: 'Sample ticket: Meet the ticket',
          priority: 'normal',
          status: 'open',
          tags: ['sample', 'support', 'zendesk'],
          created_at: '2026-03-01T09:00:00.000Z',
          first_response_at: null,
          first_response_minutes: null,
          first_response_business_minutes: null,
          solved_at: null,
          csat_score: null,
          csat_scale: null,
          csat_comment: null,
          csat_rated_at: null,
        },
      ]);

      expect(
        await count(
          `SELECT count(*) AS n FROM (SELECT source, external_id FROM tickets GROUP BY 1, 2 HAVING count(*) > 1) d`,
        ),
      ).toBe(0);
      expect(await count(`SELECT count(*) AS n FROM tickets WHERE external_id = '99999'`)).toBe(0);
      expect(
        (
          await query<Row>(
            `SELECT external_id, first_response_minutes, first_response_business_minutes, solved_at, csat_score,
                    csat_scale, csat_comment, csat_rated_at
             FROM pending_ticket_updates WHERE source = 'zendesk'`,
          )
        ).map(plain),
      ).toEqual([
        {
          external_id: '99999',
          first_response_minutes: 240,
          first_response_business_minutes: 60,
          solved_at: '2026-02-10T12:00:00.000Z',
          csat_score: 1,
          csat_scale: 'good_bad',
          csat_comment: null,
          csat_rated_at: '2026-02-11T09:00:00.000Z',
        },
      ]);
    });
  });

  describe('uploads and requests the API refuses or reshapes', () => {
    it('takes a gzip upload, merges a repeated id (the later row wins) and takes a JSON mapping', async () => {
      const csv =
        'Contact ID,Company ID,Email\ngz-1,acc_1,one@gz.test\ngz-2,acc_3,two@gz.test\ngz-1,acc_3,uno@gz.test\n';
      const imp = await runImport(
        'contacts',
        zlib.gzipSync(csv),
        { mapping: JSON.stringify({ external_id: 'Contact ID', account_external_id: 'Company ID' }) },
        undefined,
        { 'content-encoding': 'gzip' },
      );
      expect(imp).toMatchObject({
        status: 'succeeded',
        received: 3,
        inserted: 2,
        updated: 0,
        duplicates: 1,
        rejected: 0,
      });
      expect(
        await query(
          `SELECT c.external_id, c.email, a.external_id AS account
           FROM contacts c LEFT JOIN accounts a ON a.id = c.account_id
           WHERE c.external_id LIKE 'gz-%' ORDER BY c.external_id`,
        ),
      ).toEqual([
        { external_id: 'gz-1', email: 'uno@gz.test', account: 'acc_3' },
        { external_id: 'gz-2', email: 'two@gz.test', account: 'acc_3' },
      ]);
    });

    it('links a ticket to the account and contact that arrive after it', async () => {
      const { body } = await postJson(
        [
          {
            external_id: 'L-1',
            channel: 'email',
            created_at: '2026-03-01T10:00:00Z',
            account_external_id: 'acc_future',
            contact_external_id: 'con_future',
          },
        ],
        'later',
      );
      expect(body).toMatchObject({ inserted: 1, rejected: 0 });
      const linked = () =>
        query(
          `SELECT a.external_id AS account, c.external_id AS contact FROM tickets t
           LEFT JOIN accounts a ON a.id = t.account_id LEFT JOIN contacts c ON c.id = t.contact_id
           WHERE t.source = 'later'`,
        );
      expect(await linked()).toEqual([{ account: null, contact: null }]);
      await runImport('accounts', 'external_id,name\nacc_future,Future Co\n');
      expect(await linked()).toEqual([{ account: 'acc_future', contact: null }]);
      await runImport('contacts', 'external_id,account_external_id\ncon_future,acc_future\n');
      expect(await linked()).toEqual([{ account: 'acc_future', contact: 'con_future' }]);
    });

    it('answers 400 for an unknown kind, a format the kind does not take or a bad source, 404 for no import', async () => {
      const post = (route: string, query: Record<string, string> = {}) =>
        api(url(route, query), { method: 'POST', body: 'external_id,name\nx,y\n' });
      const widgets = await post('/api/imports/widgets');
      expect(widgets.status).toBe(400);
      expect(await widgets.json()).toMatchObject({
        error: { code: 'VALIDATION_FAILED', message: 'kind: must be one of accounts, contacts, tickets' },
      });
      const zendeskAccounts = await post('/api/imports/accounts', { format: 'zendesk' });
      expect(zendeskAccounts.status).toBe(400);
      expect(await zendeskAccounts.json()).toMatchObject({
        error: { code: 'VALIDATION_FAILED', message: 'format: accounts can be imported as csv, ndjson' },
      });
      expect((await post('/api/imports/tickets', { source: 'no spaces' })).status).toBe(400);
      const missing = await api(url('/api/imports/987654'));
      expect(missing.status).toBe(404);
      expect(await missing.json()).toEqual({
        error: { code: 'NOT_FOUND', message: 'Import 987654 does not exist' },
      });
    });

    it('answers 413 to a POST /api/tickets body over 10 MB, pointing at the import route', async () => {
      const res = await api(url('/api/tickets'), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `[${' '.repeat(10 * 1024 * 1024)}]`,
      });
      expect(res.status).toBe(413);
      expect(await res.json()).toMatchObject({
        error: { code: 'PAYLOAD_TOO_LARGE', message: expect.stringContaining('POST /api/imports/tickets') },
      });
    });
  });

  describe('a large file', () => {
    it('goes through the asynchronous path with monotonic progress and exact counts', async () => {
      const ROWS = 30_000;
      const BAD = new Set([9_999, 19_999, 29_999]);
      const lines = [
        'external_id,account_external_id,channel,created_at,first_response_at,csat_score,csat_comment',
      ];
      for (let i = 0; i < ROWS; i++) {
        const id = `bulk-${String(i).padStart(5, '0')}`;
        const minute = String(i % 60).padStart(2, '0');
        lines.push(
          `${id},acc_${i % 7},${BAD.has(i) ? 'pigeon' : 'email'},2026-01-01T10:00:00Z,2026-01-01T10:${minute}:00Z,` +
            `${(i % 5) + 1},"Row ${i} of the bulk file, padded to make it a few megabytes in all"`,
        );
      }
      const csv = `${lines.join('\n')}\n`;
      expect(Buffer.byteLength(csv)).toBeGreaterThan(3_000_000);

      const progress: number[] = [];
      const imp = await runImport('tickets', csv, { source: 'bulk' }, (seen) => {
        if (seen.status === 'running' || seen.status === 'succeeded') progress.push(seen.progress);
      });
      expect(imp).toMatchObject({
        status: 'succeeded',
        progress: 100,
        received: ROWS,
        inserted: ROWS - BAD.size,
        updated: 0,
        duplicates: 0,
        rejected: BAD.size,
        bytesTotal: Buffer.byteLength(csv),
        bytesDone: Buffer.byteLength(csv),
      });
      for (const p of progress) {
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThanOrEqual(100);
      }
      expect(progress).toEqual([...progress].sort((a, b) => a - b));
      expect(progress.at(-1)).toBe(100);

      expect(await count(`SELECT count(*) AS n FROM tickets WHERE source = 'bulk'`)).toBe(ROWS - BAD.size);
      expect(
        await count(
          `SELECT count(*) AS n FROM tickets WHERE source = 'bulk' AND first_response_minutes = (
             substring(external_id from 6)::int % 60)`,
        ),
      ).toBe(ROWS - BAD.size);
      expect((await rejectedOf(imp.id)).map((r) => [r.line, r.itemId])).toEqual(
        [...BAD].map((i) => [i + 2, `bulk-${String(i).padStart(5, '0')}`]),
      );
    });
  });
});
