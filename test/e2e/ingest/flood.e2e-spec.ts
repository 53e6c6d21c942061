import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { CreatedSource } from '@retain/contracts';
import { adminFetch } from '../../support/auth.js';
import {
  countRows,
  createSource,
  postIngest,
  sleep,
  startRetain,
  track,
} from '../../support/ingest-client.js';
import type { RetainProcess } from '../../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

jest.setTimeout(240_000);

/** Senders at once: over twice what the default limits let in (8 writing + 64 waiting). */
const SENDERS = 160;
const BATCHES_PER_SENDER = 5;
const EVENTS_PER_BATCH = 200;
/** The server's resident memory may not pass this while flooded (it idles near 250 MiB). */
const RSS_BOUND_MB = 1024;

const rssMb = (pid: number): number | null => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Number(kb) / 1024 : null;
  } catch {
    return null;
  }
};

/**
 * A flood: 160 clients send 200-event batches back to back, as fast as the server answers, with
 * the default ingest limits, far above the steady 2,000 events/s of bench:soak. Past capacity the
 * server answers 429 with Retry-After; clients that honour it get every batch in. The server never
 * fails a request, never drops or doubles an event, and its memory stays bounded.
 */
describe('ingest flooded by many clients at once (default limits)', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let source: CreatedSource;

  beforeAll(async () => {
    db = await createTestDatabase('ingest_flood');
    retain = await startRetain(db);
    source = await createSource(await adminFetch(db.url), retain.baseUrl, 'flood');
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  it('answers 200 or 429 only, stores every batch exactly once after retries, and stays within its memory bound', async () => {
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let maxRss = rssMb(retain.pid) ?? 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        maxRss = Math.max(maxRss, rssMb(retain.pid) ?? 0);
        await sleep(100);
      }
    })();

    const sender = async (s: number): Promise<void> => {
      for (let b = 0; b < BATCHES_PER_SENDER; b++) {
        const batch = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => track(`flood-${s}-${b}-${i}`));
        for (let attempt = 0; ; attempt++) {
          let status: number;
          let retryAfter: string | null;
          try {
            const answer = await postIngest(retain.baseUrl, '/v1/batch', {
              key: source.writeKey,
              body: { batch },
              timeoutMs: 60_000,
            });
            status = answer.status;
            retryAfter = answer.headers.get('retry-after');
          } catch (error) {
            failures.push(`sender ${s} batch ${b}: ${(error as Error).message}`);
            return;
          }
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status === 200) break;
          if (status !== 429 || attempt > 200) {
            failures.push(`sender ${s} batch ${b}: ${status}`);
            return;
          }
          await sleep(Number(retryAfter ?? 1) * 1000 * (0.5 + Math.random()));
        }
      }
    };
    await Promise.all(Array.from({ length: SENDERS }, (_, s) => sender(s)));
    sampling = false;
    await sampler;

    expect(failures).toEqual([]);
    // Whether the queue overflows (429) depends on how fast this machine answers against how fast
    // the clients send; the limiter's refusals themselves are tested in ingest-limiter.spec.ts.
    expect([...statuses.keys()].filter((status) => status !== 200 && status !== 429)).toEqual([]);
    expect(statuses.get(200)).toBe(SENDERS * BATCHES_PER_SENDER);
    const stored = await countRows(db, `SELECT message_id FROM events WHERE source_id = $1`, [source.id]);
    const distinct = await countRows(db, `SELECT DISTINCT message_id FROM events WHERE source_id = $1`, [
      source.id,
    ]);
    expect({ stored, distinct }).toEqual({
      stored: SENDERS * BATCHES_PER_SENDER * EVENTS_PER_BATCH,
      distinct: SENDERS * BATCHES_PER_SENDER * EVENTS_PER_BATCH,
    });
    expect(maxRss).toBeGreaterThan(0);
    expect(maxRss).toBeLessThan(RSS_BOUND_MB);
    const health = await fetch(`${retain.baseUrl}/api/health`);
    expect(health.status).toBe(200);
  });
});
