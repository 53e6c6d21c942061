import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import type { CreatedSource } from '@retain/contracts';
import {
  startEmbeddedPostgres,
  type EmbeddedServer,
} from '../../../apps/api/src/database/embedded-postgres.js';
import { adminFetch } from '../../support/auth.js';
import { createSource, postIngest, sleep, track } from '../../support/ingest-client.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../../support/retain-process.js';

jest.setTimeout(240_000);

const BATCHES = 60;
const EVENTS_PER_BATCH = 50;

/**
 * A real PostgreSQL server of the test's own (so stopping it disturbs no other suite), stopped
 * while a client keeps sending batches, then started again. Clients get 503 with Retry-After while
 * it is down, never another 5xx; the server does not crash; after the restart every batch is
 * stored exactly once.
 */
describe('ingest while its PostgreSQL server is stopped and started again', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-pg-stop-'));
  // Reachable by the "postgres" OS user that runs the server when the tests run as root.
  fs.chmodSync(dataDir, 0o755);
  const pgDir = path.join(dataDir, 'pg');
  let pgPort: number;
  let postgres: EmbeddedServer;
  let retain: RetainProcess;
  let source: CreatedSource;

  beforeAll(async () => {
    pgPort = await freePort();
    postgres = await startEmbeddedPostgres({ dir: pgDir, port: pgPort });
    retain = runRetain(
      { DATABASE_URL: postgres.url, DEMO_DATA: 'false', LOG_LEVEL: 'warn', DATA_DIR: dataDir },
      await freePort(),
    );
    await waitUntilUp(retain);
    source = await createSource(await adminFetch(postgres.url), retain.baseUrl, 'pg-stop');
  });
  afterAll(async () => {
    await retain?.stop();
    await postgres?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers 503 with Retry-After while PostgreSQL is down, then stores every batch exactly once', async () => {
    const statuses = new Map<number, number>();
    const failures: string[] = [];
    let acknowledged = 0;
    const sender = (async () => {
      for (let b = 0; b < BATCHES; b++) {
        const batch = Array.from({ length: EVENTS_PER_BATCH }, (_, i) => track(`stop-${b}-${i}`));
        for (let attempt = 0; ; attempt++) {
          const answer = await postIngest(retain.baseUrl, '/v1/batch', {
            key: source.writeKey,
            body: { batch },
            timeoutMs: 60_000,
          }).catch((error: Error) => error);
          if (answer instanceof Error) {
            failures.push(`batch ${b}: ${answer.message}`);
            return;
          }
          statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
          if (answer.status === 200) break;
          if ((answer.status !== 503 && answer.status !== 429) || attempt > 400) {
            failures.push(`batch ${b}: ${answer.status} ${JSON.stringify(answer.body)}`);
            return;
          }
          if (answer.headers.get('retry-after') === null)
            failures.push(`batch ${b}: ${answer.status} without Retry-After`);
          // Shorter than Retry-After, so the outage is seen several times; a client would wait longer.
          await sleep(250);
        }
        acknowledged++;
        await sleep(50);
      }
    })();

    while (acknowledged < 5) await sleep(50);
    await postgres.stop();
    const outage = Date.now() + 60_000;
    while ((statuses.get(503) ?? 0) < 3 && Date.now() < outage) await sleep(100);
    const health = await fetch(`${retain.baseUrl}/api/health`);
    expect(health.status).toBe(503);
    expect(acknowledged).toBeLessThan(BATCHES);

    postgres = await startEmbeddedPostgres({ dir: pgDir, port: pgPort });
    await sender;

    expect(failures).toEqual([]);
    expect(statuses.get(503)).toBeGreaterThanOrEqual(3);
    expect(statuses.get(200)).toBe(BATCHES);
    expect([...statuses.keys()].filter((s) => s !== 200 && s !== 503 && s !== 429)).toEqual([]);
    expect(retain.output()).not.toMatch(/Retain failed|Unhandled|uncaught/i);

    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ stored: number; distinct: number }>(
        `SELECT count(*)::int AS stored, count(DISTINCT message_id)::int AS distinct FROM events WHERE source_id = $1`,
        [source.id],
      );
      expect(rows[0]).toEqual({ stored: BATCHES * EVENTS_PER_BATCH, distinct: BATCHES * EVENTS_PER_BATCH });
    } finally {
      await client.end();
    }
    expect((await fetch(`${retain.baseUrl}/api/health`)).status).toBe(200);
  });
});
