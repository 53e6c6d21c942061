import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { AnalyticsRunSchema } from '@retain/contracts';
import { REPO_ROOT } from '../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

jest.setTimeout(180_000);

const CLI = path.join(REPO_ROOT, 'apps/api/dist/cli/main.js');

describe('kill -9 during an analytics run', () => {
  let db: TestDatabase;
  let dataDir: string;

  const cli = (args: string[]): ChildProcess =>
    spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, DATABASE_URL: db.url, DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const finish = (child: ChildProcess): Promise<{ code: number | null; stdout: string }> =>
    new Promise((resolve) => {
      let stdout = '';
      child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr?.resume();
      child.once('exit', (code) => resolve({ code, stdout }));
    });
  const scores = () =>
    db.query<{ f: string }>(
      `SELECT md5(string_agg(account_id || ':' || segment || ':' || coalesce(churn_risk::text, '-') || ':' || run_id,
                             ',' ORDER BY account_id)) AS f FROM account_scores`,
    );

  beforeAll(async () => {
    db = await createTestDatabase('analytics_crash');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-an-crash-'));
    expect((await finish(cli(['demo:generate', '--accounts', '400', '--days', '150']))).code).toBe(0);
  });
  afterAll(async () => {
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps serving the previous results, and the next run completes', async () => {
    const first = await finish(cli(['analytics:run']));
    expect(first.code).toBe(0);
    const firstRun = AnalyticsRunSchema.parse(JSON.parse(first.stdout.trim().split('\n').at(-1)!));
    const before = await scores();

    // A full rebuild, killed once it is past the extract (DuckDB and the model at work).
    const victim = cli(['analytics:run', '--full']);
    const ended = finish(victim);
    let killedAt: number | null = null;
    const deadline = Date.now() + 60_000;
    while (killedAt === null && Date.now() < deadline) {
      const [running] = await db.query<{ id: string; progress: number }>(
        `SELECT id, progress FROM analytics_runs WHERE status = 'running' ORDER BY id DESC LIMIT 1`,
      );
      if (running && running.progress >= 45) {
        victim.kill('SIGKILL');
        killedAt = running.progress;
      } else await new Promise((r) => setTimeout(r, 20));
    }
    expect(killedAt).not.toBeNull();
    expect((await ended).code).toBeNull();

    // What readers see did not change.
    expect(await scores()).toEqual(before);
    const [abandoned] = await db.query<{ status: string }>(
      `SELECT status FROM analytics_runs ORDER BY id DESC LIMIT 1`,
    );
    expect(abandoned!.status).toBe('running');

    const next = await finish(cli(['analytics:run']));
    expect(next.code).toBe(0);
    const run = AnalyticsRunSchema.parse(JSON.parse(next.stdout.trim().split('\n').at(-1)!));
    expect(run.status).toBe('succeeded');
    expect(run.id).toBeGreaterThan(firstRun.id + 1);
    const statuses = await db.query<{ id: string; status: string }>(
      `SELECT id, status FROM analytics_runs ORDER BY id`,
    );
    expect(statuses.map((s) => s.status)).toEqual(['succeeded', 'failed', 'succeeded']);
    const [{ n }] = (await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM account_scores WHERE run_id = $1`,
      [run.id],
    )) as [{ n: number }];
    expect(n).toBe(400);
  });
});
