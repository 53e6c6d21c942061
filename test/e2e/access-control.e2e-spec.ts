import fs from 'node:fs';
import { METHODS } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ErrorBodySchema, ROLES, type Role } from '@retain/contracts';
import { createApp } from '../../apps/api/src/app.factory.js';
import { loadConfig } from '../../apps/api/src/config/config.js';
import { prepareDatabase } from '../../apps/api/src/database/prepare-database.js';
import { createApiToken } from '../support/auth.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/**
 * Who may call what, stated here on its own (by role, not from the permission map the API uses),
 * for every route the API serves. A route the API gains without a line here fails this suite, so
 * a new route cannot ship without someone deciding who may call it.
 */
type Access = 'public' | 'write-key' | readonly Role[];

const EVERYONE = ['admin', 'cs_manager', 'account_manager', 'marketing', 'viewer'] as const;
const ADMINS = ['admin'] as const;
/** Account managers work their own accounts; campaigns are not theirs to see. */
const CAMPAIGN_READERS = ['admin', 'cs_manager', 'marketing', 'viewer'] as const;
const CAMPAIGN_WRITERS = ['admin', 'marketing'] as const;
const SEGMENT_WRITERS = ['admin', 'cs_manager', 'marketing'] as const;
/** Viewers and marketing never take account lists out of Retain. */
const ACCOUNT_EXPORTERS = ['admin', 'cs_manager', 'account_manager'] as const;
/** Every account's scores at once: not for account managers, who see only their own accounts. */
const SCORE_EXPORTERS = ['admin', 'cs_manager'] as const;
const ANALYTICS_RUNNERS = ['admin', 'cs_manager'] as const;
/** How accounts are segmented is the CS managers' call. */
const THRESHOLD_EDITORS = ['admin', 'cs_manager'] as const;

const ACCESS: Record<string, Access> = {
  'GET /api/health': 'public',
  'POST /api/auth/login': 'public',
  'POST /api/auth/logout': EVERYONE,
  'GET /api/auth/session': EVERYONE,

  // The API's own documentation, served beside it.
  'GET /api/openapi.json': 'public',
  'GET /api/docs-yaml': 'public',
  'GET /api/docs': 'public',
  'GET /api/docs/': 'public',
  'GET /api/docs/index.html': 'public',
  'GET /api/docs/swagger-ui-init.js': 'public',
  'GET /api/docs/docs/swagger-ui-init.js': 'public',
  'GET /api/docs/LICENSE': 'public',

  'POST /v1/batch': 'write-key',
  'POST /v1/import': 'write-key',
  'POST /v1/track': 'write-key',
  'POST /v1/page': 'write-key',
  'POST /v1/screen': 'write-key',
  'POST /v1/identify': 'write-key',
  'POST /v1/group': 'write-key',
  'POST /v1/alias': 'write-key',

  'GET /api/users': ADMINS,
  'POST /api/users': ADMINS,
  'PATCH /api/users/:id': ADMINS,
  'POST /api/users/:id/password': ADMINS,
  'GET /api/tokens': ADMINS,
  'POST /api/tokens': ADMINS,
  'DELETE /api/tokens/:id': ADMINS,
  'GET /api/audit-log': ADMINS,

  'GET /api/sources': ADMINS,
  'POST /api/sources': ADMINS,
  'DELETE /api/sources/:id': ADMINS,
  'POST /api/tickets': ADMINS,
  'GET /api/imports': ADMINS,
  'POST /api/imports/:kind': ADMINS,
  'GET /api/imports/:id': ADMINS,
  'GET /api/rejected-items': ADMINS,

  'POST /api/jobs/analytics/run': ANALYTICS_RUNNERS,
  'GET /api/settings/thresholds': EVERYONE,
  'PUT /api/settings/thresholds': THRESHOLD_EDITORS,
  'GET /api/jobs/analytics/runs': EVERYONE,
  'GET /api/jobs/analytics/runs/:id': EVERYONE,

  'GET /api/overview': EVERYONE,
  'GET /api/trends': EVERYONE,
  'GET /api/movements': EVERYONE,
  'GET /api/metrics/support': EVERYONE,
  'GET /api/support/matrix': EVERYONE,
  'GET /api/support/trends': EVERYONE,
  'GET /api/support/comments': EVERYONE,
  'GET /api/segment-summary/:key': EVERYONE,
  'GET /api/scores/export': SCORE_EXPORTERS,

  'GET /api/accounts': EVERYONE,
  'GET /api/accounts/export.csv': ACCOUNT_EXPORTERS,
  'GET /api/accounts/:id': EVERYONE,
  'GET /api/accounts/:id/activity': EVERYONE,
  'GET /api/accounts/:id/tickets': EVERYONE,
  'GET /api/owners': EVERYONE,

  'GET /api/segments': EVERYONE,
  'GET /api/segments/fields': EVERYONE,
  'GET /api/segments/:id': EVERYONE,
  'GET /api/segments/:id/members': EVERYONE,
  'POST /api/segments': SEGMENT_WRITERS,
  'POST /api/segments/preview': SEGMENT_WRITERS,
  'PATCH /api/segments/:id': SEGMENT_WRITERS,
  'DELETE /api/segments/:id': SEGMENT_WRITERS,

  'GET /api/campaigns': CAMPAIGN_READERS,
  'GET /api/campaigns/fields': CAMPAIGN_READERS,
  'GET /api/campaigns/goal-events': CAMPAIGN_READERS,
  'GET /api/campaigns/:id': CAMPAIGN_READERS,
  'GET /api/campaigns/:id/members': CAMPAIGN_READERS,
  'GET /api/campaigns/:id/audience-history': CAMPAIGN_READERS,
  'GET /api/campaigns/:id/deliveries': CAMPAIGN_READERS,
  'GET /api/campaigns/:id/outcome': CAMPAIGN_READERS,
  'POST /api/campaigns': CAMPAIGN_WRITERS,
  'POST /api/campaigns/preview': CAMPAIGN_WRITERS,
  'POST /api/campaigns/:id/stop': CAMPAIGN_WRITERS,
  'POST /api/campaigns/:id/refresh': CAMPAIGN_WRITERS,
  'POST /api/campaigns/:id/webhook-secret': CAMPAIGN_WRITERS,
  'GET /api/campaigns/:id/export.csv': CAMPAIGN_WRITERS,
};

