import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import {
  DELIVERY_STATUSES,
  type Delivery,
  type DeliveryKind,
  type DeliveryList,
  type DeliveryStatus,
  type WebhookBatch,
} from '@retain/contracts';
import { PG_POOL, inTransaction } from '../database/pg-pool.module.js';

/**
 * Puts the campaign's contacted members that are in no batch yet into new pending batches of at
 * most `batchSize`, on the caller's transaction. A member is in at most one batch (primary key),
 * so nobody is sent twice, and only a contacted one (the foreign key carries the group).
 */
export async function enqueueWebhookBatches(
  client: pg.ClientBase,
  campaignId: number,
  batchSize: number,
): Promise<number> {
  const { rows } = await client.query<{ contact_id: string }>(
    `SELECT m.contact_id FROM campaign_members m
     WHERE m.campaign_id = $1 AND m.member_group = 'contacted'
       AND NOT EXISTS (SELECT 1 FROM campaign_delivery_members d
                       WHERE d.campaign_id = m.campaign_id AND d.contact_id = m.contact_id)
     ORDER BY m.contact_id`,
    [campaignId],
  );
  let batches = 0;
  for (let i = 0; i < rows.length; i += batchSize) {
    const contacts = rows.slice(i, i + batchSize).map((r) => r.contact_id);
    const { rows: created } = await client.query<{ id: string }>(
      `INSERT INTO campaign_deliveries (campaign_id, kind, status, members, next_attempt_at)
       VALUES ($1, 'webhook', 'pending', $2, now()) RETURNING id`,
      [campaignId, contacts.length],
    );
    await client.query(
      `INSERT INTO campaign_delivery_members (campaign_id, contact_id, member_group, delivery_id)
       SELECT $1, contact_id, 'contacted', $3 FROM unnest($2::bigint[]) AS contact_id`,
      [campaignId, contacts, created[0]!.id],
    );
    batches++;
  }
  return batches;
}

/** A batch taken for one attempt, with what is needed to send it. */
export interface ClaimedBatch {
  id: string;
  campaignId: number;
  attempt: number;
  url: string;
  secret: string;
  body: WebhookBatch;
}

export interface AttemptRecord {
  deliveryId: string;
  attempt: number;
  startedAt: Date;
  durationMs: number;
  succeeded: boolean;
  httpStatus: number | null;
  error: string | null;
}

/** What happens to a batch after an attempt. */
export type AttemptResult =
  | { status: 'delivered' }
  | { status: 'pending'; nextAttemptAt: Date; error: string }
  | { status: 'failed'; error: string };

interface ClaimRow {
  id: string;
  campaign_id: string;
  attempts: number;
  created_at: Date;
  name: string;
  goal_event: string;
  goal_window_days: number;
  webhook_url: string;
  webhook_secret: string;
}

interface BatchMemberRow {
  contact_id: string;
  contact_external_id: string;
  email: string;
  name: string | null;
  role: string | null;
  account_external_id: string;
  account_name: string;
  segment: string | null;
  assigned_at: Date;
}

interface DeliveryRow {
  id: string;
  kind: DeliveryKind;
  status: DeliveryStatus;
  members: number;
  created_at: Date;
  delivered_at: Date | null;
  next_attempt_at: Date | null;
  last_error: string | null;
  attempts: {
    attempt: number;
    started_at: string;
    duration_ms: number;
    succeeded: boolean;
    http_status: number | null;
    error: string | null;
  }[];
}

const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  kind: r.kind,
  status: r.status,
  members: r.members,
  attempts: r.attempts.map((a) => ({
    attempt: a.attempt,
    startedAt: new Date(a.started_at).toISOString(),
    durationMs: a.duration_ms,
    succeeded: a.succeeded,
    httpStatus: a.http_status,
    error: a.error,
  })),
  createdAt: r.created_at.toISOString(),
  deliveredAt: r.delivered_at?.toISOString() ?? null,
  nextAttemptAt: r.status === 'pending' ? (r.next_attempt_at?.toISOString() ?? null) : null,
  lastError: r.last_error,
});

