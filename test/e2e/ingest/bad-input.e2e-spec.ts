import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { CreatedSource, ItemError, ItemErrorCode } from '@retain/contracts';
import { adminFetch } from '../../support/auth.js';
import {
  countRows,
  createSource,
  errorBody,
  ingestResponse,
  postIngest,
  startRetain,
  storedMessageIds,
  track,
} from '../../support/ingest-client.js';
import type { RetainProcess } from '../../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

interface BadInput {
  name: string;
  path?: string;
  /** A JSON value, or raw bytes when `raw`. */
  body: unknown;
  raw?: boolean;
  headers?: Record<string, string>;
  /** The write key to send; default the source's. */
  key?: string;
  status: number;
  code: string;
  /** A fragment of the error message. */
  message: string;
  /** For a 200 answer: where the refused item was. */
  item?: { index: number; messageId: string | null };
  /** messageIds of valid messages sent in the same request: stored exactly when the answer is 200. */
  siblings: string[];
}

const sibling = (name: string) => track(`sib-${name}`, { userId: 'sibling-user', event: 'Sibling' });

/** A refused item at index 0 with a valid sibling at index 1. */
function perItem(
  slug: string,
  name: string,
  item: Record<string, unknown>,
  code: ItemErrorCode,
  message: string,
): BadInput {
  const messageId = `bad-${slug}`;
  return {
    name,
    body: { batch: [{ messageId, ...item }, sibling(slug)] },
    status: 200,
    code,
    message,
    item: { index: 0, messageId },
    siblings: [`sib-${slug}`],
  };
}

/** A valid batch of `n` ~3 KB events whose JSON is over 512 KB when n = 200. */
const heavyBatch = (name: string, n: number) => ({
  batch: [
    sibling(name),
    ...Array.from({ length: n }, (_, i) =>
      track(`heavy-${name}-${i}`, { properties: { pad: 'p'.repeat(3000) } }),
    ),
  ],
});

const UNKNOWN_KEY = 'rk_unknown_bad_input_key';

