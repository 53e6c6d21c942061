import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { HealthResponseSchema, type CreatedSource } from '@retain/contracts';
import { adminFetch } from '../../support/auth.js';
import {
  createSource,
  ingestResponse,
  postIngest,
  sleep,
  startRetain,
  storedMessageIds,
  track,
  type IngestAnswer,
} from '../../support/ingest-client.js';
import type { RetainProcess } from '../../support/retain-process.js';
import { postgresTarget, startTcpProxy, throughProxy, type TcpProxy } from '../../support/tcp-proxy.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

const UNAVAILABLE = {
  error: { code: 'DATABASE_UNAVAILABLE', message: 'The database is unavailable; retry shortly' },
};

/** Time for the server to see its idle connections closed after the proxy cut them. */
const SETTLE_MS = 200;

const ids = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(3, '0')}`);

/** Resolves true if the process exits within `ms`. */
const exitsWithin = (retain: RetainProcess, ms: number) =>
  Promise.race([retain.exited.then(() => true), sleep(ms).then(() => false)]);

describe('ingest while PostgreSQL is unreachable (a TCP proxy between server and database)', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let retain: RetainProcess;
  let source: CreatedSource;

  const start = () => startRetain(db, { databaseUrl: throughProxy(db.url, proxy) });
  const post = (body: unknown) => postIngest(retain.baseUrl, '/v1/batch', { key: source.writeKey, body });
  const health = async () => {
    const res = await fetch(`${retain.baseUrl}/api/health`);
    return { status: res.status, body: HealthResponseSchema.parse(await res.json()) };
  };

  beforeAll(async () => {
    db = await createTestDatabase('ingest_outage');
    proxy = await startTcpProxy(postgresTarget(db.url));
    retain = await start();
    source = await createSource(await adminFetch(db.url), retain.baseUrl, 'outage');
  });
  afterAll(async () => {
    await retain?.stop();
    await proxy?.close();
    await db?.drop();
  });

  it('sends every server query through the proxy', async () => {
    expect(proxy.connections).toBeGreaterThan(0);
    expect((await health()).status).toBe(200);
  });

  it('503 then retry leaves exactly one row per messageId', async () => {
    const messageIds = ids('outage', 20);
    const body = {
      batch: [
        {
          type: 'identify',
          userId: 'outage-user',
          traits: { email: 'outage@example.com' },
          messageId: 'outage-id',
        },
        ...messageIds.map((id) => track(id, { userId: 'outage-user' })),
      ],
    };

    await proxy.pause();
    await sleep(SETTLE_MS);
    for (let attempt = 0; attempt < 2; attempt++) {
      const res = await post(body);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      expect(res.body).toEqual(UNAVAILABLE);
    }
    // A key the server cannot check is not called unknown: still 503, never 401.
    const unknownKey = await postIngest(retain.baseUrl, '/v1/batch', { key: 'rk_not_checkable', body });
    expect({ status: unknownKey.status, body: unknownKey.body }).toEqual({ status: 503, body: UNAVAILABLE });
    // /api/health checks the database on every call (no cache): it says so during the outage.
    const down = await health();
    expect(down.status).toBe(503);
    expect(down.body).toMatchObject({ status: 'degraded', database: { status: 'down', latencyMs: null } });
    expect(await storedMessageIds(db, `message_id LIKE 'outage-%'`)).toEqual([]);

    await proxy.resume();
    expect((await health()).status).toBe(200);
    expect(ingestResponse(await post(body))).toEqual({
      received: 21,
      accepted: 21,
      duplicates: 0,
      rejected: 0,
      errors: [],
    });
    // The client retries once more (say its answer was lost): nothing is stored twice.
    expect(ingestResponse(await post(body))).toEqual({
      received: 21,
      accepted: 1,
      duplicates: 20,
      rejected: 0,
      errors: [],
    });
    expect(await storedMessageIds(db, `message_id LIKE 'outage-%'`)).toEqual(messageIds);
    const [contact] = await db.query(`SELECT email FROM contacts WHERE external_id = 'outage-user'`);
    expect(contact).toEqual({ email: 'outage@example.com' });
  });

  it('an SDK (Segment 3.x, with retries) that sent during the outage ends with every event stored once', async () => {
    const analytics = new SegmentAnalytics({
      writeKey: source.writeKey,
      host: retain.baseUrl,
      flushAt: 30,
      flushInterval: 60_000,
      maxRetries: 5,
    });
    const statuses: number[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    const sent: string[] = [];
    const errors: unknown[] = [];

    await proxy.pause();
    await sleep(SETTLE_MS);
    const delivered = Array.from(
      { length: 30 },
      (_, i) =>
        new Promise<void>((resolve) =>
          analytics.track(
            { userId: 'sdk-outage-user', event: 'During Outage', properties: { i } },
            (err, ctx) => {
              if (err) errors.push(err);
              if (ctx?.event.messageId) sent.push(ctx.event.messageId);
              resolve();
            },
          ),
        ),
    );
    // The batch is full at 30: it is sent now, and refused while the database is away.
    for (let waited = 0; !statuses.includes(503) && waited < 10_000; waited += 50) await sleep(50);
    expect(statuses).toContain(503);
    await proxy.resume();

    await analytics.closeAndFlush({ timeout: 20_000 });
    await Promise.all(delivered);
    expect(errors).toEqual([]);
    expect(statuses.at(-1)).toBe(200);
    expect(statuses.filter((s) => s !== 503 && s !== 200)).toEqual([]);
    expect(sent).toHaveLength(30);
    const stored = await db.query<{ message_id: string; i: number }>(
      `SELECT message_id, (properties->>'i')::int AS i FROM events WHERE user_id = 'sdk-outage-user' ORDER BY 2`,
    );
    expect(stored.map((r) => r.i)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(stored.map((r) => r.message_id).sort()).toEqual([...sent].sort());
  });

  /**
   * The proxy holds the bytes of an in-flight query, then cuts the connection under it. The
   * request must answer 503 (the client retries), and a retry must store each event once.
   */
  async function cutMidQuery(body: unknown): Promise<{ cut: IngestAnswer | Error; crashed: boolean }> {
    // Warm: the key is cached and the pool holds a connection, so the first database work of the
    // next request is the write itself.
    expect(
      ingestResponse(await post({ batch: [{ type: 'identify', userId: 'warm', messageId: 'w' }] })).accepted,
    ).toBe(1);
    proxy.stall();
    const pending = post(body).catch((error: unknown) => error as Error);
    await sleep(300);
    await proxy.pause();
    const cut = await pending;
    const crashed = await exitsWithin(retain, 500);
    await proxy.resume();
    if (crashed) retain = await start();
    return { cut, crashed };
  }

  const describeCut = (cut: IngestAnswer | Error) =>
    cut instanceof Error
      ? { error: String(cut) }
      : { status: cut.status, body: cut.body, retryAfter: cut.headers.get('retry-after') };

  it('answers 503 (not 500) when the connection drops during an insert, and the retry stores it once', async () => {
    const messageIds = ids('cut-insert', 50);
    const body = { batch: messageIds.map((id) => track(id)) };
    const { cut, crashed } = await cutMidQuery(body);

    const retry = ingestResponse(await post(body));
    expect(retry.accepted + retry.duplicates).toBe(50);
    expect(await storedMessageIds(db, `message_id LIKE 'cut-insert-%'`)).toEqual(messageIds);
    expect(crashed).toBe(false);
    expect(describeCut(cut)).toEqual({ status: 503, body: UNAVAILABLE, retryAfter: '5' });
  });

  it('survives the connection dropping during an ingest transaction, answering 503', async () => {
    const messageIds = ids('cut-tx', 50);
    const body = {
      batch: [
        { type: 'identify', userId: 'cut-tx-user', traits: { name: 'Cut' }, messageId: 'cut-tx-identify' },
        ...messageIds.map((id) => track(id, { userId: 'cut-tx-user' })),
      ],
    };
    const before = retain;
    const { cut, crashed } = await cutMidQuery(body);

    const retry = ingestResponse(await post(body));
    expect(retry.accepted + retry.duplicates).toBe(51);
    expect(await storedMessageIds(db, `message_id LIKE 'cut-tx-%'`)).toEqual(messageIds);
    expect(
      crashed ? `server exited: ${before.output().split('\n').slice(-25).join('\n')}` : 'server up',
    ).toBe('server up');
    expect(describeCut(cut)).toEqual({ status: 503, body: UNAVAILABLE, retryAfter: '5' });
  });
});
