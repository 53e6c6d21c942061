import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
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