const CASES: BadInput[] = [
  {
    name: 'malformed JSON',
    body: `{"batch": [${JSON.stringify(sibling('malformed'))}`,
    raw: true,
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'Body is not valid JSON',
    siblings: ['sib-malformed'],
  },
  {
    name: 'a body that is a JSON array',
    body: [sibling('array')],
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'Body must be a JSON object',
    siblings: ['sib-array'],
  },
  {
    name: 'an empty body',
    body: '',
    raw: true,
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'Body is empty',
    siblings: [],
  },
  {
    name: 'batch that is not an array',
    body: { batch: sibling('not-array') },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'batch: must be an array of messages',
    siblings: ['sib-not-array'],
  },
  perItem(
    'userId-object',
    'userId as an object',
    { type: 'track', event: 'E', userId: { id: 7 } },
    'INVALID_FIELD',
    'userId: must be a string or a number',
  ),
  perItem(
    'properties-string',
    'properties as a string',
    { type: 'track', event: 'E', userId: 'u', properties: 'plan=pro' },
    'INVALID_FIELD',
    'properties: must be an object',
  ),
  perItem(
    'event-number',
    'event as a number',
    { type: 'track', event: 42, userId: 'u' },
    'INVALID_FIELD',
    'event: must be a string',
  ),
  {
    name: 'an item that is not an object',
    body: { batch: ['track this', sibling('not-object')] },
    status: 200,
    code: 'INVALID_FIELD',
    message: 'item: must be a JSON object',
    item: { index: 0, messageId: null },
    siblings: ['sib-not-object'],
  },
  perItem(
    'no-identity',
    'neither userId nor anonymousId',
    { type: 'track', event: 'E' },
    'MISSING_IDENTITY',
    'userId or anonymousId: one is required',
  ),
  perItem(
    'identify-anonymous',
    'identify with only an anonymousId',
    { type: 'identify', anonymousId: 'anon-1', traits: { email: 'a@example.com' } },
    'MISSING_IDENTITY',
    'identify needs a userId',
  ),
  perItem(
    'ts-yesterday',
    'timestamp "yesterday"',
    { type: 'track', event: 'E', userId: 'u', timestamp: 'yesterday' },
    'INVALID_TIMESTAMP',
    'timestamp: "yesterday" is not a date or timestamp',
  ),
  perItem(
    'ts-month-13',
    'timestamp 2026-13-45T00:00:00Z',
    { type: 'track', event: 'E', userId: 'u', timestamp: '2026-13-45T00:00:00Z' },
    'INVALID_TIMESTAMP',
    'timestamp: "2026-13-45T00:00:00Z" is not a date or timestamp',
  ),
  perItem(
    'ts-future',
    'timestamp in 2099',
    { type: 'track', event: 'E', userId: 'u', timestamp: '2099-01-01T00:00:00Z' },
    'INVALID_TIMESTAMP',
    'more than a day ahead',
  ),
  perItem(
    'ts-feb-30',
    'timestamp 2026-02-30T00:00:00Z (no such day)',
    { type: 'track', event: 'E', userId: 'u', timestamp: '2026-02-30T00:00:00Z' },
    'INVALID_TIMESTAMP',
    'timestamp: "2026-02-30T00:00:00Z"',
  ),
  perItem(
    'no-event',
    'track without event',
    { type: 'track', userId: 'u' },
    'MISSING_FIELD',
    'event: required for track',
  ),
  perItem(
    'group-no-groupId',
    'group without groupId',
    { type: 'group', userId: 'u', traits: { name: 'X' } },
    'MISSING_FIELD',
    'groupId: required for group',
  ),
  perItem(
    'unknown-type',
    'an unknown type',
    { type: 'purchase', userId: 'u' },
    'UNSUPPORTED_TYPE',
    'type: "purchase" is not one of track, page, screen, identify, group, alias',
  ),
  perItem(
    'nul-in-properties',
    'a NUL character in properties',
    { type: 'track', event: 'E', userId: 'u', properties: { note: 'a\u0000b' } },
    'INVALID_FIELD',
    'properties: contains a NUL character or invalid Unicode',
  ),
  perItem(
    'negative-mrr',
    'a negative mrr in group traits',
    { type: 'group', userId: 'u', groupId: 'g-neg', traits: { mrr: -5 } },
    'INVALID_FIELD',
    'traits.mrr: must be a number of 0 or more',
  ),
  perItem(
    'oversize-event',
    'an event over 32 KB, next to a valid one',
    { type: 'track', event: 'E', userId: 'u', properties: { blob: 'x'.repeat(33 * 1024) } },
    'ITEM_TOO_LARGE',
    'KB is over the 32 KB limit per message',
  ),
  {
    name: 'a body over 512 KB',
    body: heavyBatch('413-plain', 200),
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'Request body is over 512 KB (after decompression)',
    siblings: ['sib-413-plain'],
  },
  {
    name: 'a body over 512 KB inflated, gzip-compressed to a few KB',
    body: zlib.gzipSync(JSON.stringify(heavyBatch('413-gzip', 200))),
    raw: true,
    headers: { 'content-encoding': 'gzip' },
    status: 413,
    code: 'PAYLOAD_TOO_LARGE',
    message: 'Request body is over 512 KB (after decompression)',
    siblings: ['sib-413-gzip'],
  },
  {
    name: '3,000 items',
    body: {
      batch: [sibling('3000'), ...Array.from({ length: 2999 }, (_, i) => track(`many-${i}`))],
    },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'batch: 3000 messages is over the limit of 2500 per request',
    siblings: ['sib-3000'],
  },
  {
    name: 'an unknown write key',
    key: UNKNOWN_KEY,
    body: { batch: [sibling('unknown-key')] },
    status: 401,
    code: 'UNAUTHORIZED',
    message: 'Unknown or revoked write key',
    siblings: ['sib-unknown-key'],
  },
  {
    name: 'plain JSON sent as Content-Encoding: gzip',
    body: JSON.stringify({ batch: [sibling('fake-gzip')] }),
    raw: true,
    headers: { 'content-encoding': 'gzip' },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'Body is not valid gzip data',
    siblings: ['sib-fake-gzip'],
  },
  {
    name: 'an unsupported Content-Encoding',
    body: JSON.stringify({ batch: [sibling('compress')] }),
    raw: true,
    headers: { 'content-encoding': 'compress' },
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'Content-Encoding "compress" is not supported',
    siblings: ['sib-compress'],
  },
  {
    name: '/v1/track with userId as an object',
    path: '/v1/track',
    body: { event: 'E', userId: ['u'], messageId: 'bad-single-track' },
    status: 200,
    code: 'INVALID_FIELD',
    message: 'userId: must be a string or a number',
    item: { index: 0, messageId: 'bad-single-track' },
    siblings: [],
  },
  {
    name: '/v1/identify with a JSON array body',
    path: '/v1/identify',
    body: [{ userId: 'u' }],
    status: 400,
    code: 'VALIDATION_FAILED',
    message: 'Body must be a JSON object',
    siblings: [],
  },
];

const SEED = Array.from({ length: 100 }, (_, i) => `seed-${String(i).padStart(3, '0')}`);

