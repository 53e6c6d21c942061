import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { CreatedUserSchema } from '@retain/contracts';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { adminFetch } from '../support/auth.js';
import type { RetainProcess } from '../support/retain-process.js';
import type { TestDatabase } from '../support/test-database.js';
import {
  launchChromium,
  openWatchedPage,
  screenshot,
  settled,
  startDemoServer,
  type Credentials,
} from './support/browser.js';
import type { InPageElement } from './support/in-page.js';

jest.setTimeout(120_000);

/**
 * Signing in and out, and what each role sees: the sign-in page guards every page, the Users page
 * hands out a password once, an account manager sees only their own accounts, and controls a role
 * may not use are not shown.
 */
describe('sign-in and roles in Chromium, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let admin: Credentials;
  let api: typeof fetch;
  let browser: Browser;
  let manager: string;
  /** The account manager's password, as the Users page showed it. */
  let managerPassword: string;

  /** A browser context of its own (no cookies), recording errors thrown by the page's code. */
  async function freshPage(): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({
      baseURL: retain.baseUrl,
      viewport: { width: 1360, height: 900 },
    });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    return { context, page, errors };
  }

  async function signIn(page: Page, user: Credentials): Promise<void> {
    await page.fill('input[name="email"]', user.email);
    await page.fill('input[name="password"]', user.password);
    await page.click('button[type="submit"]');
  }

  const navLabels = (page: Page) =>
    page.$$eval('nav[aria-label="Main"] a', (links: InPageElement[]) =>
      links.map((a) => a.textContent!.trim()),
    );

  async function createUser(email: string, role: string): Promise<Credentials> {
    const res = await api(`${retain.baseUrl}/api/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, role }),
    });
    expect(res.status).toBe(201);
    return { email, password: CreatedUserSchema.parse(await res.json()).password };
  }

  beforeAll(async () => {
    ({ db, retain, admin } = await startDemoServer('browser_access'));
    api = await adminFetch(db.url);
    browser = await launchChromium();
    // The first analytics run (at start) scores the accounts the pages list.
    const deadline = Date.now() + 90_000;
    while ((await db.query(`SELECT 1 FROM analytics_runs WHERE status = 'succeeded' LIMIT 1`)).length === 0) {
      if (Date.now() > deadline) throw new Error('the first analytics run did not finish');
      await new Promise((r) => setTimeout(r, 250));
    }
    [{ owner: manager }] = await db.query<{ owner: string }>(
      `SELECT a.owner FROM accounts a JOIN account_scores s ON s.account_id = a.id
       WHERE s.tier = 'enterprise' AND a.owner IS NOT NULL GROUP BY a.owner ORDER BY count(*) DESC, a.owner LIMIT 1`,
    );
  });
  afterAll(async () => {
    await browser?.close();
    await retain?.stop();
    await db?.drop();
  });

  it('sends a visitor without a session to the sign-in page, refuses a wrong password, then returns to the page asked for', async () => {
    const { context, page, errors } = await freshPage();
    await page.goto('/accounts?tier=enterprise');
    await page.waitForURL((url) => url.pathname === '/login');
    expect(new URL(page.url()).searchParams.get('next')).toBe('/accounts?tier=enterprise');
    await screenshot(page, 'login');

    await signIn(page, { email: admin.email, password: 'not the password' });
    await expect(page.textContent('[data-testid="login-error"]')).resolves.toBe('Wrong email or password');
    expect(page.url()).toContain('/login');

    await signIn(page, admin);
    await page.waitForURL((url) => url.pathname === '/accounts');
    await settled(page);
    expect(new URL(page.url()).searchParams.get('tier')).toBe('enterprise');
    const who = await page.textContent('[data-testid="signed-in"]');
    expect(who).toContain('admin');
    expect(who).toContain('Admin');
    expect(await navLabels(page)).toEqual(
      expect.arrayContaining(['Overview', 'Enterprise accounts', 'Campaigns', 'Data', 'Users']),
    );
    expect(errors).toEqual([]);
    await context.close();
  });

  it('the Users page creates an account manager and shows the password once; the audit log lists it', async () => {
    const watched = await openWatchedPage(browser, retain.baseUrl, admin);
    const { page } = watched;
    await page.goto('/users');
    await settled(page);
    await page.fill('[data-testid="user-email"]', manager);
    await page.selectOption('[data-testid="user-role"]', 'account_manager');
    await page.click('[data-testid="create-user"]');
    await page.waitForSelector('[data-testid="new-password"] [data-testid="secret"]');
    const password = (await page.textContent('[data-testid="new-password"] [data-testid="secret"]'))!.trim();
    expect(password).toMatch(/^[A-Za-z0-9]{20}$/);
    managerPassword = password;
    await page.waitForSelector(`[data-testid="users-table"] tr[data-user="${manager}"]`);
    await settled(page);
    const auditText = await page.textContent('[data-testid="audit-table"]');
    expect(auditText).toContain('user.created');
    expect(auditText).toContain(manager);
    // An API token, shown once, then listed by its prefix; revoking it marks it revoked.
    await page.fill('[data-testid="token-name"]', 'CRM sync');
    await page.selectOption('[data-testid="token-role"]', 'viewer');
    await page.click('[data-testid="create-token"]');
    await page.waitForSelector('[data-testid="new-token"] [data-testid="secret"]');
    const token = (await page.textContent('[data-testid="new-token"] [data-testid="secret"]'))!.trim();
    expect(token).toMatch(/^rt_[A-Za-z0-9_-]{43}$/);
    const viewerCall = await fetch(`${retain.baseUrl}/api/overview`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(viewerCall.status).toBe(200);
    await page.waitForSelector('[data-testid="tokens-table"] tr:has-text("CRM sync")');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.click('[data-testid="tokens-table"] tr:has-text("CRM sync") button.danger');
    await page.waitForSelector(
      '[data-testid="tokens-table"] tr:has-text("CRM sync") [data-status="revoked"]',
    );
    await settled(page);
    await screenshot(page, 'users');
    expect(watched.takeProblems()).toEqual([]);

    // The password works, once, through the sign-in page.
    const { context, page: managerPage, errors } = await freshPage();
    await managerPage.goto('/login');
    await signIn(managerPage, { email: manager, password });
    await managerPage.waitForURL((url) => url.pathname === '/');
    await settled(managerPage);
    expect(errors).toEqual([]);
    await context.close();
    await page.context().close();
  });

  it("shows an account manager only their own accounts, and refuses another owner's account page", async () => {
    const credentials = { email: manager, password: managerPassword };
    const watched = await openWatchedPage(browser, retain.baseUrl, credentials);
    const { page } = watched;
    await page.goto('/accounts');
    await settled(page);
    expect(await page.textContent('[data-testid="owner-scope"]')).toContain(manager);
    const owners = await page.$$eval(
      '[data-testid="accounts-table"] tbody td.owner',
      (cells: InPageElement[]) => cells.map((cell) => cell.getAttribute('title')),
    );
    const [{ n }] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM accounts a JOIN account_scores s ON s.account_id = a.id
       WHERE s.tier = 'enterprise' AND a.owner = $1 AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)`,
      [manager],
    );
    expect(owners).toHaveLength(Math.min(n, 50));
    expect(owners.every((owner) => owner === manager)).toBe(true);
    expect(await navLabels(page)).not.toEqual(expect.arrayContaining(['Campaigns']));
    expect(await navLabels(page)).not.toContain('Users');
    expect(await navLabels(page)).not.toContain('Data');
    expect(await page.$('[data-testid="export-csv"]')).not.toBeNull();
    await screenshot(page, 'accounts-account-manager');
    expect(watched.takeProblems()).toEqual([]);

    const [other] = await db.query<{ id: number }>(
      `SELECT id::int FROM accounts WHERE owner IS NOT NULL AND owner <> $1 LIMIT 1`,
      [manager],
    );
    await page.goto(`/accounts/${other!.id}`);
    await page.waitForSelector('[data-testid="error-state"]');
    expect(await page.textContent('[data-testid="error-state"]')).toContain('is not one of your accounts');
    // The refused requests are the point here: their 403s are the only problems the page reports.
    expect(watched.takeProblems().every((p) => p.includes('403'))).toBe(true);

    await page.click('[data-testid="signed-in"] button');
    await page.waitForURL((url) => url.pathname === '/login');
    await page.goto('/');
    await page.waitForURL((url) => url.pathname === '/login');
    await page.context().close();
  });

  it('hides from a viewer what a viewer may not do: exports, run now, new campaigns', async () => {
    const viewer = await createUser('viewer.person@retain.test', 'viewer');
    const watched = await openWatchedPage(browser, retain.baseUrl, viewer);
    const { page } = watched;
    await page.goto('/accounts');
    await settled(page);
    expect(await page.$$('[data-testid="accounts-table"] tbody tr')).not.toHaveLength(0);
    expect(await page.$('[data-testid="export-csv"]')).toBeNull();
    await page.goto('/jobs');
    await settled(page);
    expect(await page.$('[data-testid="run-now"]')).toBeNull();
    // Thresholds are shown, not editable.
    expect(await page.$('[data-testid="save-thresholds"]')).toBeNull();
    expect(await page.textContent('strong[data-testid="threshold-enterpriseMinSeats"]')).toBe('250');
    await page.goto('/campaigns');
    await settled(page);
    expect(await page.$('[data-testid="new-campaign"]')).toBeNull();
    expect(await navLabels(page)).toContain('Campaigns');
    expect(await navLabels(page)).not.toContain('Users');
    expect(watched.takeProblems()).toEqual([]);
    await page.context().close();
  });
});
