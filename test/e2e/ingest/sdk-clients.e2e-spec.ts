import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CreatedSource } from '@retain/contracts';
import { adminFetch } from '../../support/auth.js';
import {
  basicAuth,
  countRows,
  createSource,
  errorBody,
  ingestResponse,
  postIngest,
  startRetain,
  storedMessageIds,
  type KeyPlacement,
} from '../../support/ingest-client.js';
import type { RetainProcess } from '../../support/retain-process.js';
import {
  NO_MESSAGE_ID,
  rudder,
  segment2,
  segmentCurrent,
  type Call,
  type SdkDriver,
  type SdkRun,
} from '../../support/sdk-drivers.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

const TRACKS = 5;

/** identify, group, TRACKS tracks, a page and a screen for one user of one account. */
function script(tag: string): Call[] {
  const userId = `${tag}-user`;
  return [
    {
      type: 'identify',
      userId,
      traits: { email: `${tag}@example.com`, name: `Ada ${tag}`, title: 'CTO' },
    },
    {
      type: 'group',
      userId,
      groupId: `${tag}-acct`,
      traits: { name: `Acme ${tag}`, plan: 'enterprise', mrr: 1499.5, industry: 'fintech' },
    },
    ...Array.from({ length: TRACKS }, (_, i): Call => ({
      type: 'track',
      userId,
      event: i % 2 ? 'Report Exported' : 'Dashboard Viewed',
      properties: { i, format: 'csv', rows: i * 10, tags: ['a', 'b'], nested: { ok: true, ratio: i / 4 } },
    })),
    {
      type: 'page',
      userId,
      name: 'Pricing',
      category: 'Docs',
      properties: { path: '/pricing', referrer: 'https://example.com/' },
    },
    { type: 'screen', userId, name: 'Dashboard', properties: { tab: 'health' } },
  ];
}

interface EventRow {
  message_id: string;
  source_id: number;
  account_id: string | null;
  contact_id: string | null;
  user_id: string | null;
  anonymous_id: string | null;
  type: string;
  name: string;
  properties: Record<string, unknown>;
}

