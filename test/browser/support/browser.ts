import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import {
  REPO_ROOT,
  freePort,
  runRetain,
  waitUntilUp,
  type RetainProcess,
} from '../../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.js';
import type { InPageCanvas, InPageDocument, InPageElement } from './in-page.js';

declare const document: InPageDocument;

/** Debian's Chromium: the tests never download a browser. */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const SCREENSHOT_DIR = path.join(REPO_ROOT, 'test-output/screenshots');

/** Who a browser signs in as. */
export interface Credentials {
  email: string;
  password: string;
}

/**
 * The built server, started as `npm start` starts it, on a fresh database of its own filled with
 * the demo data (300 accounts over 180 days), with an admin made from ADMIN_EMAIL and
 * ADMIN_PASSWORD (a random password for each start). Its schedule never fires during a test: the
 * only analytics runs are the first one at start and those the test asks for.
 */
export async function startDemoServer(
  label: string,
): Promise<{ db: TestDatabase; retain: RetainProcess; admin: Credentials }> {
  const db = await createTestDatabase(label);
  const admin: Credentials = { email: 'admin@retain.test', password: randomBytes(18).toString('base64url') };
  const retain = runRetain(
    {
      DATABASE_URL: db.url,
      DEMO_DATA: 'true',
      DEMO_ACCOUNTS: '300',
      DEMO_DAYS: '180',
      LOG_LEVEL: 'warn',
      ANALYTICS_CRON: '0 0 1 1 *',
      ADMIN_EMAIL: admin.email,
      ADMIN_PASSWORD: admin.password,
    },
    await freePort(),
  );
  await waitUntilUp(retain);
  return { db, retain, admin };
}

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `No Chromium at ${CHROMIUM_PATH}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

/** A page that records every console error, uncaught exception and failed request. */
export interface WatchedPage {
  page: Page;
  /** Problems seen since the last call, then forgotten. */
  takeProblems(): string[];
}

/**
 * A page in a browser context of its own, signed in as `user` before anything is opened: the
 * context holds the session and CSRF cookies, as after the sign-in form.
 */
export async function openWatchedPage(
  browser: Browser,
  baseUrl: string,
  user: Credentials,
): Promise<WatchedPage> {
  const context = await browser.newContext({ baseURL: baseUrl, viewport: { width: 1360, height: 900 } });
  const login = await context.request.post('/api/auth/login', { data: user });
  if (!login.ok())
    throw new Error(`Sign-in as ${user.email} answered ${login.status()}: ${await login.text()}`);
  const page = await context.newPage();
  let problems: string[] = [];
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('requestfailed', (request) => {
    // A navigation away cancels requests in flight; that is not a failure of the page.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED') {
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    }
  });
  page.on('request', (request) => {
    if (!request.url().startsWith(baseUrl) && !request.url().startsWith('data:')) {
      problems.push(`request off the server: ${request.url()}`);
    }
  });
  return {
    page,
    takeProblems: () => {
      const seen = problems;
      problems = [];
      return seen;
    },
  };
}

/** Waits until no section of the page is loading, or showing an older answer while it reloads. */
export async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
  await page.waitForFunction(
    () => document.querySelectorAll('[data-testid="loading"], [aria-busy="true"]').length === 0,
  );
}

/**
 * How many pixels of each chart's canvas are drawn (not transparent, not white), by chart title.
 * A canvas Chart.js never drew reads as all blank.
 */
export async function chartInk(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const ink: Record<string, number> = {};
    for (const figure of document.querySelectorAll('figure[data-chart]')) {
      const canvas = figure.querySelector('canvas') as InPageCanvas | null;
      if (!canvas) continue;
      const context = canvas.getContext('2d');
      if (!context || canvas.width === 0 || canvas.height === 0) {
        ink[figure.dataset.chart!] = 0;
        continue;
      }
      const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
      let drawn = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i]!, data[i + 1]!, data[i + 2]!, data[i + 3]!];
        if (a > 0 && !(r > 250 && g > 250 && b > 250)) drawn++;
      }
      ink[figure.dataset.chart!] = drawn;
    }
    return ink;
  });
}

/** Titles of the charts on the page that show their empty state instead of a canvas. */
export async function emptyCharts(page: Page): Promise<string[]> {
  return page.$$eval('figure[data-chart]:has([data-testid="chart-empty"])', (figures: InPageElement[]) =>
    figures.map((figure) => figure.dataset.chart!),
  );
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** The text of every cell of a table's body, row by row. */
export async function tableRows(page: Page, selector: string): Promise<string[][]> {
  return page.$$eval(`${selector} tbody tr`, (rows: InPageElement[]) =>
    rows.map((row) => [...row.querySelectorAll('td')].map((cell) => (cell.textContent ?? '').trim())),
  );
}
