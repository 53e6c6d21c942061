import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { ImportSchema, IngestResponseSchema, type Import } from '@retain/contracts';
import pg from 'pg';
import { REPO_ROOT, freePort, runRetain, waitUntilUp } from '../../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';

const CLI = path.join(REPO_ROOT, 'apps/api/dist/cli/main.js');
const ZENDESK_FIXTURES = path.join(REPO_ROOT, 'apps/api/src/imports/__fixtures__/zendesk');

interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

type Row = Record<string, unknown>;

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

// Starting the server and each CLI run take a second or more; a loaded machine needs more.
jest.setTimeout(30_000);

describe('retain import CLI', () => {
  let db: TestDatabase;
  let dataDir: string;
  let files: string;
  // Our own client, closed before the drop (see imports-api.e2e-spec.ts).
  let sql: pg.Client;
  const query = async <T extends pg.QueryResultRow = Row>(text: string, params?: unknown[]) =>
    (await sql.query<T>(text, params)).rows;

  const env = () => ({
    DATABASE_URL: db.url,
    DATA_DIR: dataDir,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
  });

  /** Runs the built CLI as `npm run cli` would, on the test database. */
  const cli = (...args: string[]): Promise<CliRun> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...env() },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr: stripVTControlCharacters(stderr) });
      });
    });

  /** The import summary: the JSON alone on the last stdout line. */
  const summary = (run: CliRun): Import => ImportSchema.parse(JSON.parse(lastLine(run.stdout)));

  const file = (name: string, content: string): string => {
    const target = path.join(files, name);
    fs.writeFileSync(target, content);
    return target;
  };

  beforeAll(async () => {
    db = await createTestDatabase('imports_cli');
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-imports-cli-'));
    files = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-imports-cli-files-'));
  });
  afterAll(async () => {
    await sql?.end();
    await db?.drop();
    for (const dir of [dataDir, files]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('import:accounts keeps the good rows, reports the bad one with its line on stderr, and exits 0', async () => {
    const csv = file(
      'accounts.csv',
      [
        'external_id,name,plan,mrr,seats,tier',
        'acc_1,Acme Corp,pro,1200.50,10,gold',
        'acc_2,Bad Money Ltd,pro,lots,5,silver',
        'acc_3,"Globex, Inc.",enterprise,2500,40,7',
        '',
      ].join('\n'),
    );
    const run = await cli('import:accounts', csv);
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    expect(run.stderr).toContain('rejected line 3 (acc_2): mrr: "lots" is not a number');
    expect(run.stderr).toContain(
      'accounts.csv: succeeded. read 3, inserted 2, updated 0, duplicates 0, pending 0, rejected 1',
    );
    expect(summary(run)).toMatchObject({
      kind: 'accounts',
      format: 'csv',
      fileName: 'accounts.csv',
      status: 'succeeded',
      progress: 100,
      received: 3,
      inserted: 2,
      updated: 0,
      rejected: 1,
      error: null,
    });
    // Only the summary is on stdout.
    expect(run.stdout.trimEnd().split('\n')).toHaveLength(1);
    expect(
      await query(
        `SELECT external_id, name, plan, mrr::float8 AS mrr, seats, traits FROM accounts ORDER BY external_id`,
      ),
    ).toEqual([
      {
        external_id: 'acc_1',
        name: 'Acme Corp',
        plan: 'pro',
        mrr: 1200.5,
        seats: 10,
        traits: { tier: 'gold' },
      },
      {
        external_id: 'acc_3',
        name: 'Globex, Inc.',
        plan: 'enterprise',
        mrr: 2500,
        seats: 40,
        traits: { tier: 7 },
      },
    ]);
    expect(
      await query(`SELECT line, item_id, code, message FROM rejected_items WHERE import_id = $1`, [
        summary(run).id,
      ]),
    ).toEqual([{ line: 3, item_id: 'acc_2', code: 'INVALID_FIELD', message: 'mrr: "lots" is not a number' }]);

    const again = await cli('import:accounts', csv);
    expect(again.code).toBe(0);
    expect(summary(again)).toMatchObject({ received: 3, inserted: 0, updated: 2, rejected: 1 });
  });

  it('exits 1 with the message when required columns are missing, writing nothing', async () => {
    const before = await query<{ n: string }>(`SELECT count(*) AS n FROM accounts`);
    const run = await cli('import:accounts', file('no-name.csv', 'external_id,company\nacc_9,Nope\n'));
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('Missing required column(s): name. Columns found: external_id, company.');
    expect(run.stdout.trim()).toBe('');
    expect(await query<{ n: string }>(`SELECT count(*) AS n FROM accounts`)).toEqual(before);
    expect(await query(`SELECT status, error FROM imports WHERE file_name = 'no-name.csv'`)).toEqual([
      { status: 'failed', error: expect.stringContaining('Missing required column(s): name.') },
    ]);
  });

  it('exits 1 when the file cannot be read', async () => {
    const missing = path.join(files, 'does-not-exist.csv');
    const run = await cli('import:accounts', missing);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`Cannot read ${missing}`);
    expect(run.stdout.trim()).toBe('');
  });

  it('--map and --mapping read another export’s headers', async () => {
    const csv = file(
      'crm.csv',
      'Account ID,Company,Plan\ncrm-1,Hooli,enterprise\ncrm-2,Pied Piper,starter\n',
    );
    const run = await cli('import:accounts', csv, '--map', 'external_id=Account ID', '--map', 'name=Company');
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    expect(summary(run)).toMatchObject({ status: 'succeeded', received: 2, inserted: 2, rejected: 0 });
    expect(
      await query(`SELECT external_id, name, plan FROM accounts WHERE external_id LIKE 'crm-%' ORDER BY 1`),
    ).toEqual([
      { external_id: 'crm-1', name: 'Hooli', plan: 'enterprise' },
      { external_id: 'crm-2', name: 'Pied Piper', plan: 'starter' },
    ]);

    const json = file('crm-2.csv', 'Account ID,Company\ncrm-3,Raviga\n');
    const mapped = await cli(
      'import:accounts',
      json,
      '--mapping',
      JSON.stringify({ external_id: 'Account ID', name: 'Company' }),
    );
    expect({ code: mapped.code, stderr: mapped.stderr }).toMatchObject({ code: 0 });
    expect(summary(mapped)).toMatchObject({ received: 1, inserted: 1 });
    expect(await query(`SELECT name FROM accounts WHERE external_id = 'crm-3'`)).toEqual([
      { name: 'Raviga' },
    ]);
  });

  it('import:contacts links contacts to the imported accounts', async () => {
    const csv = file(
      'contacts.csv',
      'external_id,account_external_id,email\nc_1,acc_1,ann@acme.test\nc_2,acc_1,nope\n',
    );
    const run = await cli('import:contacts', csv);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('rejected line 3 (c_2): email: "nope" is not an email address');
    expect(summary(run)).toMatchObject({ kind: 'contacts', received: 2, inserted: 1, rejected: 1 });
    expect(
      await query(
        `SELECT c.external_id, a.external_id AS account FROM contacts c JOIN accounts a ON a.id = c.account_id`,
      ),
    ).toEqual([{ external_id: 'c_1', account: 'acc_1' }]);
  });

  it('import:tickets --format zendesk takes the fixtures, metrics and ratings before their tickets', async () => {
    const zendesk = async (name: string) => {
      const run = await cli('import:tickets', path.join(ZENDESK_FIXTURES, name), '--format', 'zendesk');
      expect({ name, code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
      return summary(run);
    };
    expect(await zendesk('ticket-metrics.json')).toMatchObject({
      format: 'zendesk',
      source: 'zendesk',
      received: 2,
      inserted: 0,
      pending: 2,
    });
    expect(await zendesk('satisfaction-ratings.json')).toMatchObject({
      received: 3,
      inserted: 0,
      pending: 3,
    });
    expect(await zendesk('tickets-page.json')).toMatchObject({ received: 3, inserted: 3, rejected: 0 });
    expect(await zendesk('incremental-tickets.json')).toMatchObject({
      received: 6,
      inserted: 3,
      updated: 3,
      pending: 0,
      rejected: 0,
    });
    expect(
      await query(
        `SELECT external_id, first_response_minutes, first_response_business_minutes, csat_score, csat_scale
         FROM tickets WHERE source = 'zendesk' ORDER BY external_id`,
      ),
    ).toEqual(
      [
        ['35436', 12, 12, 1, 'good_bad'],
        ['35437', 95, 35, 0, 'good_bad'],
        ['35438', null, null, null, null],
        ['35439', null, null, null, null],
        ['35440', null, null, null, null],
        ['35441', null, null, null, null],
      ].map(([external_id, frm, frbm, csat_score, csat_scale]) => ({
        external_id,
        first_response_minutes: frm,
        first_response_business_minutes: frbm,
        csat_score,
        csat_scale,
      })),
    );
    expect(await query(`SELECT external_id FROM pending_ticket_updates WHERE source = 'zendesk'`)).toEqual([
      { external_id: '99999' },
    ]);
  });

  it('import:tickets reads a CSV under --source', async () => {
    const csv = file(
      'tickets.csv',
      [
        'external_id,account_external_id,channel,created_at,first_response_at,csat_score',
        't-1,acc_1,email,2026-03-01T10:00:00Z,2026-03-01T10:20:00Z,4',
        't-2,acc_1,pigeon,2026-03-01T10:00:00Z,,',
      ].join('\n'),
    );
    const run = await cli('import:tickets', csv, '--source', 'helpdesk');
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('rejected line 3 (t-2): channel: "pigeon" is not a known channel');
    expect(summary(run)).toMatchObject({ source: 'helpdesk', received: 2, inserted: 1, rejected: 1 });
    expect(
      await query(
        `SELECT t.external_id, a.external_id AS account, t.first_response_minutes, t.csat_score, t.csat_scale
         FROM tickets t LEFT JOIN accounts a ON a.id = t.account_id WHERE t.source = 'helpdesk'`,
      ),
    ).toEqual([
      {
        external_id: 't-1',
        account: 'acc_1',
        first_response_minutes: 20,
        csat_score: 4,
        csat_scale: 'five_point',
      },
    ]);
  });

  it('source:create prints a write key alone on the last line, and the key works on /v1/track', async () => {
    const run = await cli('source:create', 'web app');
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    const key = lastLine(run.stdout);
    expect(key).toMatch(/^rk_[A-Za-z0-9_-]{32}$/);
    expect(run.stderr).not.toContain(key);
    const stored = await query<{ id: number; name: string }>(
      `SELECT id, name FROM sources WHERE write_key_hash = encode(sha256($1::bytea), 'hex')`,
      [key],
    );
    expect(stored).toEqual([{ id: expect.any(Number), name: 'web app' }]);

    const retain = runRetain(env(), await freePort());
    try {
      await waitUntilUp(retain);
      const track = (writeKey: string, messageId: string) =>
        fetch(`${retain.baseUrl}/v1/track`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-write-key': writeKey },
          body: JSON.stringify({
            messageId,
            userId: 'c_1',
            event: 'Signed Up',
            timestamp: '2026-03-01T10:00:00Z',
          }),
        });
      const res = await track(key, 'cli-key-1');
      const text = await res.text();
      expect({ status: res.status, text }).toMatchObject({ status: 200 });
      expect(IngestResponseSchema.parse(JSON.parse(text))).toMatchObject({
        received: 1,
        accepted: 1,
        rejected: 0,
      });
      expect(
        await query(`SELECT source_id, name, user_id FROM events WHERE message_id = 'cli-key-1'`),
      ).toEqual([{ source_id: stored[0]!.id, name: 'Signed Up', user_id: 'c_1' }]);
      expect((await track(`rk_${'A'.repeat(32)}`, 'cli-key-2')).status).toBe(401);
    } finally {
      await retain.stop();
    }
  });
});