/**
 * Path parameters that name nothing in the (empty) database, so an allowed call changes nothing;
 * a parameter not listed gets the unknown id, never one of the test's own tokens or users.
 */
const PARAMS: Record<string, string> = { id: '999999', key: 'smb-novice', kind: 'accounts' };

/**
 * Requests that would do real work with an empty body get an invalid one, so allowed callers get
 * 400 and nothing runs: an analytics run, or an upload in a format that does not exist.
 */
const PROBES: Record<string, { query?: string; body?: string }> = {
  'POST /api/jobs/analytics/run': { body: JSON.stringify({ full: 'not a boolean' }) },
  'POST /api/imports/:kind': { query: '?format=no-such-format' },
};

const NO_CREDENTIALS = {
  error: { code: 'UNAUTHORIZED', message: 'Sign in, or send Authorization: Bearer TOKEN' },
};
const NO_WRITE_KEY = {
  error: {
    code: 'UNAUTHORIZED',
    message:
      'Missing write key: send it as the Basic-auth username, an X-Write-Key header or writeKey in the body',
  },
};

/** What an error body must never show: a stack frame, a source path or SQL. */
const LEAK = /\n\s+at |node_modules|\.ts:\d+|\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET|WHERE)\b/;

interface RouteLayer {
  rawPath?: unknown;
  route?: { path: string; methods: Record<string, boolean | undefined> };
  handle?: { stack?: RouteLayer[] };
}

interface RouteTable {
  /** "METHOD /path" for every route that answers named methods. */
  routes: string[];
  /** Paths of routes that answer every method: the framework's not-found answers. */
  catchAlls: string[];
}

const EVERY_METHOD = METHODS.map((m) => m.toLowerCase());

