import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { IngestResponseSchema, type CreatedSource, type IngestResponse } from '@retain/contracts';
import { adminFetch } from '../../support/auth.js';
import { createSource, postIngest, sleep, startRetain, track } from '../../support/ingest-client.js';
import { freePort, type RetainProcess } from '../../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

const BATCH_SIZE = 200;
/** Streaming time before the kill. */
const KILL_AFTER_MS = 1_500;
/** Batches the client still sends once the new server acknowledged one. */
const BATCHES_AFTER_RESTART = 20;
const BACKOFF_MS = 100;

const messageId = (batch: number, i: number) =>
  `crash-${String(batch).padStart(5, '0')}-${String(i).padStart(3, '0')}`;

interface BatchLog {
  batch: number;
  attempts: number;
  /** Why each attempt before the last one failed. */
  failures: string[];
  answer: IngestResponse;
  /** Acknowledged after the restart. */
  afterRestart: boolean;
}

describe('kill -9 while a client streams batches with retries', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let port: number;
  let source: CreatedSource;

  beforeAll(async () => {
    db = await createTestDatabase('ingest_crash');
    port = await freePort();
    retain = await startRetain(db, { port });
    source = await createSource(await adminFetch(db.url), retain.baseUrl, 'crash');
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  it('keeps every acknowledged event exactly once, and nothing that was not sent', async () => {
    const baseUrl = retain.baseUrl;
    const logs: BatchLog[] = [];
    let restarted = false;
    let acknowledgedAfterRestart = 0;
    let killExit: number | null | undefined;
    let stop = false;

    /** Sends one batch until it gets a 200; retries network errors, 429 and 5xx. */
    async function deliver(batch: number): Promise<BatchLog> {
      const body = {
        batch: Array.from({ length: BATCH_SIZE }, (_, i) =>
          track(messageId(batch, i), { properties: { batch, i } }),
        ),
      };
      const failures: string[] = [];
      for (;;) {
        try {
          const res = await postIngest(baseUrl, '/v1/batch', {
            key: source.writeKey,
            body,
            timeoutMs: 10_000,
          });
          if (res.status === 200) {
            return {
              batch,
              attempts: failures.length + 1,
              failures,
              answer: IngestResponseSchema.parse(res.body),
              afterRestart: restarted,
            };
          }
          if (res.status !== 429 && res.status < 500)
            throw new Error(`batch ${batch}: unexpected ${res.status} ${JSON.stringify(res.body)}`);
          failures.push(`HTTP ${res.status}`);
        } catch (error) {
          if (String(error).includes('unexpected')) throw error;
          failures.push(String((error as Error).cause ?? error));
        }
        await sleep(BACKOFF_MS);
      }
    }

    const client = (async () => {
      for (let batch = 0; !stop; batch++) {
        const log = await deliver(batch);
        logs.push(log);
        if (log.afterRestart && ++acknowledgedAfterRestart >= BATCHES_AFTER_RESTART) stop = true;
      }
    })();

    const crash = (async () => {
      await sleep(KILL_AFTER_MS);
      killExit = await retain.stop('SIGKILL');
      retain = await startRetain(db, { port });
      restarted = true;
    })();

    await Promise.all([client, crash]);

    // The server was killed (no exit code: a signal) mid-stream, and came back on the same port.
    expect(killExit).toBeNull();
    const before = logs.filter((l) => !l.afterRestart);
    expect(before.length).toBeGreaterThan(0);
    expect(logs.filter((l) => l.afterRestart).length).toBe(BATCHES_AFTER_RESTART);
    const retried = logs.filter((l) => l.attempts > 1);
    expect(retried.length).toBeGreaterThan(0);

    // Every answer adds up and refuses nothing; a retry answers 'duplicates' for what it had stored.
    for (const { answer, batch } of logs) {
      expect({ batch, ...answer, sum: answer.accepted + answer.duplicates }).toEqual({
        batch,
        received: BATCH_SIZE,
        accepted: answer.accepted,
        duplicates: answer.duplicates,
        rejected: 0,
        errors: [],
        sum: BATCH_SIZE,
      });
    }
    // Only the batch in flight at the kill can have been stored before its 200.
    expect(logs.filter((l) => l.answer.duplicates > 0).map((l) => l.batch)).toEqual(
      retried.filter((l) => l.answer.duplicates > 0).map((l) => l.batch),
    );
    expect(logs.filter((l) => l.answer.duplicates > 0).length).toBeLessThanOrEqual(1);

    const sent = logs.flatMap((l) => Array.from({ length: BATCH_SIZE }, (_, i) => messageId(l.batch, i)));
    const [counts] = await db.query<{
      total: string;
      distinct_ids: string;
      outside: string;
      missing: string;
    }>(
      `WITH sent AS (SELECT unnest($1::text[]) AS message_id)
       SELECT (SELECT count(*) FROM events) AS total,
              (SELECT count(DISTINCT message_id) FROM events) AS distinct_ids,
              (SELECT count(*) FROM events e WHERE NOT EXISTS (SELECT 1 FROM sent s WHERE s.message_id = e.message_id)) AS outside,
              (SELECT count(*) FROM sent s WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.message_id = s.message_id)) AS missing`,
      [sent],
    );
    expect(counts).toEqual({
      total: String(sent.length),
      distinct_ids: String(sent.length),
      outside: '0',
      missing: '0',
    });

    // The retried batches are stored once each, with their own content.
    for (const { batch } of retried) {
      const rows = await db.query<{ n: string; first: string; last: string }>(
        `SELECT count(*) AS n, min((properties->>'i')::int) AS first, max((properties->>'i')::int) AS last
         FROM events WHERE message_id LIKE $1 AND (properties->>'batch')::int = $2`,
        [`crash-${String(batch).padStart(5, '0')}-%`, batch],
      );
      expect(rows).toEqual([{ n: String(BATCH_SIZE), first: 0, last: BATCH_SIZE - 1 }]);
    }
    expect(await db.query(`SELECT count(*)::int AS n FROM rejected_items`)).toEqual([{ n: 0 }]);
  });
});