describe('bad input to /v1', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let source: CreatedSource;

  beforeAll(async () => {
    db = await createTestDatabase('ingest_bad_input');
    retain = await startRetain(db);
    source = await createSource(await adminFetch(db.url), retain.baseUrl, 'bad input');
    const seeded = await postIngest(retain.baseUrl, '/v1/batch', {
      key: source.writeKey,
      body: { batch: SEED.map((id, i) => track(id, { properties: { i } })) },
    });
    expect(ingestResponse(seeded)).toMatchObject({ accepted: SEED.length, rejected: 0 });
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  /** Per-item errors the API answered during the table, to find in rejected_items afterwards. */
  const answeredErrors: ItemError[] = [];

  it.each(CASES.map((c) => [c.name, `${c.status} ${c.code}`, c] as const))('%s -> %s', async (_n, _s, c) => {
    const res = await postIngest(retain.baseUrl, c.path ?? '/v1/batch', {
      key: c.key ?? source.writeKey,
      body: c.body,
      raw: c.raw,
      headers: c.headers,
    });
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({
      status: c.status,
      type: expect.stringMatching(/^application\/json/),
    });
    if (c.status === 200) {
      const answer = ingestResponse(res);
      answeredErrors.push(...answer.errors);
      expect(answer).toEqual({
        received: c.siblings.length + 1,
        accepted: c.siblings.length,
        duplicates: 0,
        rejected: 1,
        errors: [{ ...c.item, code: c.code, message: expect.stringContaining(c.message) }],
      });
    } else {
      const { error } = errorBody(res);
      expect(error.code).toBe(c.code);
      expect(error.message).toContain(c.message);
    }
  });

  describe('after the bad inputs', () => {
    const accepted = CASES.filter((c) => c.status === 200);
    const refused = CASES.filter((c) => c.status !== 200);

    it('lost nothing accepted: the earlier events and every valid sibling are stored, once', async () => {
      expect(await storedMessageIds(db, `message_id LIKE 'seed-%'`)).toEqual(SEED);
      const siblings = accepted.flatMap((c) => c.siblings).sort();
      expect(siblings.length).toBeGreaterThan(10);
      expect(await storedMessageIds(db, `message_id LIKE 'sib-%'`)).toEqual(siblings);
      expect(await countRows(db, `SELECT DISTINCT message_id FROM events`)).toBe(
        await countRows(db, `SELECT message_id FROM events`),
      );
    });

    it('stored nothing from a request refused as a whole (400, 401, 413)', async () => {
      const ids = refused.flatMap((c) => c.siblings);
      expect(ids.length).toBeGreaterThan(5);
      expect(await storedMessageIds(db, `message_id = ANY($1)`, [ids])).toEqual([]);
      expect(await countRows(db, `SELECT 1 FROM events WHERE message_id ~ '^(heavy|many)-'`)).toBe(0);
    });

    it('keeps every refused item in rejected_items, with its code, index, messageId and payload', async () => {
      const rows = await db.query<{
        kind: string;
        source_id: number;
        item_index: number;
        item_id: string | null;
        code: string;
        message: string;
        has_payload: boolean;
        payload_truncated: boolean;
      }>(
        `SELECT kind, source_id, item_index, item_id, code, message, payload IS NOT NULL AS has_payload,
                payload_truncated
         FROM rejected_items ORDER BY id`,
      );
      expect(answeredErrors.length).toBeGreaterThan(10);
      expect(rows).toEqual(
        answeredErrors.map((e) => ({
          kind: 'message',
          source_id: source.id,
          item_index: e.index,
          item_id: e.messageId,
          code: e.code,
          message: e.message,
          has_payload: true,
          payload_truncated: e.code === 'ITEM_TOO_LARGE',
        })),
      );
    });
  });

  describe('valid input near the edges', () => {
    const post = (body: unknown) =>
      postIngest(retain.baseUrl, '/v1/batch', { key: source.writeKey, body }).then(ingestResponse);

    it('accepts real dates: a leap day, an offset, a date without time', async () => {
      const answer = await post({
        batch: [
          track('edge-leap', { timestamp: '2024-02-29T12:00:00Z' }),
          track('edge-offset', { timestamp: '2026-01-05T12:00:00+02:00' }),
          track('edge-date', { timestamp: '2026-01-05' }),
        ],
      });
      expect(answer).toMatchObject({ accepted: 3, rejected: 0 });
      const rows = await db.query<{ message_id: string; ts: string }>(
        `SELECT message_id, to_char(timestamp AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS') AS ts
         FROM events WHERE message_id LIKE 'edge-%' ORDER BY message_id`,
      );
      expect(rows).toEqual([
        { message_id: 'edge-date', ts: '2026-01-05T00:00:00' },
        { message_id: 'edge-leap', ts: '2024-02-29T12:00:00' },
        { message_id: 'edge-offset', ts: '2026-01-05T10:00:00' },
      ]);
    });

    it('accepts text that merely looks like an escape: a backslash followed by u0000 is not a NUL', async () => {
      const properties = { path: 'C:\\u0000\\reports', regex: '\\ud800 is a lone surrogate' };
      const answer = await post({ batch: [track('edge-backslash', { properties })] });
      expect(answer).toEqual({ received: 1, accepted: 1, duplicates: 0, rejected: 0, errors: [] });
      expect(await db.query(`SELECT properties FROM events WHERE message_id = 'edge-backslash'`)).toEqual([
        { properties },
      ]);
    });
  });

  describe('duplicates', () => {
    const post = (path: string, body: unknown) =>
      postIngest(retain.baseUrl, path, { key: source.writeKey, body }).then(ingestResponse);

    it('counts a messageId repeated within one batch and across batches as a duplicate', async () => {
      const first = await post('/v1/batch', {
        batch: [
          track('dup-a'),
          track('dup-a'),
          track('dup-b'),
          { type: 'track', userId: 'u', messageId: 'dup-x' },
        ],
      });
      expect(first).toMatchObject({ received: 4, accepted: 2, duplicates: 1, rejected: 1 });
      const second = await post('/v1/batch', { batch: [track('dup-a'), track('dup-b'), track('dup-c')] });
      expect(second).toEqual({ received: 3, accepted: 1, duplicates: 2, rejected: 0, errors: [] });
      const single = await post('/v1/track', track('dup-c'));
      expect(single).toEqual({ received: 1, accepted: 0, duplicates: 1, rejected: 0, errors: [] });
      for (const answer of [first, second, single])
        expect(answer.accepted + answer.duplicates + answer.rejected).toBe(answer.received);
      expect(await storedMessageIds(db, `message_id LIKE 'dup-%'`)).toEqual(['dup-a', 'dup-b', 'dup-c']);
    });

    it('keeps the first copy of a duplicate: a later copy with other content changes nothing', async () => {
      await post('/v1/batch', { batch: [track('dup-keep', { properties: { v: 1 } })] });
      const again = await post('/v1/batch', { batch: [track('dup-keep', { properties: { v: 2 } })] });
      expect(again).toMatchObject({ accepted: 0, duplicates: 1 });
      expect(await db.query(`SELECT properties FROM events WHERE message_id = 'dup-keep'`)).toEqual([
        { properties: { v: 1 } },
      ]);
    });

    it('/v1/import derives a stable messageId when it is missing: the same body twice is stored once', async () => {
      const imported = (sentAt: string, row = 1) => ({
        type: 'track',
        event: 'Imported',
        userId: 'import-user',
        timestamp: '2026-01-05T10:00:00.000Z',
        sentAt,
        properties: { row },
      });
      const page = {
        type: 'page',
        name: 'Home',
        userId: 'import-user',
        timestamp: '2026-01-05T10:01:00.000Z',
      };
      expect(await post('/v1/import', { batch: [imported('2026-01-06T00:00:00Z'), page] })).toEqual({
        received: 2,
        accepted: 2,
        duplicates: 0,
        rejected: 0,
        errors: [],
      });
      // Sent again later (sentAt differs): the same messages, so duplicates.
      expect(await post('/v1/import', { batch: [imported('2026-02-01T00:00:00Z'), page] })).toEqual({
        received: 2,
        accepted: 0,
        duplicates: 2,
        rejected: 0,
        errors: [],
      });
      const rows = await db.query<{ message_id: string }>(
        `SELECT message_id FROM events WHERE user_id = 'import-user' ORDER BY timestamp`,
      );
      expect(rows).toHaveLength(2);
      for (const { message_id } of rows) expect(message_id).toMatch(/^h-[0-9a-f]{32}$/);
      // Other content is another message.
      expect(await post('/v1/import', { batch: [imported('2026-01-06T00:00:00Z', 2)] })).toMatchObject({
        accepted: 1,
        duplicates: 0,
      });
      expect(await countRows(db, `SELECT 1 FROM events WHERE user_id = 'import-user'`)).toBe(3);
    });

    it('/v1/track without a messageId generates one per request: sent twice, stored twice', async () => {
      const body = { event: 'No Id', userId: 'noid-user', properties: { same: true } };
      for (let i = 0; i < 2; i++)
        expect(await post('/v1/track', body)).toEqual({
          received: 1,
          accepted: 1,
          duplicates: 0,
          rejected: 0,
          errors: [],
        });
      const rows = await db.query<{ message_id: string }>(
        `SELECT message_id FROM events WHERE user_id = 'noid-user'`,
      );
      expect(rows).toHaveLength(2);
      expect(rows[0]!.message_id).not.toBe(rows[1]!.message_id);
      for (const { message_id } of rows) expect(message_id).toMatch(/^gen-[0-9a-f-]{36}$/);
    });
  });
});
