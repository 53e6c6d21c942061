import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ErrorBodySchema, HealthResponseSchema } from '@retain/contracts';
import { MIGRATIONS } from '../../apps/api/src/database/data-source.js';
import { createApiClient } from '../../apps/web/src/lib/api/client.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';

const DEMO = { DEMO_ACCOUNTS: '40', DEMO_DAYS: '20' };
const count = async (db: TestDatabase, table: string) =>
  Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);

describe('Retain server on a PostgreSQL named by DATABASE_URL', () => {
  let db: TestDatabase;
  let retain: RetainProcess;

  beforeAll(async () => {
    db = await createTestDatabase('server');
    retain = runRetain({ DATABASE_URL: db.url, DEMO_DATA: 'true', ...DEMO }, await freePort());
    await waitUntilUp(retain);
  });
  afterAll(async () => {
    await retain?.stop();
    await db.drop();
  });

  it('answers /api/health with database and DuckDB status, through the client the dashboard uses', async () => {
    const health = await createApiClient(fetch, retain.baseUrl).health();
    expect(health).toMatchObject({
      status: 'ok',
      database: { status: 'up', embedded: false },
      duckdb: { status: 'up' },
    });
    expect(health.duckdb.version).toMatch(/^v\d+\.\d+/);
  });

  it('migrated and filled the empty database with the demo data it was asked for', async () => {
    expect(await count(db, 'migrations')).toBe(MIGRATIONS.length);
    expect(await count(db, 'accounts')).toBe(40);
    expect(await count(db, 'events')).toBeGreaterThan(40 * 20 * 3);
    expect(await count(db, 'tickets')).toBeGreaterThan(0);
  });

  it('describes every route in an OpenAPI document, with Swagger UI served locally', async () => {
    const doc = (await (await fetch(`${retain.baseUrl}/api/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
      components: { schemas: Record<string, unknown> };
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toContain('/api/health');
    expect(doc.components.schemas).toHaveProperty('HealthResponse');
    const docs = await fetch(`${retain.baseUrl}/api/docs`);
    expect(docs.status).toBe(200);
    const html = await docs.text();
    expect(html).toContain('swagger-ui');
    expect(html).not.toMatch(/https?:\/\/(?!127\.0\.0\.1|localhost)[^"']*\.(js|css)/);
  });

  it('answers unknown API routes with the documented error body', async () => {
    const res = await fetch(`${retain.baseUrl}/api/no-such-route`);
    expect(res.status).toBe(404);
    expect(ErrorBodySchema.parse(await res.json())).toEqual({
      error: { code: 'NOT_FOUND', message: 'Cannot GET /api/no-such-route' },
    });
  });

  it('serves the dashboard at / and for client-side routes, never over /api', async () => {
    for (const page of ['/', '/accounts/acc_000001']) {
      const res = await fetch(`${retain.baseUrl}${page}`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(200);
      expect(await res.text()).toContain('<title>Retain</title>');
    }
    const api = await fetch(`${retain.baseUrl}/api/health`, { headers: { accept: 'text/html' } });
    expect(HealthResponseSchema.safeParse(await api.json()).success).toBe(true);
  });

  it('sends security headers on every answer, and the dashboard allows only its own scripts', async () => {
    for (const path of ['/', '/api/health', '/api/no-such-route', '/v1/batch']) {
      const res = await fetch(`${retain.baseUrl}${path}`, { headers: { accept: 'text/html' } });
      expect({
        path,
        csp: res.headers.get('content-security-policy'),
        frame: res.headers.get('x-frame-options'),
        sniff: res.headers.get('x-content-type-options'),
        referrer: res.headers.get('referrer-policy'),
      }).toEqual({
        path,
        csp: "frame-ancestors 'none'; object-src 'none'; base-uri 'self'",
        frame: 'DENY',
        sniff: 'nosniff',
        referrer: 'same-origin',
      });
    }
    const html = await (await fetch(`${retain.baseUrl}/`, { headers: { accept: 'text/html' } })).text();
    const meta = /<meta http-equiv="content-security-policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(meta).toMatch(/default-src 'self'/);
    expect(meta).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'(;|$)/);
    expect(meta).not.toMatch(/script-src[^;]*unsafe-inline/);
  });

  it('restarts without re-seeding or failing', async () => {
    const fingerprint = async () =>
      (
        await db.query<{ f: string }>(
          `SELECT md5(string_agg(message_id, ',' ORDER BY message_id)) AS f FROM events`,
        )
      )[0]!.f;
    const before = await fingerprint();
    expect(await retain.stop()).toBe(0);
    retain = runRetain({ DATABASE_URL: db.url, DEMO_DATA: 'true', ...DEMO }, await freePort());
    await waitUntilUp(retain);
    expect(retain.output()).toContain('demo data not loaded');
    expect(await fingerprint()).toBe(before);
    expect(await count(db, 'migrations')).toBe(MIGRATIONS.length);
  });
});

describe('Retain server start-up rules', () => {
  it('never fills a server named by DATABASE_URL with demo data unless asked', async () => {
    const db = await createTestDatabase('no_demo');
    const retain = runRetain({ DATABASE_URL: db.url, DEMO_DATA: undefined, ...DEMO }, await freePort());
    try {
      await waitUntilUp(retain);
      expect(await count(db, 'migrations')).toBe(MIGRATIONS.length);
      expect(await count(db, 'accounts')).toBe(0);
      expect(await count(db, 'events')).toBe(0);
    } finally {
      await retain.stop();
      await db.drop();
    }
  });

  it('stops with a message naming every bad variable', async () => {
    const retain = runRetain({ PORT: 'abc', DATABASE_URL: 'mysql://nope', DEMO_DAYS: '0' }, 0);
    expect(await retain.exited).toBe(1);
    expect(retain.output()).toContain('Invalid configuration:');
    expect(retain.output()).toContain('PORT: expected a port number (got "abc")');
    expect(retain.output()).toContain(
      'DATABASE_URL: expected a postgres:// or postgresql:// URL (got "mysql://nope")',
    );
    expect(retain.output()).toContain('DEMO_DAYS: expected a number above 0 (got "0")');
  });
});
