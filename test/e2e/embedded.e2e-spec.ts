import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { createApiClient } from '../../apps/web/src/lib/api/client.js';
import { freePort, runRetain, waitUntilUp } from '../support/retain-process.js';

describe('Retain with no DATABASE_URL (the newcomer default)', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-embedded-'));
  // Readable by the "postgres" OS user that runs the server when the tests run as root.
  fs.chmodSync(dataDir, 0o755);
  afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('starts its own PostgreSQL under DATA_DIR, loads demo data, stops it cleanly and restarts without re-seeding', async () => {
    const env = {
      DATABASE_URL: undefined,
      DEMO_DATA: undefined,
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      DEMO_ACCOUNTS: '30',
      DEMO_DAYS: '10',
    };
    const first = runRetain(env, await freePort());
    try {
      await waitUntilUp(first);
      const health = await createApiClient(fetch, first.baseUrl).health();
      expect(health.status).toBe('ok');
      expect(health.database.embedded).toBe(true);
      expect(first.output()).toMatch(/Demo data loaded: 30 accounts, \d+ contacts, \d+ events, \d+ tickets/);
      expect(fs.existsSync(path.join(dataDir, 'pg/PG_VERSION'))).toBe(true);
      // The install's own password, readable by its owner only; the old shared one is refused.
      const passwordFile = path.join(dataDir, 'pg-password');
      expect(fs.statSync(passwordFile).mode & 0o777).toBe(0o600);
      const password = fs.readFileSync(passwordFile, 'utf8').trim();
      expect(password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      const connect = async (secret: string) => {
        const client = new pg.Client({
          connectionString: `postgres://postgres:${secret}@127.0.0.1:${env.EMBEDDED_PG_PORT}/retain`,
        });
        client.on('error', () => undefined);
        try {
          await client.connect();
          return (await client.query<{ ok: number }>('SELECT 1 AS ok')).rows[0]!.ok;
        } catch (error) {
          return (error as Error).message;
        } finally {
          await client.end().catch(() => undefined);
        }
      };
      expect(await connect(password)).toBe(1);
      expect(await connect('retain-embedded')).toMatch(/password authentication failed/);
      expect(
        fs.readFileSync(path.join(dataDir, 'demo/ground-truth.csv'), 'utf8').trim().split('\n'),
      ).toHaveLength(31);
    } finally {
      expect(await first.stop()).toBe(0);
    }
    expect(fs.existsSync(path.join(dataDir, 'pg/postmaster.pid'))).toBe(false);

    const second = runRetain(env, await freePort());
    try {
      await waitUntilUp(second);
      expect(second.output()).toContain('demo data not loaded');
      expect(second.output()).not.toContain('Demo data loaded');
    } finally {
      expect(await second.stop()).toBe(0);
    }
  }, 180_000);
});
