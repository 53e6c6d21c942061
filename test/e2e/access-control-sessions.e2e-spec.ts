import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  AuditLogPageSchema,
  CreatedApiTokenSchema,
  CreatedSourceSchema,
  CreatedUserSchema,
  ErrorBodySchema,
  SessionSchema,
  UserSchema,
  type AuditAction,
  type AuditEntry,
  type CreatedUser,
  type Role,
  type Session,
} from '@retain/contracts';
import {
  REPO_ROOT,
  freePort,
  runRetain,
  waitUntilUp,
  type RetainProcess,
} from '../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

const CLI = path.join(REPO_ROOT, 'apps/api/dist/cli/main.js');
const ADMIN = { email: 'owner@retain.example', password: 'correct horse battery staple' };
const MAX_FAILURES = 3;

const UNAUTHORIZED = (message: string) => ({ error: { code: 'UNAUTHORIZED', message } });
const FORBIDDEN = (message: string) => ({ error: { code: 'FORBIDDEN', message } });
const WRONG_SIGN_IN = UNAUTHORIZED('Wrong email or password');

/** What an error body must never show: a stack frame, a source path or SQL. */
const LEAK = /\n\s+at |node_modules|\.[jt]s:\d+|\b(SELECT|INSERT|UPDATE|DELETE)\b.+\b(FROM|INTO|SET|WHERE)\b/;

const lastLine = (text: string): string => text.trimEnd().split('\n').at(-1) ?? '';

interface SignedIn {
  session: Session;
  /** The Cookie header a browser would send back. */
  cookie: string;
  setCookies: string[];
}

// The server's start and each CLI run take a second or more; a loaded machine needs more.
jest.setTimeout(30_000);

