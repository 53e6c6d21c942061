import fs from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { parse } from 'csv-parse/sync';
import {
  AnalyticsRunListSchema,
  CAMPAIGN_EXPORT_COLUMNS,
  CampaignListSchema,
  GoalEventListSchema,
  CampaignMembersPageSchema,
  CampaignOutcomeSchema,
  CampaignPreviewSchema,
  CampaignSchema,
  type AudienceInput,
  type CampaignPreview,
} from '@retain/contracts';
import type { Browser, Page } from 'playwright-core';
import { formatCount, formatPointsChange } from '../../apps/web/src/lib/format.js';
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
  type Credentials,
  type WatchedPage,
} from './support/browser.js';
import type { InPageDocument } from './support/in-page.js';

declare const document: InPageDocument;

jest.setTimeout(120_000);

/** The suppression the builder starts with: unsubscribed contacts left out, no other rule. */
const DEFAULT_SUPPRESSION = { unsubscribed: true, recentlyContactedDays: null, frequencyCap: null };
const ADMINS_OF_SMB_NOVICES: AudienceInput = {
  segments: ['smb-novice'],
  filter: { all: [{ field: 'contact.role', op: 'eq', value: 'admin' }] },
  primaryContactOnly: false,
};

describe('campaigns in Chromium, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let admin: Credentials;
  let apiFetch: typeof fetch;
  let browser: Browser;
  let watched: WatchedPage;
  let page: Page;
  let createdId: number;

  const api = async (path: string, body?: unknown): Promise<unknown> => {
    const response = await apiFetch(`${retain.baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return response.json();
  };

  /** What the API previews for an audience, with the builder's default suppression. */
  const apiPreview = async (audience: AudienceInput): Promise<CampaignPreview> =>
    CampaignPreviewSchema.parse(
      await api('/api/campaigns/preview', { audience, suppression: DEFAULT_SUPPRESSION }),
    );

  async function visit(path: string): Promise<void> {
    await page.goto(path);
    await settled(page);
  }

  /** Waits until the live preview has answered and shows this many contacts. */
  async function previewShows(contacts: number): Promise<void> {
    await page.waitForFunction(
      (n) =>
        document.querySelector('[data-testid="preview-contacts"]')?.dataset.value === String(n) &&
        document.querySelector('[data-testid="audience-preview"]')?.getAttribute('aria-busy') === 'false',
      contacts,
    );
  }

  async function expectChartsDrawn(titles: string[]): Promise<void> {
    await page.waitForFunction(
      (expected) => expected.every((title) => document.querySelector(`figure[data-chart="${title}"] canvas`)),
      titles,
    );
    const ink = await chartInk(page);
    for (const title of titles)
      expect({ title, drawn: (ink[title] ?? 0) > 500 }).toEqual({ title, drawn: true });
    expect(await emptyCharts(page)).toEqual([]);
  }

  beforeAll(async () => {
    ({ db, retain, admin } = await startDemoServer('campaigns_browser'));
    apiFetch = await adminFetch(db.url);
    // The demo's first analytics run scores the accounts the audiences read.
    const deadline = Date.now() + 90_000;
    for (;;) {
      const [run] = AnalyticsRunListSchema.parse(await api('/api/jobs/analytics/runs')).runs;
      if (run?.status === 'succeeded') break;
      if (Date.now() > deadline || run?.status === 'failed')
        throw new Error('the analytics run did not succeed');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    browser = await launchChromium();
    watched = await openWatchedPage(browser, retain.baseUrl, admin);
    page = watched.page;
  });

  afterEach(() => {
    expect(watched?.takeProblems() ?? []).toEqual([]);
  });

  afterAll(async () => {
    await browser?.close();
    await retain?.stop();
    await db?.drop();
  });

  it('builds an audience with a live preview, saves the campaign and exports its contacted members', async () => {
    await page.goto('/');
    await page.getByRole('link', { name: 'Campaigns' }).click();
    await page.getByTestId('new-campaign').click();
    await page.waitForURL(/\/campaigns\/new$/);

    // Every scored account to start with, then one segment: the counts follow, as the API counts.
    await previewShows((await apiPreview({ segments: [] })).contacts);
    const segment = await apiPreview({ segments: ['smb-novice'] });
    await page.locator('[data-testid="segment-option"][data-key="smb-novice"] input').check();
    await previewShows(segment.contacts);
    await expect(page.getByTestId('preview-accounts').getAttribute('data-value')).resolves.toBe(
      String(segment.accounts),
    );
    await expectChartsDrawn(['Audience by segment']);

    // A filter over a contact field: only the admins. Counted again, and by hand in SQL.
    const admins = await apiPreview(ADMINS_OF_SMB_NOVICES);
    expect(admins.contacts).toBeGreaterThan(0);
    expect(admins.contacts).toBeLessThan(segment.contacts);
    await page.getByTestId('add-condition').click();
    await page.getByTestId('condition-field').selectOption('contact.role');
    await page.getByTestId('condition-op').selectOption('eq');
    await page.getByTestId('condition-value').fill('admin');
    await previewShows(admins.contacts);
    const [byHand] = await db.query<{ contacts: number; accounts: number }>(
      `SELECT count(*)::int AS contacts, count(DISTINCT a.id)::int AS accounts
       FROM contacts c JOIN accounts a ON a.id = c.account_id JOIN account_scores s ON s.account_id = a.id
       WHERE c.email LIKE '%_@_%' AND c.email NOT LIKE '%@%@%' AND s.segment = 'smb-novice' AND c.traits->>'role' = 'admin'`,
    );
    expect({ contacts: admins.contacts, accounts: admins.accounts }).toEqual(byHand);
    await expect(page.getByTestId('preview-reachable').getAttribute('data-value')).resolves.toBe(
      String(admins.suppression!.contacts),
    );

    // A 400 from the preview names the bad part beside the condition, and the page goes on.
    await page.getByTestId('add-condition').click();
    await page.getByTestId('condition-field').nth(1).selectOption('trait.');
    await page.getByTestId('condition-trait-key').fill('not a key');
    await page.getByTestId('condition-value').nth(1).fill('x');
    await page.waitForSelector('[data-testid="preview-error"]');
    await expect(page.getByTestId('condition-issue').innerText()).resolves.toContain('trait keys');
    await page.getByTestId('remove-condition').nth(1).click();
    await page.waitForSelector('[data-testid="preview-error"]', { state: 'detached' });
    await previewShows(admins.contacts);
    expect(watched.takeProblems().every((problem) => problem.includes('status of 400'))).toBe(true);
    await screenshot(page, 'campaign-builder');

    // The goal field suggests the event names products sent lately, as the API lists them.
    const { events } = GoalEventListSchema.parse(await api('/api/campaigns/goal-events'));
    await expect(
      page.locator('#goal-examples option').evaluateAll((options) => options.length),
    ).resolves.toBe(events.length);
    expect(await page.locator('#goal-examples option').first().getAttribute('value')).toBe(events[0]!.name);

    // Saving without a name: the API's 400 shows beside the form, naming the field.
    await page.getByTestId('goal-event').fill('onboarding_completed');
    await page.getByTestId('save-campaign').click();
    await expect(page.getByTestId('form-errors').innerText()).resolves.toContain('name: must not be empty');
    await expect(
      page.getByTestId('campaign-name').locator('xpath=..').locator('[role="alert"]').innerText(),
    ).resolves.toBe('must not be empty');
    expect(watched.takeProblems().every((problem) => problem.includes('status of 400'))).toBe(true);

    await page.getByTestId('campaign-name').fill('Admins of SMB novices');
    await page.getByTestId('goal-window').fill('14');
    await page.getByTestId('save-campaign').click();
    await page.waitForURL(/\/campaigns\/\d+$/);
    createdId = Number(new URL(page.url()).pathname.split('/').pop());
    await settled(page);

    // The members are the preview's audience after suppression, split into contacted and holdout.
    const campaign = CampaignSchema.parse(await api(`/api/campaigns/${createdId}`));
    expect(campaign.members.contacted + campaign.members.holdout).toBe(admins.suppression!.contacts);
    expect(campaign.members.contacted).toBeGreaterThan(0);
    await expect(page.locator('h1').innerText()).resolves.toContain('Admins of SMB novices');
    await expect(page.getByTestId('stat-contacted-value').innerText()).resolves.toBe(
      formatCount(campaign.members.contacted),
    );
    await expect(
      page.locator('[data-testid="campaign-facts"] [data-field="goal"]').innerText(),
    ).resolves.toBe('onboarding_completed within 14 days');
    await expectChartsDrawn(['Members after each refresh']);

    // The export: a header and exactly the contacted members, never the holdout.
    const download = page.waitForEvent('download');
    await page.getByTestId('export-csv').click();
    const csv = fs.readFileSync((await (await download).path())!, 'utf8');
    expect(csv.split(/\r?\n/)[0]).toBe(CAMPAIGN_EXPORT_COLUMNS.join(','));
    const rows: Record<string, string>[] = parse(csv, { columns: true });
    expect(rows).toHaveLength(campaign.members.contacted);
    const contacted = CampaignMembersPageSchema.parse(
      await api(`/api/campaigns/${createdId}/members?group=contacted&limit=500`),
    ).members;
    expect(rows.map((row) => row.email).sort()).toEqual(contacted.map((member) => member.email).sort());
    // The export is logged as a delivery, and the page shows it.
    await page.waitForSelector('[data-testid="deliveries-table"] tr[data-kind="export"]');
    await settled(page);
    await screenshot(page, 'campaign-new');

    // Refresh lets new matches join (none since a moment ago), then stop: no refresh any more.
    await page.getByTestId('refresh-campaign').click();
    await expect(page.getByTestId('action-message').innerText()).resolves.toMatch(/^No new members/);
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="history-table"] tbody tr').length === 2,
    );
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByTestId('stop-campaign').click();
    await page.waitForSelector('[data-testid="campaign-header"] [data-status="stopped"]');
    expect(await page.getByTestId('refresh-campaign').count()).toBe(0);
  });

  it('lists the new campaign beside the demo campaigns', async () => {
    await visit('/campaigns');
    const { campaigns } = CampaignListSchema.parse(await api('/api/campaigns'));
    expect(campaigns.length).toBeGreaterThanOrEqual(3);
    expect(await page.locator('[data-testid="campaigns-table"] tbody tr').count()).toBe(campaigns.length);
    const row = page.locator(`[data-testid="campaigns-table"] tr[data-campaign-id="${createdId}"]`);
    await expect(row.locator('a').innerText()).resolves.toBe('Admins of SMB novices');
    const created = campaigns.find((c) => c.id === createdId)!;
    await expect(row.locator('[data-field="contacted"]').getAttribute('data-value')).resolves.toBe(
      String(created.members.contacted),
    );
    await screenshot(page, 'campaigns');
  });

  it('shows a demo campaign’s outcome: conversion contacted against holdout, the uplift and its interval', async () => {
    const { campaigns } = CampaignListSchema.parse(await api('/api/campaigns'));
    const demo = campaigns.find((c) => c.goal.event === 'plan_upgraded')!;
    expect(demo).toBeDefined();
    const outcome = CampaignOutcomeSchema.parse(await api(`/api/campaigns/${demo.id}/outcome`));

    await visit('/campaigns');
    await page.locator(`[data-testid="campaigns-table"] tr[data-campaign-id="${demo.id}"] a`).click();
    await page.waitForURL(new RegExp(`/campaigns/${demo.id}$`));
    await settled(page);
    await expectChartsDrawn(['Goal conversion by day since contact', 'Members after each refresh']);

    await expect(page.getByTestId('outcome-contacted').innerText()).resolves.toContain(
      `${formatCount(outcome.contacted.converted)} of ${formatCount(outcome.contacted.members)} accounts`,
    );
    await expect(page.getByTestId('outcome-holdout').innerText()).resolves.toContain(
      `${formatCount(outcome.holdout.converted)} of ${formatCount(outcome.holdout.members)} accounts`,
    );
    await expect(page.getByTestId('outcome-uplift-value').innerText()).resolves.toBe(
      formatPointsChange(outcome.uplift! * 100),
    );
    const interval = page.getByTestId('uplift-interval');
    await expect(interval.getAttribute('data-low')).resolves.toBe(String(outcome.ci!.low));
    await expect(interval.getAttribute('data-high')).resolves.toBe(String(outcome.ci!.high));
    await expect(page.getByTestId('outcome-verdict').innerText()).resolves.toMatch(
      outcome.significant ? /^It (worked|backfired)/ : /^Not conclusive/,
    );
    expect(await page.locator('[data-testid="members-table"] tbody tr').count()).toBe(
      Math.min(25, demo.members.contacted + demo.members.holdout),
    );
    await screenshot(page, 'campaign');

    // A campaign that does not exist: one "not found", not a broken page.
    await visit('/campaigns/999999999');
    await expect(page.getByTestId('error-state').innerText()).resolves.toContain('Not found');
    expect(await page.getByTestId('error-state').count()).toBe(1);
    expect(watched.takeProblems().every((problem) => problem.includes('status of 404'))).toBe(true);
  });
});
