import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import type { CreatedSource } from '@retain/contracts';
import { adminFetch } from '../../support/auth.js';
import {
  createSource,
  ingestResponse,
  postIngest,
  sleep,
  startRetain,
  storedMessageIds,
  track,
} from '../../support/ingest-client.js';
import type { RetainProcess } from '../../support/retain-process.js';
import { postgresTarget, startTcpProxy, throughProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

const AT_CAPACITY = {
  error: {
    code: 'TOO_MANY_REQUESTS',
    message: 'Ingest is at capacity; retry after a short pause',
    details: { retryAfterSeconds: 1 },
  },
};

const batchOf = (prefix: string) => ({
  batch: Array.from({ length: 10 }, (_, i) => track(`${prefix}-${i}`)),
});

/**
 * One request writes at a time and one waits; the proxy stalls the database so the slot and the
 * queue stay full while the test sends more.
 */
describe('ingest at capacity (INGEST_CONCURRENCY=1, INGEST_QUEUE_LIMIT=1)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let retain: RetainProcess;
  let source: CreatedSource;
  const post = (body: unknown) => postIngest(retain.baseUrl, '/v1/batch', { key: source.writeKey, body });

  beforeAll(async () => {
    db = await createTestDatabase('ingest_overload');
    proxy = await startTcpProxy(postgresTarget(db.url));
    retain = await startRetain(db, {
      databaseUrl: throughProxy(db.url, proxy),
      env: { INGEST_CONCURRENCY: '1', INGEST_QUEUE_LIMIT: '1' },
    });
    source = await createSource(await adminFetch(db.url), retain.baseUrl, 'overload');
  });
  afterAll(async () => {
    proxy?.unstall();
    await retain?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('answers 429 with Retry-After beyond the queue; retries (raw and by an SDK) store every batch once', async () => {
    // Warm: the key is cached, so only the write itself needs the database.
    expect(ingestResponse(await post(batchOf('warm'))).accepted).toBe(10);

    proxy.stall();
    const writing = post(batchOf('cap-0'));
    await sleep(200);
    const queued = post(batchOf('cap-1'));
    await sleep(200);
    for (const prefix of ['cap-2', 'cap-3']) {
      const res = await post(batchOf(prefix));
      expect({ status: res.status, retryAfter: res.headers.get('retry-after'), body: res.body }).toEqual({
        status: 429,
        retryAfter: '1',
        body: AT_CAPACITY,
      });
    }

    // Segment 3.x honours Retry-After on 429 (without counting it against maxRetries).
    const analytics = new SegmentAnalytics({
      writeKey: source.writeKey,
      host: retain.baseUrl,
      flushAt: 5,
      flushInterval: 60_000,
      maxRetries: 3,
    });
    const statuses: number[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    const errors: unknown[] = [];
    const delivered = Array.from(
      { length: 5 },
      (_, i) =>
        new Promise<void>((resolve) =>
          analytics.track(
            { userId: 'sdk-429', event: 'Busy', properties: { i }, messageId: `cap-sdk-${i}` },
            (err) => {
              if (err) errors.push(err);
              resolve();
            },
          ),
        ),
    );
    for (let waited = 0; !statuses.includes(429) && waited < 5_000; waited += 25) await sleep(25);
    expect(statuses).toEqual([429]);

    proxy.unstall();
    expect(ingestResponse(await writing)).toMatchObject({ accepted: 10, duplicates: 0 });
    expect(ingestResponse(await queued)).toMatchObject({ accepted: 10, duplicates: 0 });
    for (const prefix of ['cap-2', 'cap-3'])
      expect(ingestResponse(await post(batchOf(prefix)))).toMatchObject({ accepted: 10, duplicates: 0 });
    await analytics.closeAndFlush({ timeout: 10_000 });
    await Promise.all(delivered);
    expect(errors).toEqual([]);
    expect(statuses).toEqual([429, 200]);

    const expected = [
      ...['cap-0', 'cap-1', 'cap-2', 'cap-3'].flatMap((p) =>
        Array.from({ length: 10 }, (_, i) => `${p}-${i}`),
      ),
      ...Array.from({ length: 5 }, (_, i) => `cap-sdk-${i}`),
    ].sort();
    expect(await storedMessageIds(db, `message_id LIKE 'cap-%'`)).toEqual(expected);
  });
});