describe('Segment and RudderStack SDKs sending to /v1', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let api: typeof fetch;

  beforeAll(async () => {
    db = await createTestDatabase('ingest_sdk');
    retain = await startRetain(db);
    api = await adminFetch(db.url);
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  const drivers: [string, SdkDriver, string][] = [
    ['segment-current', segmentCurrent, 'seg3'],
    ['segment-2.x', segment2, 'seg2'],
    ['rudder', rudder, 'rudder'],
  ];

  describe.each(drivers)('%s', (_name, sdk, tag) => {
    let source: CreatedSource;
    let run: SdkRun;

    beforeAll(async () => {
      source = await createSource(api, retain.baseUrl, `sdk ${sdk.label}`);
      run = await sdk.send(retain.baseUrl, source.writeKey, script(tag));
    });

    it('delivers every call without an error', () => {
      expect(run.errors).toEqual([]);
      expect(run.messageIds).toHaveLength(TRACKS + 4);
      expect(run.messageIds).not.toContain(NO_MESSAGE_ID);
    });

    it('stores the events exactly: types, names, properties, user, account and contact', async () => {
      const events = await db.query<EventRow>(
        `SELECT message_id, source_id, account_id, contact_id, user_id, anonymous_id, type, name, properties
         FROM events WHERE source_id = $1 ORDER BY type, (properties->>'i')::int NULLS LAST`,
        [source.id],
      );
      const [account] = await db.query<{ id: string }>(`SELECT id FROM accounts WHERE external_id = $1`, [
        `${tag}-acct`,
      ]);
      const [contact] = await db.query<{ id: string }>(`SELECT id FROM contacts WHERE external_id = $1`, [
        `${tag}-user`,
      ]);
      expect(account).toBeDefined();
      expect(contact).toBeDefined();

      const byType = events.reduce<Record<string, number>>(
        (n, e) => ({ ...n, [e.type]: (n[e.type] ?? 0) + 1 }),
        {},
      );
      expect(byType).toEqual({ track: TRACKS, page: 1, screen: 1 });
      const common = {
        source_id: source.id,
        account_id: account!.id,
        contact_id: contact!.id,
        user_id: `${tag}-user`,
        anonymous_id: null,
      };
      expect(events.map(({ message_id: _m, ...e }) => e)).toEqual([
        {
          ...common,
          type: 'page',
          name: 'Pricing',
          properties: { path: '/pricing', referrer: 'https://example.com/', category: 'Docs' },
        },
        { ...common, type: 'screen', name: 'Dashboard', properties: { tab: 'health' } },
        ...Array.from({ length: TRACKS }, (_, i) => ({
          ...common,
          type: 'track',
          name: i % 2 ? 'Report Exported' : 'Dashboard Viewed',
          properties: {
            i,
            format: 'csv',
            rows: i * 10,
            tags: ['a', 'b'],
            nested: { ok: true, ratio: i / 4 },
          },
        })),
      ]);
      // Every event the SDK reported sending is stored under the messageId it generated.
      const stored = events.map((e) => e.message_id);
      expect(run.messageIds).toEqual(expect.arrayContaining(stored));
      expect(new Set(stored).size).toBe(stored.length);
    });

    it('creates the account from group traits and the contact from identify traits, linked', async () => {
      const [account] = await db.query(
        `SELECT id, external_id, name, plan, mrr::text AS mrr, traits FROM accounts WHERE external_id = $1`,
        [`${tag}-acct`],
      );
      expect(account).toMatchObject({
        external_id: `${tag}-acct`,
        name: `Acme ${tag}`,
        plan: 'enterprise',
        mrr: '1499.50',
        traits: { industry: 'fintech' },
      });
      const contacts = await db.query(
        `SELECT external_id, account_id, email, name, traits FROM contacts WHERE external_id = $1`,
        [`${tag}-user`],
      );
      expect(contacts).toEqual([
        {
          external_id: `${tag}-user`,
          account_id: account!.id,
          email: `${tag}@example.com`,
          name: `Ada ${tag}`,
          traits: { email: `${tag}@example.com`, name: `Ada ${tag}`, title: 'CTO' },
        },
      ]);
    });

    it('refuses nothing', async () => {
      expect(await countRows(db, `SELECT 1 FROM rejected_items WHERE source_id = $1`, [source.id])).toBe(0);
    });
  });

  it('the SDKs cover every key placement: Basic auth + body (3.x), body only (2.x)', async () => {
    const source = await createSource(api, retain.baseUrl, 'placement');
    const current = await segmentCurrent.send(retain.baseUrl, source.writeKey, script('place3').slice(0, 1));
    const old = await segment2.send(retain.baseUrl, source.writeKey, script('place2').slice(0, 1));
    expect(current.requests[0]!.headers.Authorization).toBe(basicAuth(source.writeKey));
    expect(JSON.parse(current.requests[0]!.body)).toMatchObject({ writeKey: source.writeKey });
    expect(Object.keys(old.requests[0]!.headers).map((h) => h.toLowerCase())).not.toContain('authorization');
    expect(JSON.parse(old.requests[0]!.body)).toMatchObject({ writeKey: source.writeKey });
    // Rudder sends Basic auth only (read from its code: axios `auth: { username: writeKey }`).
    expect([...current.errors, ...old.errors]).toEqual([]);
  });

  describe('an unknown write key', () => {
    it.each(drivers)('makes %s fail every delivery with 401 and stores nothing', async (_name, sdk, tag) => {
      const before = await countRows(db, `SELECT 1 FROM rejected_items`);
      const calls = script(`${tag}-unknown`);
      const run = await sdk.send(retain.baseUrl, 'rk_this_key_does_not_exist', calls);
      expect(run.errors).toHaveLength(calls.length);
      for (const error of run.errors) expect(error).toMatch(/401|Unauthorized/);
      if (sdk === segmentCurrent) expect(new Set(run.statuses)).toEqual(new Set([401]));
      expect(await countRows(db, `SELECT 1 FROM events WHERE user_id = $1`, [`${tag}-unknown-user`])).toBe(0);
      expect(
        await countRows(db, `SELECT 1 FROM contacts WHERE external_id = $1`, [`${tag}-unknown-user`]),
      ).toBe(0);
      expect(
        await countRows(db, `SELECT 1 FROM accounts WHERE external_id = $1`, [`${tag}-unknown-acct`]),
      ).toBe(0);
      expect(await countRows(db, `SELECT 1 FROM rejected_items`)).toBe(before);
    });
  });

  describe('raw HTTP answers without a valid key', () => {
    const MISSING = {
      error: {
        code: 'UNAUTHORIZED',
        message:
          'Missing write key: send it as the Basic-auth username, an X-Write-Key header or writeKey in the body',
      },
    };
    const UNKNOWN = { error: { code: 'UNAUTHORIZED', message: 'Unknown or revoked write key' } };
    const batch = (id: string) => ({
      batch: [{ type: 'track', event: 'Nope', userId: 'raw-user', messageId: id }],
    });

    it('answers 401 with the documented body when no key is sent', async () => {
      const res = await postIngest(retain.baseUrl, '/v1/batch', { via: 'none', body: batch('raw-missing') });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      expect(errorBody(res)).toEqual(MISSING);
    });

    it.each([
      ['an empty Basic-auth username', { authorization: basicAuth('') }],
      ['a blank X-Write-Key', { 'x-write-key': '   ' }],
      ['a Bearer token instead of Basic', { authorization: 'Bearer rk_whatever' }],
    ])('answers 401 "missing" for %s', async (_what, headers) => {
      const res = await postIngest(retain.baseUrl, '/v1/batch', {
        via: 'none',
        body: batch('raw-blank'),
        headers,
      });
      expect(res.status).toBe(401);
      expect(errorBody(res)).toEqual(MISSING);
    });

    it.each<[KeyPlacement]>([['basic'], ['header'], ['body']])(
      'answers 401 "unknown" for an unknown key sent via %s',
      async (via) => {
        const res = await postIngest(retain.baseUrl, '/v1/batch', {
          key: 'rk_unknown_raw_key',
          via,
          body: batch(`raw-unknown-${via}`),
        });
        expect(res.status).toBe(401);
        expect(errorBody(res)).toEqual(UNKNOWN);
      },
    );

    it.each([['/v1/track'], ['/v1/identify'], ['/v1/import']])('answers 401 on %s too', async (path) => {
      const res = await postIngest(retain.baseUrl, path, {
        key: 'rk_unknown_raw_key',
        body: { event: 'Nope', userId: 'raw-user', batch: [] },
      });
      expect(res.status).toBe(401);
      expect(errorBody(res)).toEqual(UNKNOWN);
    });

    it('stored none of them', async () => {
      expect(await countRows(db, `SELECT 1 FROM events WHERE user_id = 'raw-user'`)).toBe(0);
      expect(await countRows(db, `SELECT 1 FROM events WHERE message_id LIKE 'raw-%'`)).toBe(0);
    });
  });

  describe('a revoked source', () => {
    it('gets 401 for every key placement and from an SDK once DELETE /api/sources/:id revoked it', async () => {
      const source = await createSource(api, retain.baseUrl, 'to revoke');
      const body = (id: string) => ({
        batch: [{ type: 'track', event: 'Before', userId: 'revoked-user', messageId: id }],
      });
      expect(
        ingestResponse(
          await postIngest(retain.baseUrl, '/v1/batch', { key: source.writeKey, body: body('rv-0') }),
        ),
      ).toMatchObject({ accepted: 1 });

      const revoked = await api(`${retain.baseUrl}/api/sources/${source.id}`, { method: 'DELETE' });
      expect(revoked.status).toBe(200);
      expect(await revoked.json()).toMatchObject({ id: source.id, revokedAt: expect.any(String) });

      for (const via of ['basic', 'header', 'body'] as const) {
        const res = await postIngest(retain.baseUrl, '/v1/batch', {
          key: source.writeKey,
          via,
          body: body(`rv-${via}`),
        });
        expect({ via, status: res.status, body: res.body }).toEqual({
          via,
          status: 401,
          body: { error: { code: 'UNAUTHORIZED', message: 'Unknown or revoked write key' } },
        });
      }
      const run = await segmentCurrent.send(retain.baseUrl, source.writeKey, script('revoked').slice(2, 3));
      expect(run.statuses).toEqual([401]);
      expect(run.errors).toHaveLength(1);
      expect(await storedMessageIds(db, `source_id = $1`, [source.id])).toEqual(['rv-0']);
    });
  });
});
