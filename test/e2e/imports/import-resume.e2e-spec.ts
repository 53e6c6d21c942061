import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { ImportSchema, type Import } from '@retain/contracts';
import { adminFetch } from '../../support/auth.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

jest.setTimeout(90_000);

const ROWS = 120_000;

/** A tickets CSV big enough to be caught mid-way: ROWS rows, ids t0..t{ROWS-1}. */
function ticketsCsv(): string {
  const lines = ['external_id,account_external_id,channel,created_at,first_response_at,csat_score'];
  for (let i = 0; i < ROWS; i++)
    lines.push(`t${i},acc${i % 300},chat,2026-01-01T10:00:00Z,2026-01-01T10:0${i % 10}:00Z,${1 + (i % 5)}`);
  return `${lines.join('\n')}\n`;
}

describe('an upload interrupted by kill -9', () => {
  let db: TestDatabase;
  let sql: pg.Client;
  let dataDir: string;
  let retain: RetainProcess | undefined;
  let api: typeof fetch;

  beforeAll(async () => {
    db = await createTestDatabase('import_resume');
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-resume-'));
  });
  afterAll(async () => {
    await retain?.stop();
    await sql.end();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async () => {
    const proc = runRetain(
      { DATABASE_URL: db.url, DEMO_DATA: 'false', LOG_LEVEL: 'warn', DATA_DIR: dataDir },
      await freePort(),
    );
    await waitUntilUp(proc);
    api = await adminFetch(db.url);
    return proc;
  };
  const getImport = async (proc: RetainProcess, id: number): Promise<Import> =>
    ImportSchema.parse(await (await api(`${proc.baseUrl}/api/imports/${id}`)).json());

  it('is resumed at the next start and ends with every row once', async () => {
    retain = await start();
    const res = await api(`${retain.baseUrl}/api/imports/tickets?fileName=big.csv`, {
      method: 'POST',
      body: ticketsCsv(),
    });
    expect(res.status).toBe(202);
    const { id } = ImportSchema.parse(await res.json());

    // Kill the server while the import is running, part of the rows written.
    for (;;) {
      const imp = await getImport(retain, id);
      expect(imp.status).not.toBe('failed');
      if (imp.status === 'succeeded')
        throw new Error('The import ended before the kill; make the file bigger');
      if (imp.status === 'running' && imp.received > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await retain.stop('SIGKILL');
    const [{ n: before }] = (await sql.query<{ n: number }>(`SELECT count(*)::int AS n FROM tickets`))
      .rows as [{ n: number }];
    expect(before).toBeLessThan(ROWS);

    retain = await start();
    let imp = await getImport(retain, id);
    const deadline = Date.now() + 60_000;
    while (imp.status !== 'succeeded' && imp.status !== 'failed' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      imp = await getImport(retain, id);
    }
    expect(imp).toMatchObject({ status: 'succeeded', progress: 100, received: ROWS, rejected: 0 });
    // The rerun counts rows written before the kill as updated, not inserted twice.
    expect(imp.inserted + imp.updated).toBe(ROWS);
    expect(imp.updated).toBeGreaterThanOrEqual(before);
    const counts = await sql.query<{ n: number; distinct_ids: number }>(
      `SELECT count(*)::int AS n, count(DISTINCT external_id)::int AS distinct_ids FROM tickets`,
    );
    expect(counts.rows[0]).toEqual({ n: ROWS, distinct_ids: ROWS });
    // The stored upload is removed once the import has ended.
    expect(fs.readdirSync(path.join(dataDir, 'imports'))).toEqual([]);
  });
});
