import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { AudienceRepository } from '../campaigns/audience.repository.js';
import { CampaignsRepository } from '../campaigns/campaigns.repository.js';
import { CampaignsService } from '../campaigns/campaigns.service.js';
import { WebhookDeliveriesRepository } from '../campaigns/webhook-deliveries.repository.js';
import { silentProgress } from '../common/progress/progress.js';
import { loadConfig } from '../config/config.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { DEMO_CAMPAIGNS, planDemoCampaigns } from './demo-campaigns.js';
import { DemoDataService } from './demo-data.service.js';
import { DEFAULT_DENSITY, planAccounts } from './demo-model.js';

jest.setTimeout(60_000);

const END = new Date('2026-06-01T00:00:00Z');
const REQUEST = { accounts: 2_000, days: 90, seed: 42, end: END, progress: silentProgress };

describe('demo campaigns: the planted effect is measured', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let dataDir: string;
  let campaigns: CampaignsService;

  beforeAll(async () => {
    db = await createTestDatabase('demo_campaigns');
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-demo-campaigns-'));
    await prepareDatabase(db.url);
    const config = loadConfig({ DATABASE_URL: db.url, DATA_DIR: dataDir });
    await new DemoDataService(config, {
      version: 'test',
      databaseUrl: db.url,
      embeddedDatabase: false,
    }).generate(REQUEST);
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    campaigns = new CampaignsService(
      new CampaignsRepository(pool),
      new AudienceRepository(pool),
      new WebhookDeliveriesRepository(pool),
    );
  });
  afterAll(async () => {
    await pool.end();
    await db.drop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const outcomeOf = async (name: string) => {
    const campaign = (await campaigns.list({ limit: 200, offset: 0 })).campaigns.find(
      (c) => c.name === name,
    )!;
    return campaigns.outcome(campaign.id);
  };

  it('counts exactly the members and conversions the generator planted', async () => {
    const options = { ...REQUEST, ...DEFAULT_DENSITY };
    const plans = planDemoCampaigns(planAccounts(options), options);
    expect(plans.map((p) => p.definition.name)).toEqual(DEMO_CAMPAIGNS.map((d) => d.name));
    for (const plan of plans) {
      const outcome = await outcomeOf(plan.definition.name);
      const group = (g: string) => plan.members.filter((m) => m.group === g);
      for (const g of ['contacted', 'holdout'] as const)
        expect(outcome[g]).toMatchObject({
          members: group(g).length,
          converted: group(g).filter((m) => m.converted !== null).length,
        });
      expect(outcome.openWindows).toBe(0);
    }
  });

  it('shows a positive uplift whose interval excludes zero for the campaign that worked', async () => {
    const outcome = await outcomeOf('Upgrade offer for experts on the starter plan');
    expect(outcome.uplift).toBeGreaterThan(0.08);
    expect(outcome.ci!.low).toBeGreaterThan(0);
    expect(outcome.significant).toBe(true);
  });

  it('shows an interval containing zero for the campaign that did nothing', async () => {
    const outcome = await outcomeOf('Set-up guide for stalled SMB novices');
    expect(outcome.ci!.low).toBeLessThan(0);
    expect(outcome.ci!.high).toBeGreaterThan(0);
    expect(outcome.significant).toBe(false);
  });

  it('records who was contacted, the holdout, the audience point and the export', async () => {
    const [campaign] = (await campaigns.list({ limit: 200, offset: 0 })).campaigns;
    const detail = await campaigns.get(campaign!.id);
    const { points } = await campaigns.history(campaign!.id);
    expect(points).toHaveLength(1);
    expect(points[0]!.members).toEqual(detail.members);
    const deliveries = await campaigns.deliveries(campaign!.id);
    expect(deliveries.deliveries).toMatchObject([{ kind: 'export', members: detail.members.contacted }]);
    const [unsubscribed] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM contacts WHERE traits->>'unsubscribed' = 'true'`,
    );
    expect(unsubscribed!.n).toBeGreaterThan(0);
  });
});