/** Webhook batches: claimed one at a time with a lease, so any number of API copies can send. */
@Injectable()
export class WebhookDeliveriesRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /**
   * Takes the most overdue batch of an active campaign that was due by `dueBy` (or whose sender's
   * lease ran out), counts the attempt and leases it for `leaseMs`; null when none is due.
   */
  async claim(leaseMs: number, dueBy: Date): Promise<ClaimedBatch | null> {
    return inTransaction(this.pool, async (client) => {
      const { rows } = await client.query<ClaimRow>(
        `UPDATE campaign_deliveries d
         SET status = 'sending', attempts = d.attempts + 1,
             lease_until = now() + make_interval(secs => $1::double precision / 1000)
         FROM campaigns c
         WHERE c.id = d.campaign_id AND d.id = (
           SELECT x.id FROM campaign_deliveries x JOIN campaigns xc ON xc.id = x.campaign_id
           WHERE xc.status = 'active' AND x.kind = 'webhook'
             AND ((x.status = 'pending' AND x.next_attempt_at <= $2)
                  OR (x.status = 'sending' AND x.lease_until < now()))
           ORDER BY x.next_attempt_at LIMIT 1 FOR UPDATE OF x SKIP LOCKED)
         RETURNING d.id, d.campaign_id, d.attempts, d.created_at, c.name, c.goal_event, c.goal_window_days,
                   c.webhook_url, c.webhook_secret`,
        [leaseMs, dueBy],
      );
      const row = rows[0];
      if (!row) return null;
      const { rows: members } = await client.query<BatchMemberRow>(
        `SELECT m.contact_id, ct.external_id AS contact_external_id, m.email, ct.name, ct.traits->>'role' AS role,
                a.external_id AS account_external_id, a.name AS account_name, m.segment, m.assigned_at
         FROM campaign_delivery_members dm
         JOIN campaign_members m ON m.campaign_id = dm.campaign_id AND m.contact_id = dm.contact_id
         JOIN contacts ct ON ct.id = m.contact_id
         JOIN accounts a ON a.id = m.account_id
         WHERE dm.delivery_id = $1 AND m.member_group = 'contacted'
         ORDER BY m.contact_id`,
        [row.id],
      );
      return {
        id: row.id,
        campaignId: Number(row.campaign_id),
        attempt: row.attempts,
        url: row.webhook_url,
        secret: row.webhook_secret,
        body: {
          deliveryId: row.id,
          campaign: {
            id: Number(row.campaign_id),
            name: row.name,
            goal: { event: row.goal_event, windowDays: row.goal_window_days },
          },
          createdAt: row.created_at.toISOString(),
          members: members.map((m) => ({
            contactId: Number(m.contact_id),
            contactExternalId: m.contact_external_id,
            email: m.email,
            name: m.name,
            role: m.role,
            accountExternalId: m.account_external_id,
            accountName: m.account_name,
            segment: m.segment,
            assignedAt: m.assigned_at.toISOString(),
          })),
        },
      };
    });
  }

  /**
   * Logs the attempt and settles the batch, unless its lease was lost meanwhile (another sender
   * took it over): then only the attempt is logged. Returns whether the batch was settled.
   */
  async settle(record: AttemptRecord, result: AttemptResult): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      await client.query(
        `INSERT INTO campaign_delivery_attempts
           (delivery_id, attempt, started_at, duration_ms, succeeded, http_status, error)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
        [
          record.deliveryId,
          record.attempt,
          record.startedAt,
          record.durationMs,
          record.succeeded,
          record.httpStatus,
          record.error,
        ],
      );
      const { rowCount } = await client.query(
        `UPDATE campaign_deliveries
         SET status = $3, lease_until = NULL,
             delivered_at = CASE WHEN $3 = 'delivered' THEN now() END,
             next_attempt_at = $4, last_error = $5
         WHERE id = $1 AND attempts = $2 AND status = 'sending'`,
        [
          record.deliveryId,
          record.attempt,
          result.status,
          result.status === 'pending' ? result.nextAttemptAt : null,
          result.status === 'delivered' ? null : result.error,
        ],
      );
      return Boolean(rowCount);
    });
  }

  /** The campaign's newest deliveries (up to 100) with their attempts, and totals over all of them. */
  async list(campaignId: number): Promise<DeliveryList> {
    const [deliveries, totals] = await Promise.all([
      this.pool.query<DeliveryRow>(
        `SELECT d.id, d.kind, d.status, d.members, d.created_at, d.delivered_at, d.next_attempt_at, d.last_error,
                COALESCE((SELECT json_agg(t ORDER BY t.attempt) FROM (
                  SELECT attempt, started_at, duration_ms, succeeded, http_status, error
                  FROM campaign_delivery_attempts WHERE delivery_id = d.id) t), '[]'::json) AS attempts
         FROM campaign_deliveries d WHERE d.campaign_id = $1
         ORDER BY d.created_at DESC, d.id LIMIT 100`,
        [campaignId],
      ),
      this.pool.query<{ kind: DeliveryKind; status: DeliveryStatus; batches: number; members: number }>(
        `SELECT kind, status, count(*)::int AS batches, COALESCE(sum(members), 0)::int AS members
         FROM campaign_deliveries WHERE campaign_id = $1 GROUP BY kind, status`,
        [campaignId],
      ),
    ]);
    const batches = Object.fromEntries(DELIVERY_STATUSES.map((s) => [s, 0])) as Record<
      DeliveryStatus,
      number
    >;
    let membersDelivered = 0;
    let membersPending = 0;
    let exports = 0;
    for (const t of totals.rows) {
      if (t.kind === 'export') {
        exports += t.batches;
        continue;
      }
      batches[t.status] += t.batches;
      if (t.status === 'delivered') membersDelivered += t.members;
      if (t.status === 'pending' || t.status === 'sending') membersPending += t.members;
    }
    return {
      deliveries: deliveries.rows.map(toDelivery),
      totals: { batches, membersDelivered, membersPending, exports },
    };
  }
}