/** The routes Express itself dispatches to, mounted routers included. */
function routeTable(app: NestExpressApplication): RouteTable {
  const express = app.getHttpAdapter().getInstance() as unknown as { router: { stack: RouteLayer[] } };
  const table: RouteTable = { routes: [], catchAlls: [] };
  const walk = (stack: RouteLayer[], mount: string): void => {
    for (const layer of stack) {
      if (layer.route) {
        const full = `${mount}/${layer.route.path}`.replace(/\/{2,}/g, '/');
        const methods = Object.keys(layer.route.methods).filter((m) => layer.route!.methods[m]);
        if (methods.includes('_all') || EVERY_METHOD.every((m) => methods.includes(m)))
          table.catchAlls.push(full);
        else for (const method of methods) table.routes.push(`${method.toUpperCase()} ${full}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack, `${mount}${typeof layer.rawPath === 'string' ? layer.rawPath : ''}`);
      }
    }
  };
  walk(express.router.stack, '');
  return table;
}

interface Answer {
  status: number;
  body: unknown;
  text: string;
}

// Building the app compiles the API's sources; a loaded machine needs the time.
jest.setTimeout(60_000);

describe('access control on every route of the API', () => {
  let db: TestDatabase;
  let dataDir: string;
  let app: NestExpressApplication;
  let baseUrl: string;
  let table: RouteTable;
  const tokens = {} as Record<Role, string>;

  const call = async (
    route: string,
    headers: Record<string, string> = {},
    override: { query?: string; body?: string } = {},
  ): Promise<Answer> => {
    const [method, pattern] = route.split(' ') as [string, string];
    const probe = { ...PROBES[route], ...override };
    const url =
      pattern.replace(/:(\w+)/g, (_, name: string) => PARAMS[name] ?? PARAMS.id!) + (probe.query ?? '');
    const hasBody = method !== 'GET' && method !== 'DELETE';
    const res = await fetch(`${baseUrl}${url}`, {
      method,
      redirect: 'manual',
      headers: hasBody ? { 'content-type': 'application/json', ...headers } : headers,
      body: hasBody ? (probe.body ?? '{}') : undefined,
    });
    const text = await res.text();
    let body: unknown = null;
    try {
      body = JSON.parse(text);
    } catch {
      // CSV and HTML answers
    }
    return { status: res.status, body, text };
  };

  const bearer = (role: Role) => ({ authorization: `Bearer ${tokens[role]}` });

  beforeAll(async () => {
    db = await createTestDatabase('access_control');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-access-'));
    await prepareDatabase(db.url);
    const config = loadConfig({
      DATABASE_URL: db.url,
      DATA_DIR: dataDir,
      DEMO_DATA: 'false',
      LOG_LEVEL: 'error',
      ANALYTICS_CRON: '0 3 1 1 *',
    });
    app = await createApp(config, { version: 'test', databaseUrl: db.url, embeddedDatabase: false });
    await app.listen(0, '127.0.0.1');
    baseUrl = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    table = routeTable(app);
    for (const role of ROLES)
      tokens[role] = await createApiToken(
        db.url,
        role,
        role === 'account_manager' ? 'owner@example.com' : null,
      );
  });
  afterAll(async () => {
    await app?.close();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('states a policy for every role there is', () => {
    expect([...EVERYONE].sort()).toEqual([...ROLES].sort());
  });

  it('lists in the access table exactly the routes the app serves', () => {
    const served = new Set(table.routes);
    expect(served.size).toBeGreaterThan(50);
    expect({
      servedButNotInTable: [...served].filter((route) => !(route in ACCESS)).sort(),
      inTableButNotServed: Object.keys(ACCESS)
        .filter((route) => !served.has(route))
        .sort(),
    }).toEqual({ servedButNotInTable: [], inTableButNotServed: [] });
  });

  it('answers 401 with the documented body to calls without credentials, except on public routes', async () => {
    const wrong: { route: string; status: number; body: unknown }[] = [];
    for (const route of table.routes) {
      const access = ACCESS[route];
      const answer = await call(route);
      if (access === 'public') {
        if (answer.status === 401 || answer.status === 403 || answer.status >= 500)
          wrong.push({ route, status: answer.status, body: answer.body });
      } else {
        const expected = access === 'write-key' ? NO_WRITE_KEY : NO_CREDENTIALS;
        if (answer.status !== 401 || JSON.stringify(answer.body) !== JSON.stringify(expected))
          wrong.push({ route, status: answer.status, body: answer.body });
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers 403 FORBIDDEN to each role the table leaves out, and lets each listed role through', async () => {
    const wrong: { route: string; role: Role; status: number; body: unknown }[] = [];
    for (const route of table.routes) {
      const access = ACCESS[route];
      if (access === undefined || access === 'public' || access === 'write-key') continue;
      for (const role of ROLES) {
        const answer = await call(route, bearer(role));
        const allowed = access.includes(role);
        const refused = ErrorBodySchema.safeParse(answer.body);
        const ok = allowed
          ? answer.status !== 401 && answer.status !== 403
          : answer.status === 403 &&
            refused.success &&
            refused.data.error.code === 'FORBIDDEN' &&
            (refused.data.error.details as { role?: unknown } | undefined)?.role === role;
        if (!ok) wrong.push({ route, role, status: answer.status, body: answer.body });
      }
    }
    expect(wrong).toEqual([]);
  });

  it('answers every call a role may make without a server error: bad input is a 400, a missing id a 404', async () => {
    const failed: { route: string; role: Role; status: number; body: unknown }[] = [];
    for (const route of table.routes) {
      const access = ACCESS[route];
      if (access === undefined || access === 'public' || access === 'write-key') continue;
      for (const role of access) {
        const answer = await call(route, bearer(role));
        if (answer.status >= 500) failed.push({ route, role, status: answer.status, body: answer.body });
      }
    }
    expect(failed).toEqual([]);
  });

  it('never takes an API token for a write key on /v1, however it is sent', async () => {
    const token = tokens.admin;
    const ingest = table.routes.filter((route) => ACCESS[route] === 'write-key');
    expect(ingest.length).toBeGreaterThan(0);
    const answers: { route: string; as: string; status: number; code: unknown }[] = [];
    const ways: Record<string, [Record<string, string>, string?]> = {
      bearer: [{ authorization: `Bearer ${token}` }],
      'X-Write-Key': [{ 'x-write-key': token }],
      'Basic auth': [{ authorization: `Basic ${Buffer.from(`${token}:`).toString('base64')}` }],
      'writeKey in the body': [{}, JSON.stringify({ writeKey: token, batch: [] })],
    };
    for (const route of ingest)
      for (const [as, [headers, body]] of Object.entries(ways)) {
        const answer = await call(route, headers, { body });
        answers.push({
          route,
          as,
          status: answer.status,
          code: (answer.body as { error?: { code?: unknown } } | null)?.error?.code,
        });
      }
    expect(answers.filter((a) => a.status !== 401 || a.code !== 'UNAUTHORIZED')).toEqual([]);
  });

  it('answers 404 on paths no route serves, under every catch-all, with or without credentials', async () => {
    expect(table.catchAlls.length).toBeGreaterThan(0);
    const wrong: { url: string; status: number; body: unknown }[] = [];
    for (const pattern of table.catchAlls) {
      const url = pattern.replace(/\{?\*\w+\}?/, 'no-such-route');
      for (const headers of [{}, bearer('admin')]) {
        const res = await fetch(`${baseUrl}${url}`, { method: 'POST', headers, redirect: 'manual' });
        const body: unknown = await res.json().catch(() => null);
        if (res.status !== 404 || JSON.stringify(body) !== JSON.stringify(notFound('POST', url)))
          wrong.push({ url, status: res.status, body });
      }
    }
    expect(wrong).toEqual([]);
  });

  it('never shows a stack trace or SQL in an error body, to anyone', async () => {
    const leaks: { route: string; who: string; text: string }[] = [];
    const callers: [string, Record<string, string>][] = [
      ['nobody', {}],
      ...ROLES.map((role): [string, Record<string, string>] => [role, bearer(role)]),
    ];
    for (const route of table.routes)
      for (const [who, headers] of callers) {
        const answer = await call(route, headers, { body: '{"broken json' });
        if (
          answer.status >= 400 &&
          (LEAK.test(answer.text) || !ErrorBodySchema.safeParse(answer.body).success)
        )
          leaks.push({ route, who, text: answer.text.slice(0, 300) });
      }
    expect(leaks).toEqual([]);
  });
});

const notFound = (method: string, url: string) => ({
  error: { code: 'NOT_FOUND', message: `Cannot ${method} ${url}` },
});
