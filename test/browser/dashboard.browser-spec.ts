import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { AnalyticsRunListSchema, type AnalyticsRun } from '@retain/contracts';
import type { Browser, Page } from 'playwright-core';
import {
  formatCount,
  formatMinutes,
  formatMoney,
  formatPct,
  formatShare,
  segmentLabel,
} from '../../apps/web/src/lib/format.js';
import { adminFetch } from '../support/auth.js';
import type { TestDatabase } from '../support/test-database.js';
import type { RetainProcess } from '../support/retain-process.js';
import {
  chartInk,
  emptyCharts,
  launchChromium,
  openWatchedPage,
  screenshot,
  settled,
  startDemoServer,
  tableRows,
  type Credentials,
  type WatchedPage,
} from './support/browser.js';
import type { InPageDocument, InPageElement, InPageMutationObserver } from './support/in-page.js';

declare const document: InPageDocument;
declare const window: { progressSeen?: string[] };
declare const MutationObserver: InPageMutationObserver;

jest.setTimeout(120_000);

/** Lower bound of the high churn-risk band, as the dashboard's contracts define it. */
const HIGH_RISK = 0.3;

describe('the dashboard in Chromium, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let admin: Credentials;
  let apiFetch: typeof fetch;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;

  const api = async <T>(path: string): Promise<T> =>
    (await apiFetch(`${retain.baseUrl}${path}`)).json() as Promise<T>;

  async function latestRun(): Promise<AnalyticsRun | undefined> {
    return AnalyticsRunListSchema.parse(await api('/api/jobs/analytics/runs')).runs[0];
  }

  async function waitForIdleRuns(): Promise<AnalyticsRun> {
    const deadline = Date.now() + 90_000;
    for (;;) {
      const run = await latestRun();
      if (run && run.status !== 'running') return run;
      if (Date.now() > deadline) throw new Error('the analytics run did not finish');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Navigates and waits until no section is still loading. */
  async function visit(path: string): Promise<void> {
    await page.goto(path);
    await settled(page);
  }

  /** Every chart on the page is drawn (some pixels inked), none shows its empty state. */
  async function expectChartsDrawn(titles: string[]): Promise<void> {
    await page.waitForFunction(
      (expected) => expected.every((title) => document.querySelector(`figure[data-chart="${title}"] canvas`)),
      titles,
    );
    const ink = await chartInk(page);
    for (const title of titles)
      expect({ title, drawn: (ink[title] ?? 0) > 500 }).toEqual({ title, drawn: true });
    expect(await emptyCharts(page)).toEqual([]);
    // Each chart names what it shows, and its series (drawn in the legend on the canvas).
    for (const title of titles) {
      const figure = page.locator(`figure[data-chart="${title}"]`);
      await expect(figure.locator('figcaption').innerText()).resolves.toContain(title);
      expect((await figure.getAttribute('data-series'))?.split('|').filter(Boolean).length).toBeGreaterThan(
        0,
      );
    }
  }

  const attribute = (selector: string, name: string) => page.locator(selector).first().getAttribute(name);

  beforeAll(async () => {
    ({ db, retain, admin } = await startDemoServer('dashboard_browser'));
    apiFetch = await adminFetch(db.url);
    await waitForIdleRuns();
    browser = await launchChromium();
    watched = await openWatchedPage(browser, retain.baseUrl, admin);
    page = watched.page;
  });

  afterEach(() => {
    // No console error, uncaught exception, failed request or request off the server, on any page.
    expect(watched?.takeProblems() ?? []).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await retain?.stop();
    await db?.drop();
  });

  describe('Overview', () => {
    interface CellFigures {
      segment: string;
      accounts: number;
      mrr: number;
      high: number;
      responded: number;
      asa_median: number | null;
      ratings: number;
      satisfied: number;
    }

    /**
     * The overview's figures computed straight from the tables, independently of the API: scored
     * accounts not churned when scored, their MRR and high-risk count; tickets created in the
     * period (the last `days` UTC days up to the run's as-of instant) by those accounts, with the
     * median first-response time over answered tickets and CSAT over rated ones.
     */
    async function figuresFromSql(days: number): Promise<{ asOf: Date; cells: CellFigures[] }> {
      const [run] = await db.query<{ as_of: Date }>(
        `SELECT as_of FROM analytics_runs WHERE status = 'succeeded' ORDER BY id DESC LIMIT 1`,
      );
      const asOf = run!.as_of;
      const cells = await db.query<CellFigures>(
        `WITH bounds AS (
           SELECT $1::timestamptz AS as_of,
                  (date_trunc('day', $1::timestamptz AT TIME ZONE 'UTC') - ($2::int - 1) * interval '1 day')
                    AT TIME ZONE 'UTC' AS period_from
         ),
         scored AS (
           SELECT s.account_id, s.segment, s.churn_risk, a.mrr
           FROM account_scores s JOIN accounts a ON a.id = s.account_id
           WHERE a.churned_at IS NULL OR a.churned_at > s.computed_at
         ),
         ticket_rows AS (
           SELECT s.segment,
                  CASE WHEN COALESCE(t.first_response_at, t.created_at + t.first_response_minutes * interval '1 minute') < b.as_of
                       THEN COALESCE(t.first_response_minutes, extract(epoch FROM t.first_response_at - t.created_at) / 60) END AS minutes,
                  t.csat_scale IN ('five_point', 'good_bad') AND t.csat_score IS NOT NULL
                    AND COALESCE(t.solved_at, t.first_response_at, t.created_at) < b.as_of AS rated,
                  (t.csat_scale = 'five_point' AND t.csat_score >= 4) OR (t.csat_scale = 'good_bad' AND t.csat_score = 1) AS happy
           FROM tickets t JOIN account_scores s ON s.account_id = t.account_id, bounds b
           WHERE t.created_at >= b.period_from AND t.created_at < b.as_of
         ),
         support AS (
           SELECT COALESCE(segment, 'total') AS segment, count(minutes)::int AS responded,
                  percentile_cont(0.5) WITHIN GROUP (ORDER BY minutes) AS asa_median,
                  count(*) FILTER (WHERE rated)::int AS ratings,
                  count(*) FILTER (WHERE rated AND happy)::int AS satisfied
           FROM ticket_rows GROUP BY ROLLUP (segment)
         ),
         accounts AS (
           SELECT COALESCE(segment, 'total') AS segment, count(*)::int AS accounts,
                  COALESCE(sum(mrr), 0)::float8 AS mrr,
                  count(*) FILTER (WHERE churn_risk >= ${HIGH_RISK})::int AS high
           FROM scored GROUP BY ROLLUP (segment)
         )
         SELECT a.segment, a.accounts, a.mrr, a.high, COALESCE(s.responded, 0) AS responded, s.asa_median,
                COALESCE(s.ratings, 0) AS ratings, COALESCE(s.satisfied, 0) AS satisfied
         FROM accounts a LEFT JOIN support s USING (segment)`,
        [asOf, days],
      );
      return { asOf, cells };
    }

    /** The figures a card shows: raw values (data-value) and the text on screen. */
    async function cardFigures(testId: string) {
      return page.$$eval(`[data-testid="${testId}"] [data-field]`, (elements: InPageElement[]) =>
        Object.fromEntries(
          elements.map((element) => [
            element.dataset.field!,
            { value: element.dataset.value!, text: (element.textContent ?? '').trim() },
          ]),
        ),
      );
    }

    it('shows every segment card with the same figures as a direct SQL query, and the last run', async () => {
      await visit('/');
      const days = 30;
      const { asOf, cells } = await figuresFromSql(days);
      expect(cells.length).toBeGreaterThanOrEqual(5);

      for (const expected of cells) {
        const testId = expected.segment === 'total' ? 'cell-total' : `cell-${expected.segment}`;
        const shown = await cardFigures(testId);
        const csat = expected.ratings > 0 ? (100 * expected.satisfied) / expected.ratings : null;
        const share = expected.accounts > 0 ? expected.high / expected.accounts : null;
        const label = { card: expected.segment };

        expect({ ...label, accounts: Number(shown.accounts!.value) }).toEqual({
          ...label,
          accounts: expected.accounts,
        });
        expect({ ...label, text: shown.accounts!.text }).toEqual({
          ...label,
          text: formatCount(expected.accounts),
        });
        expect(Number(shown.mrr!.value)).toBeCloseTo(expected.mrr, 2);
        expect({ ...label, text: shown.mrr!.text }).toEqual({ ...label, text: formatMoney(expected.mrr) });
        expect({ ...label, text: shown.highRiskShare!.text }).toEqual({ ...label, text: formatShare(share) });
        expect({ ...label, ratings: Number(shown.ratings!.value) }).toEqual({
          ...label,
          ratings: expected.ratings,
        });
        expect({ ...label, text: shown.csatPct!.text }).toEqual({ ...label, text: formatPct(csat) });
        if (csat !== null) expect(Number(shown.csatPct!.value)).toBeCloseTo(csat, 6);
        expect({ ...label, responded: Number(shown.responded!.value) }).toEqual({
          ...label,
          responded: expected.responded,
        });
        expect({ ...label, text: shown.asaMedianMinutes!.text }).toEqual({
          ...label,
          text: formatMinutes(expected.asa_median),
        });
        if (expected.asa_median !== null)
          expect(Number(shown.asaMedianMinutes!.value)).toBeCloseTo(expected.asa_median, 6);
      }

      // The six base segments are all on the page, each a link to its segment page.
      expect(await page.locator('[data-testid^="cell-"][href*="/segments/"]').count()).toBe(6);

      // The last analytics run, its status and the period the figures cover.
      const lastRun = await page.getByTestId('last-run').innerText();
      const run = await latestRun();
      expect(lastRun).toContain(`#${run!.id}`);
      expect(lastRun).toContain('Succeeded');
      expect(lastRun).toContain(`(${days} days)`);
      expect(run!.asOf && new Date(run!.asOf).getTime()).toBe(asOf.getTime());

      // Movements: none on a fresh install with one run, and the page says so.
      await expect(page.getByTestId('movements').innerText()).resolves.toMatch(
        /No account has changed segment yet|moved in run/,
      );

      // Trend charts drawn, with titles, and the heat map of ASA/CSAT by channel x segment.
      await expectChartsDrawn([
        'Accounts at high churn risk',
        'Churn-risk mix, all segments',
        'CSAT by week',
        'ASA by week (median)',
      ]);
      const heat = await page.locator('[data-testid="support-heatmap"] td[data-value]').count();
      expect(heat).toBeGreaterThanOrEqual(5 * 6);
      await screenshot(page, 'overview');
    });

    it('changes the period through the URL', async () => {
      await page.locator('nav[aria-label="Period"] a', { hasText: '7 days' }).click();
      await page.waitForURL(/\?days=7$/);
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="last-run"]')?.textContent?.includes('(7 days)'),
      );
      await settled(page);
      const { cells } = await figuresFromSql(7);
      const total = cells.find((cell) => cell.segment === 'total')!;
      const shown = await cardFigures('cell-total');
      expect(Number(shown.ratings!.value)).toBe(total.ratings);
      expect(shown.asaMedianMinutes!.text).toBe(formatMinutes(total.asa_median));
    });

    it('drills down from a card to its segment, and from a member to the account page', async () => {
      await visit('/');
      const accounts = Number(
        await attribute('[data-testid="cell-smb-novice"] [data-field="accounts"]', 'data-value'),
      );
      await page.getByTestId('cell-smb-novice').click();
      await page.waitForURL(/\/segments\/smb-novice$/);
      await settled(page);
      await expect(page.locator('h1').innerText()).resolves.toBe(segmentLabel('smb-novice'));
      await expect(page.getByTestId('stat-accounts-value').innerText()).resolves.toBe(formatCount(accounts));

      const first = page.locator('[data-testid="accounts-table"] tbody tr').first();
      const id = await first.getAttribute('data-account-id');
      const name = await first.locator('td').first().locator('a').innerText();
      await first.locator('td').first().locator('a').click();
      await page.waitForURL(new RegExp(`/accounts/${id}$`));
      await settled(page);
      await expect(page.locator('h1').innerText()).resolves.toBe(name);
    });
  });

  describe('Segment page', () => {
    const riskValues = () =>
      page.$$eval('[data-testid="accounts-table"] tbody [data-risk]', (cells: InPageElement[]) =>
        cells.map((cell) => Number(cell.dataset.risk)),
      );
    const mrrValues = () =>
      page.$$eval('[data-testid="accounts-table"] tbody [data-mrr]', (cells: InPageElement[]) =>
        cells.map((cell) => Number(cell.dataset.mrr)),
      );
    const descending = (values: number[]) => values.every((v, i) => i === 0 || values[i - 1]! >= v);
    const ascending = (values: number[]) => values.every((v, i) => i === 0 || values[i - 1]! <= v);

    it('shows the risk histogram, ticket mix, reasons and comments of the segment', async () => {
      await visit('/segments/smb-novice');
      await expectChartsDrawn(['Churn-risk distribution', 'Ticket mix by channel']);
      expect(await page.locator('[data-testid="churn-reasons"] li').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-testid="segment-comments"] li').count()).toBeGreaterThan(0);
      const [{ n }] = (await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.segment = 'smb-novice' AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)`,
      )) as [{ n: number }];
      await expect(page.getByTestId('pager-range').innerText()).resolves.toBe(
        `1–25 of ${formatCount(n)} accounts`,
      );
      await screenshot(page, 'segment');
    });

    it('sorts the members on the server, and the URL says how', async () => {
      await visit('/segments/smb-novice');
      expect(descending(await riskValues())).toBe(true);
      const firstBefore = await attribute('[data-testid="accounts-table"] tbody tr', 'data-account-id');

      await page.locator('th a[data-sort-key="mrr"]').click();
      await page.waitForURL(/sort=mrr&order=desc/);
      await page.waitForSelector('table[data-sort="mrr"][data-order="desc"]');
      await settled(page);
      const mrr = await mrrValues();
      expect(descending(mrr)).toBe(true);
      expect(await attribute('[data-testid="accounts-table"] tbody tr', 'data-account-id')).not.toBe(
        firstBefore,
      );
      const [{ max }] = (await db.query<{ max: number }>(
        `SELECT max(a.mrr)::float8 AS max FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.segment = 'smb-novice' AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)`,
      )) as [{ max: number }];
      expect(mrr[0]).toBe(max);

      await page.locator('th a[data-sort-key="mrr"]').click();
      await page.waitForURL(/sort=mrr&order=asc/);
      await page.waitForSelector('table[data-sort="mrr"][data-order="asc"]');
      await settled(page);
      expect(ascending(await mrrValues())).toBe(true);
    });

    it('filters by risk band, pages on the server and downloads the same rows as CSV', async () => {
      await visit('/segments/smb-novice');
      await page.getByTestId('filter-risk').selectOption('high');
      await page.waitForURL(/riskBand=high/);
      await page.waitForFunction(
        (min) =>
          [...document.querySelectorAll('[data-testid="accounts-table"] tbody [data-risk]')].every(
            (cell) => Number(cell.dataset.risk) >= min,
          ),
        HIGH_RISK,
      );
      await settled(page);
      const [{ n }] = (await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.segment = 'smb-novice' AND s.churn_risk >= $1
           AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)`,
        [HIGH_RISK],
      )) as [{ n: number }];
      const range = await page.getByTestId('pager-range').innerText();
      expect(range).toBe(`1–${Math.min(25, n)} of ${formatCount(n)} accounts`);

      const download = page.waitForEvent('download');
      await page.getByTestId('export-csv').click();
      const csv = fs
        .readFileSync((await (await download).path())!, 'utf8')
        .trim()
        .split('\n');
      expect(csv[0]).toMatch(/^id,external_id,name,/);
      expect(csv).toHaveLength(n + 1);

      // Clear the filter, then page: the server answers the next 25.
      await page.getByTestId('filter-risk').selectOption('');
      await page.waitForURL((url) => !url.search.includes('riskBand'));
      await settled(page);
      const firstPage = await tableRows(page, '[data-testid="accounts-table"]');
      await page.getByTestId('pager-next').click();
      await page.waitForURL(/page=2/);
      await page.waitForFunction(() =>
        document.querySelector('[data-testid="pager-range"]')?.textContent?.trim().startsWith('26–'),
      );
      await settled(page);
      const secondPage = await tableRows(page, '[data-testid="accounts-table"]');
      expect(secondPage.length).toBeGreaterThan(0);
      expect(secondPage[0]).not.toEqual(firstPage[0]);
    });
  });

  describe('Enterprise accounts', () => {
    interface Row {
      id: string;
      owner: string | null;
      risk: number;
    }
    const rows = (): Promise<Row[]> =>
      page.$$eval('[data-testid="accounts-table"] tbody tr', (trs: InPageElement[]) =>
        trs.map((tr) => ({
          id: tr.dataset.accountId!,
          owner: tr.querySelector('td.owner')?.getAttribute('title') ?? null,
          risk: Number(tr.querySelector('[data-risk]')!.dataset.risk),
        })),
      );

    it('lists the enterprise accounts riskiest first, with reasons, renewal, MRR, owner and upsell', async () => {
      await visit('/accounts');
      const expected = await db.query<{ id: string }>(
        `SELECT a.id::text AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.tier = 'enterprise' AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)
         ORDER BY s.churn_risk DESC NULLS LAST, a.id`,
      );
      const shown = await rows();
      expect(shown.map((row) => row.id)).toEqual(expected.map((row) => row.id).slice(0, 25));
      expect(await page.locator('[data-testid="accounts-table"] thead th').allInnerTexts()).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^Churn risk/i),
          expect.stringMatching(/^Health/i),
          expect.stringMatching(/^Top reasons/i),
          expect.stringMatching(/^Renewal/i),
          expect.stringMatching(/^MRR/i),
          expect.stringMatching(/^Owner/i),
          expect.stringMatching(/^Upsell/i),
        ]),
      );
      await screenshot(page, 'enterprise-accounts');
    });

    it('filters by owner and risk band, sorts by renewal, and a shared link shows the same rows', async () => {
      await visit('/accounts');
      const [owner] = await db.query<{ owner: string; n: number }>(
        `SELECT a.owner, count(*)::int AS n FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.tier = 'enterprise' AND a.owner IS NOT NULL
           AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)
         GROUP BY a.owner ORDER BY n DESC, a.owner LIMIT 1`,
      );
      await page.getByTestId('filter-owner').selectOption(owner!.owner);
      await page.waitForURL((url) => url.searchParams.get('owner') === owner!.owner);
      await page.waitForFunction(
        (name) =>
          [...document.querySelectorAll('[data-testid="accounts-table"] tbody td.owner')].every(
            (cell) => cell.getAttribute('title') === name,
          ),
        owner!.owner,
      );
      await settled(page);
      const mine = await rows();
      expect(mine).toHaveLength(owner!.n);
      expect(mine.every((row) => row.owner === owner!.owner)).toBe(true);

      // "My accounts": remember this owner as me, then come back to it in one click.
      await page.getByRole('button', { name: 'This is me' }).click();
      await page.getByTestId('filter-owner').selectOption('');
      await page.waitForURL((url) => !url.searchParams.has('owner'));
      await settled(page);
      await page.getByTestId('my-accounts').click();
      await page.waitForURL((url) => url.searchParams.get('owner') === owner!.owner);
      await settled(page);

      await page.locator('th a[data-sort-key="renewal_date"]').click();
      await page.waitForURL(/sort=renewal_date/);
      await page.waitForSelector('table[data-sort="renewal_date"]');
      await settled(page);
      const byRenewal = await rows();
      const renewals = await db.query<{ id: string }>(
        `SELECT a.id::text AS id FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.tier = 'enterprise' AND a.owner = $1 AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)
         ORDER BY a.renewal_date ASC NULLS LAST, a.id`,
        [owner!.owner],
      );
      expect(byRenewal.map((row) => row.id)).toEqual(renewals.map((row) => row.id));

      // A link carries the whole choice: open it in a fresh browser context.
      const shared = page.url();
      expect(new URL(shared).searchParams.get('sort')).toBe('renewal_date');
      const other = await openWatchedPage(browser, retain.baseUrl, admin);
      await other.page.goto(shared);
      await settled(other.page);
      const sharedRows = await other.page.$$eval(
        '[data-testid="accounts-table"] tbody tr',
        (trs: InPageElement[]) => trs.map((tr) => tr.dataset.accountId),
      );
      expect(sharedRows).toEqual(byRenewal.map((row) => row.id));
      await expect(other.page.getByTestId('filter-owner').inputValue()).resolves.toBe(owner!.owner);
      expect(other.takeProblems()).toEqual([]);
      await other.page.context().close();

      // Risk band and tier: every tier's high-risk accounts.
      await visit('/accounts?tier=all&riskBand=high');
      const [{ n }] = (await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.churn_risk >= $1 AND (a.churned_at IS NULL OR a.churned_at > s.computed_at)`,
        [HIGH_RISK],
      )) as [{ n: number }];
      await expect(page.getByTestId('pager-range').innerText()).resolves.toBe(
        `1–${Math.min(25, n)} of ${formatCount(n)} accounts`,
      );
      expect((await rows()).every((row) => row.risk >= HIGH_RISK)).toBe(true);
      await expect(page.getByTestId('filter-tier').inputValue()).resolves.toBe('all');
    });
  });

  describe('Account page', () => {
    it('shows the facts, risk trend, reasons, weekly activity, tickets and contacts of an account', async () => {
      const [account] = await db.query<{
        id: string;
        name: string;
        mrr: number;
        tickets: number;
        contacts: number;
      }>(
        `SELECT a.id::text AS id, a.name, a.mrr::float8 AS mrr,
                (SELECT count(*)::int FROM tickets t WHERE t.account_id = a.id) AS tickets,
                (SELECT count(*)::int FROM contacts c WHERE c.account_id = a.id) AS contacts
         FROM account_scores s JOIN accounts a ON a.id = s.account_id
         WHERE s.tier = 'enterprise' AND a.churned_at IS NULL ORDER BY s.churn_risk DESC LIMIT 1`,
      );
      await visit(`/accounts/${account!.id}`);
      await expect(page.locator('h1').innerText()).resolves.toBe(account!.name);
      await expect(
        page.locator('[data-testid="account-facts"] [data-field="mrr"]').innerText(),
      ).resolves.toBe(formatMoney(account!.mrr));
      await expectChartsDrawn(['Health and churn risk over time', 'Product activity by week']);
      expect(await page.locator('[data-testid="churn-reasons"] li').count()).toBeGreaterThan(0);
      expect(await page.locator('[data-testid="tickets-table"] tbody tr').count()).toBe(
        Math.min(10, account!.tickets),
      );
      await expect(page.getByTestId('pager-range').innerText()).resolves.toBe(
        `1–${Math.min(10, account!.tickets)} of ${formatCount(account!.tickets)} tickets`,
      );
      await expect(
        page.locator('[data-testid="contacts"]').locator('..').locator('h2').innerText(),
      ).resolves.toContain(`(${formatCount(account!.contacts)})`);
      await screenshot(page, 'account');
    });
  });

  describe('Support quality', () => {
    it('shows ASA (mean, median, p90) and CSAT per channel and segment over time, comments one click away', async () => {
      await visit('/support');
      await expectChartsDrawn(['ASA median by week', 'CSAT by week', 'ASA mean by week', 'ASA p90 by week']);
      const channels = await tableRows(page, '[data-testid="channel-table"]');
      const [{ n }] = (await db.query<{ n: number }>(
        `SELECT count(DISTINCT channel)::int AS n FROM tickets`,
      )) as [{ n: number }];
      expect(channels).toHaveLength(n + 1); // and the "All" row
      await screenshot(page, 'support');

      await page
        .locator('[data-testid="channel-table"] tbody tr', { hasText: 'Chat' })
        .getByTestId('comments-link')
        .click();
      await page.waitForURL(/channel=chat/);
      await page.waitForFunction(() => {
        const items = [...document.querySelectorAll('[data-testid="support-comments"] li .meta')];
        return items.length > 0 && items.every((item) => item.textContent?.includes('Chat'));
      });
      await expect(page.getByTestId('comments-channel').inputValue()).resolves.toBe('chat');

      await page.getByTestId('by-segment').click();
      await page.waitForURL(/by=segment/);
      await page.waitForSelector('figure[data-chart="CSAT by week"][data-series*="SMB novice"] canvas');
      await settled(page);
      await expectChartsDrawn(['ASA median by week', 'CSAT by week', 'ASA mean by week', 'ASA p90 by week']);
    });
  });

  describe('loading, empty and error states', () => {
    it('shows a loading state while a section waits, and an error state when the API fails', async () => {
      await page.route('**/api/trends*', async (route) => {
        await new Promise((resolve) => setTimeout(resolve, 800));
        await route.fulfill({
          status: 500,
          contentType: 'application/json',
          body: JSON.stringify({ error: { code: 'INTERNAL', message: 'Something broke' } }),
        });
      });
      await page.goto('/');
      await page.waitForSelector('[data-testid="loading"]');
      await page.waitForSelector('[data-testid="error-state"]');
      await expect(page.getByTestId('error-state').innerText()).resolves.toContain('Something broke');
      // The other sections still show their figures.
      await page.waitForSelector('[data-testid="cell-total"]');
      await page.unroute('**/api/trends*');
      await page.getByRole('button', { name: 'Try again' }).click();
      await page.waitForSelector('figure[data-chart="CSAT by week"] canvas');
      const problems = watched.takeProblems();
      expect(problems.every((p) => p.includes('status of 500'))).toBe(true);
    });

    it('says when an account does not exist, and when a page does not', async () => {
      await visit('/accounts/999999999');
      await expect(page.getByTestId('error-state').innerText()).resolves.toContain('Not found');
      await visit('/no-such-page');
      await expect(page.getByTestId('page-error').innerText()).resolves.toContain('Page not found');
      const problems = watched.takeProblems();
      expect(problems.every((p) => p.includes('status of 404'))).toBe(true);
    });
  });

  describe('Status', () => {
    it('shows that the server and its databases are up', async () => {
      await visit('/status');
      await expect(page.getByTestId('health').getAttribute('data-status')).resolves.toBe('ok');
      await expect(page.getByTestId('database-status').innerText()).resolves.toBe('up');
    });
  });

  describe('Data', () => {
    it('creates and revokes a source, and shows an import with its progress and rejected rows', async () => {
      await visit('/data');
      await expect(page.getByTestId('empty-state').first().innerText()).resolves.toContain('No sources yet');

      await page.getByTestId('source-name').fill('Web app');
      await page.getByTestId('create-source').click();
      const key = await page.getByTestId('new-write-key').locator('code').innerText();
      expect(key.length).toBeGreaterThan(20);
      await page.waitForSelector('[data-testid="sources-table"] tr[data-source="Web app"]');
      const [source] = await db.query<{ revoked_at: Date | null }>(
        `SELECT revoked_at FROM sources WHERE name = 'Web app'`,
      );
      expect(source!.revoked_at).toBeNull();

      page.once('dialog', (dialog) => void dialog.accept());
      await page.locator('tr[data-source="Web app"]').getByRole('button', { name: 'Revoke' }).click();
      await page.waitForSelector('tr[data-source="Web app"] [data-status="revoked"]');

      await page.getByTestId('import-kind').selectOption('accounts');
      await page.getByTestId('import-file').setInputFiles({
        name: 'accounts.csv',
        mimeType: 'text/csv',
        buffer: Buffer.from(
          [
            'external_id,name,plan,mrr',
            'acc_browser_1,Browser One,pro,120',
            'acc_browser_2,Browser Two,pro,lots',
            '',
          ].join('\n'),
        ),
      });
      await page.getByTestId('upload-import').click();
      const row = page.locator('[data-testid="imports-table"] tr[data-import]').first();
      await page.waitForSelector('[data-testid="imports-table"] tr[data-import] [data-status="succeeded"]');
      await expect(row.innerText()).resolves.toContain('accounts.csv');
      await expect(row.locator('[role="progressbar"]').getAttribute('aria-valuenow')).resolves.toBe('100');

      await row.getByTestId('rejected-link').click();
      await page.waitForURL(/import=\d+/);
      await page.waitForSelector('[data-testid="rejected-table"] tbody tr');
      const rejected = await tableRows(page, '[data-testid="rejected-table"]');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]!.join(' ')).toContain('acc_browser_2');
      expect(rejected[0]!.join(' ')).toMatch(/mrr/);
      await settled(page);
      await screenshot(page, 'data');
    });
  });

  describe('Jobs', () => {
    it('runs the analytics job on demand and shows its progress to completion', async () => {
      await visit('/jobs');
      const before = (await latestRun())!;
      await expectChartsDrawn(['Run duration by stage', 'Churn model AUC per run']);

      // Record every progress value the page shows while the run goes on.
      await page.evaluate(() => {
        const seen: string[] = [];
        window.progressSeen = seen;
        const observer = new MutationObserver(() => {
          const bar = document.querySelector('[data-testid="run-progress"]');
          const status = document.querySelector('[data-testid="live-run"]')?.getAttribute('data-status');
          const value = `${status}:${bar?.getAttribute('aria-valuenow')}`;
          if (bar && seen.at(-1) !== value) seen.push(value);
        });
        observer.observe(document.body, { subtree: true, childList: true, attributes: true });
      });
      await page.locator('label', { hasText: 'Full rebuild' }).locator('input').check();
      await page.getByTestId('run-now').click();
      await page.waitForSelector('[data-testid="live-run"][data-status="running"]');
      await expect(page.getByTestId('run-now').isDisabled()).resolves.toBe(true);
      await page.waitForSelector('[data-testid="live-run"][data-status="succeeded"]', { timeout: 90_000 });

      const seen = await page.evaluate(() => window.progressSeen ?? []);
      const running = seen
        .filter((value) => value.startsWith('running:'))
        .map((value) => Number(value.split(':')[1]));
      expect(running.length).toBeGreaterThanOrEqual(2);
      expect(running.every((value, i) => i === 0 || running[i - 1]! <= value)).toBe(true);
      expect(seen.at(-1)).toBe('succeeded:100');
      await expect(page.getByTestId('live-progress').innerText()).resolves.toBe('100%');

      const after = (await latestRun())!;
      expect(after.id).toBe(before.id + 1);
      await page.waitForSelector(
        `[data-testid="runs-table"] tr[data-run="${after.id}"] [data-status="succeeded"]`,
      );
      await settled(page);
      await expectChartsDrawn(['Run duration by stage', 'Churn model AUC per run']);
      await screenshot(page, 'jobs');

      // The overview now names the new run.
      await visit('/');
      await expect(page.getByTestId('last-run').innerText()).resolves.toContain(`#${after.id}`);
    });
  });
});
