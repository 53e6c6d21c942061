import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import pg from 'pg';
import {
  CreateCampaignRequestSchema,
  WEBHOOK_ATTEMPT_HEADER,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  WebhookBatchSchema,
  type WebhookBatch,
} from '@retain/contracts';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/test-database.js';
import { freePort } from '../../../../test/support/retain-process.js';
import { prepareDatabase } from '../database/prepare-database.js';
import { AudienceRepository } from './audience.repository.js';
import { CampaignsRepository } from './campaigns.repository.js';
import { CampaignsService } from './campaigns.service.js';
import { WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';
import { WebhookDeliveryService, signWebhookBody, type WebhookPolicy } from './webhook-delivery.service.js';

jest.setTimeout(60_000);

const POLICY: WebhookPolicy = {
  timeoutMs: 300,
  maxAttempts: 5,
  baseDelayMs: 20,
  maxDelayMs: 100,
  intervalMs: 1_000,
};

interface Received {
  deliveryId: string;
  attempt: number;
  signatureValid: boolean;
  batch: WebhookBatch;
}

/**
 * A webhook receiver on 127.0.0.1 that answers each batch's first request 503, leaves its second
 * unanswered (the sender times out), and accepts the third; it keeps what it accepted.
 */
class FlakyReceiver {
  readonly seen = new Map<string, number>();
  readonly accepted: Received[] = [];
  readonly requests: Received[] = [];
  private server: http.Server | null = null;
  secret = '';

  constructor(readonly port: number) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const received: Received = {
          deliveryId: String(req.headers[WEBHOOK_DELIVERY_HEADER]),
          attempt: Number(req.headers[WEBHOOK_ATTEMPT_HEADER]),
          signatureValid: req.headers[WEBHOOK_SIGNATURE_HEADER] === signWebhookBody(this.secret, raw),
          batch: WebhookBatchSchema.parse(JSON.parse(raw)),
        };
        this.requests.push(received);
        if (req.url === '/gone') return void res.writeHead(410).end();
        if (req.url === '/broken') return void res.writeHead(500).end();
        const n = (this.seen.get(received.deliveryId) ?? 0) + 1;
        this.seen.set(received.deliveryId, n);
        if (n === 1) return void res.writeHead(503).end('busy');
        if (n === 2) return void setTimeout(() => res.writeHead(200).end(), 1_000);
        this.accepted.push(received);
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.port, '127.0.0.1', resolve));
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('webhook delivery to a flaky receiver', () => {
  let db: TestDatabase;
  let pool: pg.Pool;
  let campaigns: CampaignsService;
  let sender: WebhookDeliveryService;
  let receiver: FlakyReceiver;

  const deliverAll = async (deadlineMs = 15_000): Promise<void> => {
    const deadline = Date.now() + deadlineMs;
    for (;;) {
      await sender.deliverDue();
      const [open] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM campaign_deliveries WHERE status IN ('pending', 'sending')`,
      );
      if (open!.n === 0) return;
      if (Date.now() > deadline) throw new Error(`${open!.n} batches still open`);
      await new Promise((r) => setTimeout(r, 30));
    }
  };

  const create = (name: string, path: string, batchSize = 7) =>
    campaigns.create(
      CreateCampaignRequestSchema.parse({
        name,
        goal: { event: 'plan_upgraded', windowDays: 30 },
        channel: 'webhook',
        holdoutPct: 30,
        audience: { segments: [] },
        webhook: { url: `http://127.0.0.1:${receiver.port}${path}`, batchSize },
      }),
    );

  beforeAll(async () => {
    db = await createTestDatabase('campaign_webhooks');
    await prepareDatabase(db.url);
    pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    const deliveries = new WebhookDeliveriesRepository(pool);
    campaigns = new CampaignsService(new CampaignsRepository(pool), new AudienceRepository(pool), deliveries);
    sender = new WebhookDeliveryService(deliveries, POLICY);
    receiver = new FlakyReceiver(await freePort());
    for (let i = 1; i <= 30; i++) {
      const [account] = await db.query<{ id: string }>(
        `INSERT INTO accounts (external_id, name, created_at) VALUES ($1, $2, now()) RETURNING id`,
        [`acc_${i}`, `Account ${i}`],
      );
      await db.query(
        `INSERT INTO account_scores (account_id, run_id, tier, proficiency, segment, computed_at)
         VALUES ($1, 1, 'smb', 'novice', 'smb-novice', now())`,
        [account!.id],
      );
      for (const j of [1, 2])
        await db.query(
          `INSERT INTO contacts (external_id, account_id, email, name) VALUES ($1, $2, $3, $4)`,
          [`usr_${i}_${j}`, account!.id, `p${i}.${j}@example.com`, `Person ${i}.${j}`],
        );
    }
  });
  afterAll(async () => {
    // The database goes first (its drop ends any connection still open), so a receiver or pool that
    // is slow to close on a loaded machine never leaves it behind.
    await db.drop();
    await Promise.allSettled([receiver.stop(), pool.end()]);
  });

  it('delivers every contacted member exactly once despite refusals, 503s and timeouts, never the holdout', async () => {
    const campaign = await create('flaky', '/hook');
    receiver.secret = campaign.webhookSecret!;
    const contacted = (
      await db.query<{ id: number }>(
        `SELECT contact_id::int AS id FROM campaign_members WHERE campaign_id = $1 AND member_group = 'contacted'
         ORDER BY 1`,
        [campaign.id],
      )
    ).map((r) => r.id);
    const holdout = await db.query<{ id: number }>(
      `SELECT contact_id::int AS id FROM campaign_members WHERE campaign_id = $1 AND member_group = 'holdout'`,
      [campaign.id],
    );
    expect(holdout.length).toBeGreaterThan(0);
    const batches = Math.ceil(contacted.length / 7);

    // Nobody listens yet: every batch is refused, and waits for its retry.
    expect(await sender.deliverDue()).toEqual({ delivered: 0, retrying: batches, failed: 0 });
    await receiver.start();
    await deliverAll();

    const delivered = receiver.accepted.flatMap((r) => r.batch.members.map((m) => m.contactId));
    expect([...delivered].sort((x, y) => x - y)).toEqual(contacted);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(new Set(receiver.accepted.map((r) => r.deliveryId)).size).toBe(batches);
    const everySent = receiver.requests.flatMap((r) => r.batch.members.map((m) => m.contactId));
    expect(everySent.filter((id) => holdout.some((h) => h.id === id))).toEqual([]);
    expect(receiver.requests.every((r) => r.signatureValid)).toBe(true);
    expect(receiver.accepted.every((r) => r.attempt === 4 && r.batch.deliveryId === r.deliveryId)).toBe(true);

    const list = await campaigns.deliveries(campaign.id);
    expect(list.totals).toMatchObject({ membersDelivered: contacted.length, membersPending: 0 });
    expect(list.totals.batches).toMatchObject({ delivered: batches, pending: 0, failed: 0 });
    for (const delivery of list.deliveries) {
      expect(delivery.status).toBe('delivered');
      expect(delivery.attempts.map((a) => [a.attempt, a.succeeded, a.httpStatus])).toEqual([
        [1, false, null],
        [2, false, 503],
        [3, false, null],
        [4, true, 200],
      ]);
      expect(delivery.attempts[0]!.error).toBe('connection failed: ECONNREFUSED');
      expect(delivery.attempts[2]!.error).toBe('no answer within 300 ms');
      expect(delivery.attempts[2]!.durationMs).toBeGreaterThanOrEqual(250);
    }

    // Nothing is due any more, and refreshing the audience adds no batch: nobody is sent twice.
    expect(await sender.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
    await campaigns.refresh(campaign.id);
    expect(await sender.deliverDue()).toEqual({ delivered: 0, retrying: 0, failed: 0 });
  });

  it('refuses, in the schema, a member in two batches or a holdout member in any', async () => {
    const [member] = await db.query<{ campaign_id: string; contact_id: string; delivery_id: string }>(
      `SELECT campaign_id, contact_id, delivery_id FROM campaign_delivery_members LIMIT 1`,
    );
    const [other] = await db.query<{ id: string }>(
      `INSERT INTO campaign_deliveries (campaign_id, kind, status, members) VALUES ($1, 'webhook', 'pending', 1)
       RETURNING id`,
      [member!.campaign_id],
    );
    await expect(
      db.query(
        `INSERT INTO campaign_delivery_members (campaign_id, contact_id, member_group, delivery_id)
         VALUES ($1, $2, 'contacted', $3)`,
        [member!.campaign_id, member!.contact_id, other!.id],
      ),
    ).rejects.toMatchObject({ code: '23505' });
    const [held] = await db.query<{ campaign_id: string; contact_id: string }>(
      `SELECT campaign_id, contact_id FROM campaign_members WHERE member_group = 'holdout' LIMIT 1`,
    );
    await expect(
      db.query(
        `INSERT INTO campaign_delivery_members (campaign_id, contact_id, member_group, delivery_id)
         VALUES ($1, $2, 'contacted', $3)`,
        [held!.campaign_id, held!.contact_id, other!.id],
      ),
    ).rejects.toMatchObject({ code: '23503' });
    await db.query(`DELETE FROM campaign_deliveries WHERE id = $1`, [other!.id]);
  });

  it('gives up at once on a refusal, and after the last attempt on server errors', async () => {
    const gone = await create('gone', '/gone', 1_000);
    const broken = await create('broken', '/broken', 1_000);
    await deliverAll();
    const [goneList, brokenList] = await Promise.all([
      campaigns.deliveries(gone.id),
      campaigns.deliveries(broken.id),
    ]);
    expect(goneList.deliveries.map((d) => [d.status, d.attempts.length, d.lastError])).toEqual([
      ['failed', 1, 'answered 410'],
    ]);
    expect(brokenList.deliveries.map((d) => [d.status, d.attempts.length, d.lastError])).toEqual([
      ['failed', POLICY.maxAttempts, 'answered 500'],
    ]);
  });

  it('takes over a batch whose sender stopped mid-attempt once its lease ends', async () => {
    const campaign = await create('taken over', '/hook', 1_000);
    receiver.secret = campaign.webhookSecret!;
    await db.query(
      `UPDATE campaign_deliveries SET status = 'sending', attempts = 1, lease_until = now() - interval '1 second'
       WHERE campaign_id = $1`,
      [campaign.id],
    );
    await deliverAll();
    const [delivery] = (await campaigns.deliveries(campaign.id)).deliveries;
    expect(delivery).toMatchObject({ status: 'delivered' });
    expect(delivery!.attempts.map((a) => a.attempt)).toEqual([2, 3, 4]);
  });
});