describe('signing in, sessions and API tokens on a running server', () => {
  let db: TestDatabase;
  let dataDir: string;
  let retain: RetainProcess;
  let admin: SignedIn;

  const url = (p: string) => `${retain.baseUrl}${p}`;

  const request = async (
    p: string,
    init: { method?: string; headers?: Record<string, string>; body?: unknown } = {},
  ): Promise<{ status: number; body: unknown; headers: Headers }> => {
    const res = await fetch(url(p), {
      method: init.method ?? 'GET',
      headers: {
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
  };

  const login = async (email: string, password: string) => {
    const res = await fetch(url('/api/auth/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    });
    return { status: res.status, body: (await res.json()) as unknown, headers: res.headers };
  };

  const signIn = async (email: string, password: string): Promise<SignedIn> => {
    const res = await login(email, password);
    if (res.status !== 200) throw new Error(`sign-in as ${email} answered ${res.status}`);
    const setCookies = res.headers.getSetCookie();
    const cookie = setCookies.map((c) => c.split(';')[0]).join('; ');
    return { session: SessionSchema.parse(res.body), cookie, setCookies };
  };

  /** A write made as the signed-in admin, as the dashboard makes it. */
  const asAdmin = (p: string, init: { method?: string; body?: unknown } = {}) =>
    request(p, {
      ...init,
      headers: {
        cookie: admin.cookie,
        ...(init.method && init.method !== 'GET' ? { 'x-csrf-token': admin.session.csrfToken } : {}),
      },
    });

  const createUser = async (email: string, role: Role): Promise<CreatedUser> => {
    const res = await asAdmin('/api/users', { method: 'POST', body: { email, role } });
    expect(res.status).toBe(201);
    return CreatedUserSchema.parse(res.body);
  };

  const audit = async (action: AuditAction): Promise<AuditEntry[]> => {
    const res = await asAdmin(`/api/audit-log?action=${action}&limit=500`);
    expect(res.status).toBe(200);
    return AuditLogPageSchema.parse(res.body).entries;
  };

  /** Asks until `check` holds or 10 s pass: sessions and tokens are cached up to 5 s per process. */
  const eventually = async <T>(read: () => Promise<T>, check: (value: T) => boolean): Promise<T> => {
    const deadline = Date.now() + 10_000;
    let value = await read();
    while (!check(value) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 250));
      value = await read();
    }
    return value;
  };

  /** Runs the built CLI as `npm run cli` would, on this server's database. */
  const cli = (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          DATABASE_URL: db.url,
          DATA_DIR: dataDir,
          DEMO_DATA: 'false',
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 25_000);
      child.once('error', reject);
      child.once('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });

  beforeAll(async () => {
    db = await createTestDatabase('access_sessions');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-access-sessions-'));
    retain = runRetain(
      {
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        DEMO_DATA: 'false',
        LOG_LEVEL: 'warn',
        ANALYTICS_CRON: '0 3 1 1 *',
        ADMIN_EMAIL: ADMIN.email,
        ADMIN_PASSWORD: ADMIN.password,
        LOGIN_MAX_FAILURES: String(MAX_FAILURES),
      },
      await freePort(),
    );
    await waitUntilUp(retain);
    admin = await signIn(ADMIN.email, ADMIN.password);
  }, 120_000);
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
    if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('signs the configured admin in with an HttpOnly, SameSite session cookie and a CSRF token', async () => {
    expect(admin.session).toMatchObject({ user: { email: ADMIN.email, role: 'admin' } });
    const session = admin.setCookies.find((c) => c.startsWith('retain_session='));
    const csrf = admin.setCookies.find((c) => c.startsWith('retain_csrf='));
    expect(session).toMatch(/; HttpOnly/i);
    expect(session).toMatch(/; SameSite=Lax/i);
    expect(session).toMatch(/; Path=\//i);
    // The dashboard's script reads this one to echo it; it is useless to another site.
    expect(csrf?.split(';')[0]).toBe(`retain_csrf=${admin.session.csrfToken}`);
    expect(csrf).not.toMatch(/HttpOnly/i);
    expect(csrf).toMatch(/; SameSite=Strict/i);

    const res = await request('/api/auth/session', { headers: { cookie: admin.cookie } });
    expect(res.status).toBe(200);
    expect(SessionSchema.parse(res.body)).toEqual(admin.session);
    expect(res.headers.get('cache-control')).toBe('no-store');

    const logins = await audit('login.succeeded');
    expect(logins).toContainEqual(
      expect.objectContaining({
        actor: `user:${admin.session.user.id}`,
        actorLabel: ADMIN.email,
        target: `user:${admin.session.user.id}`,
      }),
    );
  });

  it('refuses a signed-in write without the X-CSRF-Token header, or from another origin', async () => {
    const write = (headers: Record<string, string>) =>
      request('/api/sources', {
        method: 'POST',
        headers: { cookie: admin.cookie, ...headers },
        body: { name: 'web' },
      });
    const csrf = { 'x-csrf-token': admin.session.csrfToken };

    expect(await write({})).toMatchObject({
      status: 403,
      body: FORBIDDEN('Missing or wrong X-CSRF-Token header for a signed-in write'),
    });
    expect(await write({ 'x-csrf-token': 'guessed' })).toMatchObject({ status: 403 });
    expect(await write({ ...csrf, origin: 'https://evil.example' })).toMatchObject({
      status: 403,
      body: FORBIDDEN('Cross-site request refused (Origin https://evil.example)'),
    });
    expect((await write(csrf)).status).toBe(201);
    expect((await write({ ...csrf, origin: retain.baseUrl })).status).toBe(201);

    // Reads need no CSRF token, and the refused writes left nothing behind.
    const sources = await request('/api/sources', { headers: { cookie: admin.cookie } });
    expect(sources.status).toBe(200);
    expect((sources.body as { sources: unknown[] }).sources).toHaveLength(2);
  });

  it('answers a wrong password exactly as an unknown email, and records both', async () => {
    const user = await createUser('wrong.password@retain.example', 'viewer');
    const wrongPassword = await login(user.email, `${user.password}x`);
    const unknownEmail = await login('nobody@retain.example', user.password);
    expect(wrongPassword).toMatchObject({ status: 401, body: WRONG_SIGN_IN });
    expect(unknownEmail).toMatchObject({ status: 401, body: WRONG_SIGN_IN });

    const failed = await audit('login.failed');
    expect(failed).toContainEqual(
      expect.objectContaining({
        actor: 'anonymous',
        actorLabel: user.email,
        target: `user:${user.id}`,
        details: { reason: 'wrong password' },
      }),
    );
    expect(failed).toContainEqual(
      expect.objectContaining({
        actor: 'anonymous',
        actorLabel: 'nobody@retain.example',
        target: null,
        details: { reason: 'unknown email' },
      }),
    );
  });

  it(`refuses sign-in with 429 after ${MAX_FAILURES} failures, even with the right password`, async () => {
    const user = await createUser('guessed@retain.example', 'viewer');
    for (let i = 0; i < MAX_FAILURES; i++)
      expect(await login(user.email, `guess ${i}`)).toMatchObject({ status: 401, body: WRONG_SIGN_IN });
    const limited = await login(user.email, user.password);
    expect(limited.status).toBe(429);
    expect(ErrorBodySchema.parse(limited.body).error.code).toBe('TOO_MANY_REQUESTS');
    expect(limited.headers.get('set-cookie')).toBeNull();
    expect(await audit('login.limited')).toContainEqual(
      expect.objectContaining({ actor: 'anonymous', actorLabel: user.email }),
    );
    // Counted per email: the admin, from the same address, still signs in.
    expect((await login(ADMIN.email, ADMIN.password)).status).toBe(200);
  });

  it('ends the session on logout: the same cookie then gets 401', async () => {
    const user = await createUser('leaving@retain.example', 'cs_manager');
    const signedIn = await signIn(user.email, user.password);
    expect((await request('/api/overview', { headers: { cookie: signedIn.cookie } })).status).toBe(200);

    const out = await fetch(url('/api/auth/logout'), {
      method: 'POST',
      headers: { cookie: signedIn.cookie, 'x-csrf-token': signedIn.session.csrfToken },
    });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^retain_session=;/),
        expect.stringMatching(/^retain_csrf=;/),
      ]),
    );

    for (const p of ['/api/auth/session', '/api/overview'])
      expect(await request(p, { headers: { cookie: signedIn.cookie } })).toMatchObject({
        status: 401,
        body: UNAUTHORIZED('The session has ended; sign in again'),
      });
  });

  it('creates a user from the CLI whose password, alone on the last line of output, signs in', async () => {
    const run = await cli('user:create', 'cli.user@retain.example', '--role', 'marketing');
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    const password = lastLine(run.stdout);
    expect(password).toMatch(/^\S{12,}$/);

    const signedIn = await signIn('cli.user@retain.example', password);
    expect(signedIn.session.user).toMatchObject({ email: 'cli.user@retain.example', role: 'marketing' });
    expect(await audit('user.created')).toContainEqual(
      expect.objectContaining({
        actor: 'cli',
        target: `user:${signedIn.session.user.id}`,
        details: { email: 'cli.user@retain.example', role: 'marketing' },
      }),
    );
  });

  it('creates a viewer token from the CLI that reads and is refused writes', async () => {
    const run = await cli('token:create', '--role', 'viewer', '--name', 'weekly report');
    expect({ code: run.code, stderr: run.stderr }).toMatchObject({ code: 0 });
    const token = lastLine(run.stdout);
    expect(token).toMatch(/^rt_\S+$/);
    const auth = { authorization: `Bearer ${token}` };

    expect((await request('/api/accounts', { headers: auth })).status).toBe(200);
    for (const [method, p, body] of [
      ['POST', '/api/segments', { name: 'Mine' }],
      ['POST', '/api/campaigns', {}],
      ['GET', '/api/accounts/export.csv', undefined],
      ['GET', '/api/audit-log', undefined],
    ] as const) {
      const res = await request(p, { method, headers: auth, body });
      expect({ p, status: res.status }).toEqual({ p, status: 403 });
      expect(ErrorBodySchema.parse(res.body).error).toMatchObject({
        code: 'FORBIDDEN',
        details: { role: 'viewer' },
      });
    }
    expect(await audit('token.created')).toContainEqual(
      expect.objectContaining({ actor: 'cli', details: { name: 'weekly report', role: 'viewer' } }),
    );
  });

  it("does not take a source's write key as a credential for /api", async () => {
    const created = await asAdmin('/api/sources', { method: 'POST', body: { name: 'mobile app' } });
    expect(created.status).toBe(201);
    const { writeKey } = CreatedSourceSchema.parse(created.body);

    // The key is good where it belongs.
    const tracked = await request('/v1/track', {
      method: 'POST',
      headers: { 'x-write-key': writeKey },
      body: { type: 'track', userId: 'u1', event: 'Signed Up', messageId: 'access-1' },
    });
    expect(tracked.status).toBe(200);

    const basic = `Basic ${Buffer.from(`${writeKey}:`).toString('base64')}`;
    expect(
      await request('/api/accounts', { headers: { authorization: `Bearer ${writeKey}` } }),
    ).toMatchObject({
      status: 401,
      body: UNAUTHORIZED('The API token is not valid or was revoked'),
    });
    expect(await request('/api/accounts', { headers: { 'x-write-key': writeKey } })).toMatchObject({
      status: 401,
      body: UNAUTHORIZED('Sign in, or send Authorization: Bearer TOKEN'),
    });
    expect(await request('/api/accounts', { headers: { authorization: basic } })).toMatchObject({
      status: 401,
      body: UNAUTHORIZED('Authorization must be "Bearer TOKEN"'),
    });
  });

  it('refuses a revoked API token with 401', async () => {
    const created = await asAdmin('/api/tokens', {
      method: 'POST',
      body: { name: 'CRM sync', role: 'cs_manager' },
    });
    expect(created.status).toBe(201);
    const token = CreatedApiTokenSchema.parse(created.body);
    const auth = { authorization: `Bearer ${token.token}` };
    expect((await request('/api/overview', { headers: auth })).status).toBe(200);

    const revoked = await asAdmin(`/api/tokens/${token.id}`, { method: 'DELETE' });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ id: token.id, revokedAt: expect.any(String) });

    const after = await eventually(
      () => request('/api/overview', { headers: auth }),
      (res) => res.status === 401,
    );
    expect(after).toMatchObject({
      status: 401,
      body: UNAUTHORIZED('The API token is not valid or was revoked'),
    });

    const actor = `user:${admin.session.user.id}`;
    expect(await audit('token.created')).toContainEqual(
      expect.objectContaining({
        actor,
        target: `token:${token.id}`,
        details: { name: 'CRM sync', role: 'cs_manager' },
      }),
    );
    expect(await audit('token.revoked')).toContainEqual(
      expect.objectContaining({ actor, target: `token:${token.id}`, details: { name: 'CRM sync' } }),
    );
  });

  it("ends a user's sessions when an admin changes their role", async () => {
    const user = await createUser('promoted@retain.example', 'cs_manager');
    const before = await signIn(user.email, user.password);
    expect((await request('/api/auth/session', { headers: { cookie: before.cookie } })).status).toBe(200);

    const changed = await asAdmin(`/api/users/${user.id}`, { method: 'PATCH', body: { role: 'viewer' } });
    expect(changed.status).toBe(200);
    expect(UserSchema.parse(changed.body)).toMatchObject({ id: user.id, role: 'viewer' });

    const old = await eventually(
      () => request('/api/auth/session', { headers: { cookie: before.cookie } }),
      (res) => res.status === 401,
    );
    expect(old).toMatchObject({ status: 401, body: UNAUTHORIZED('The session has ended; sign in again') });
    expect((await signIn(user.email, user.password)).session.user.role).toBe('viewer');

    const actor = `user:${admin.session.user.id}`;
    expect(await audit('user.created')).toContainEqual(
      expect.objectContaining({
        actor,
        target: `user:${user.id}`,
        details: { email: user.email, role: 'cs_manager' },
      }),
    );
    expect(await audit('user.role_changed')).toContainEqual(
      expect.objectContaining({
        actor,
        actorLabel: ADMIN.email,
        target: `user:${user.id}`,
        details: { email: user.email, from: 'cs_manager', to: 'viewer' },
      }),
    );
  });

  it('never shows a stack trace or SQL in an error body', async () => {
    const auth = { cookie: admin.cookie, 'x-csrf-token': admin.session.csrfToken };
    const bad: [string, string, Record<string, string>, string | undefined][] = [
      ['POST', '/api/auth/login', {}, '{"email": '],
      ['POST', '/api/auth/login', {}, JSON.stringify({ email: 'a@b.example', password: 'x'.repeat(2000) })],
      ['POST', '/api/auth/login', {}, JSON.stringify({ email: "' OR 1=1 --", password: 'x' })],
      ['GET', '/api/accounts', { authorization: 'Bearer rt_' + 'x'.repeat(500) }, undefined],
      ['GET', '/api/accounts', { cookie: 'retain_session=forged' }, undefined],
      ['PATCH', '/api/users/abc', auth, JSON.stringify({ role: 'viewer' })],
      ['PATCH', '/api/users/999999', auth, JSON.stringify({ role: 'emperor' })],
      ['PATCH', '/api/users/999999', auth, JSON.stringify({ role: 'viewer' })],
      ['DELETE', '/api/tokens/99999999999999999999', auth, undefined],
      ['GET', '/api/audit-log?limit=-1&action=drop', auth, undefined],
      ['POST', '/api/users', auth, JSON.stringify({ email: ADMIN.email, role: 'admin' })],
    ];
    const answers: { request: string; status: number; text: string }[] = [];
    for (const [method, p, headers, body] of bad) {
      const res = await fetch(url(p), {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        body,
      });
      answers.push({ request: `${method} ${p}`, status: res.status, text: await res.text() });
    }
    const parse = (text: string): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    };
    expect(
      answers.filter(
        (a) =>
          a.status < 400 ||
          a.status >= 500 ||
          LEAK.test(a.text) ||
          !ErrorBodySchema.safeParse(parse(a.text)).success,
      ),
    ).toEqual([]);
  });
});
