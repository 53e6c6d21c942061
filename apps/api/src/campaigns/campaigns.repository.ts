import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import type {
  Audience,
  AudiencePoint,
  Campaign,
  CampaignChannel,
  CampaignGoal,
  CampaignGroup,
  CampaignListItem,
  CampaignMember,
  CampaignSchedule,
  FilterNode,
  Suppression,
  GoalEvent,
} from '@retain/contracts';
import { PG_POOL, checkOut, inTransaction } from '../database/pg-pool.module.js';
import { AUDIENCE_FROM, SqlParams, UNSUBSCRIBED, heldOut, suppressionReason } from './audience-sql.js';
import type { AudienceWhere } from './audience.repository.js';
import { enqueueWebhookBatches } from './webhook-deliveries.repository.js';

/** Serialises audience refreshes, so one campaign's new contacts count in the next one's suppression. */
const CAMPAIGNS_LOCK = 72_657_010;

export interface NewCampaign {
  name: string;
  description: string | null;
  channel: CampaignChannel;
  schedule: CampaignSchedule;
  goal: CampaignGoal;
  holdoutPct: number;
  holdoutSalt: string;
  audience: Audience;
  suppression: Suppression;
  webhook: { url: string; secret: string; batchSize: number } | null;
}

/** What a refresh needs to know about a campaign. */
export interface CampaignSpec {
  id: number;
  status: 'active' | 'stopped';
  channel: CampaignChannel;
  schedule: CampaignSchedule;
  audience: Audience;
  suppression: Suppression;
  holdoutPct: number;
  holdoutSalt: string;
  webhookBatchSize: number | null;
}

interface CampaignRow {
  id: string;
  name: string;
  description: string | null;
  status: 'active' | 'stopped';
  channel: CampaignChannel;
  schedule: CampaignSchedule;
  goal_event: string;
  goal_window_days: number;
  holdout_pct: number;
  holdout_salt: string;
  audience: { segments: string[]; filter?: FilterNode; primaryContactOnly: boolean };
  suppression: Suppression;
  webhook_url: string | null;
  webhook_secret: string | null;
  webhook_batch_size: number | null;
  created_at: Date;
  updated_at: Date;
  last_refreshed_at: Date | null;
  stopped_at: Date | null;
  contacted: number;
  holdout: number;
  contacted_accounts: number;
  holdout_accounts: number;
}

const COUNTS = `LEFT JOIN LATERAL (
    SELECT count(*) FILTER (WHERE m.member_group = 'contacted')::int AS contacted,
           count(*) FILTER (WHERE m.member_group = 'holdout')::int AS holdout,
           count(DISTINCT m.account_id) FILTER (WHERE m.member_group = 'contacted')::int AS contacted_accounts,
           count(DISTINCT m.account_id) FILTER (WHERE m.member_group = 'holdout')::int AS holdout_accounts
    FROM campaign_members m WHERE m.campaign_id = c.id) n ON true`;

const toListItem = (r: CampaignRow): CampaignListItem => ({
  id: Number(r.id),
  name: r.name,
  status: r.status,
  channel: r.channel,
  schedule: r.schedule,
  goal: { event: r.goal_event, windowDays: r.goal_window_days },
  holdoutPct: r.holdout_pct,
  members: { contacted: r.contacted, holdout: r.holdout },
  createdAt: r.created_at.toISOString(),
  lastRefreshedAt: r.last_refreshed_at?.toISOString() ?? null,
});

const toCampaign = (r: CampaignRow): Campaign => ({
  ...toListItem(r),
  description: r.description,
  audience: r.audience,
  suppression: r.suppression,
  memberAccounts: { contacted: r.contacted_accounts, holdout: r.holdout_accounts },
  webhook:
    r.webhook_url === null
      ? null
      : { url: r.webhook_url, batchSize: r.webhook_batch_size!, secretHint: r.webhook_secret!.slice(-4) },
  updatedAt: r.updated_at.toISOString(),
  stoppedAt: r.stopped_at?.toISOString() ?? null,
});

const toSpec = (r: CampaignRow): CampaignSpec => ({
  id: Number(r.id),
  status: r.status,
  channel: r.channel,
  schedule: r.schedule,
  audience: r.audience,
  suppression: r.suppression,
  holdoutPct: r.holdout_pct,
  holdoutSalt: r.holdout_salt,
  webhookBatchSize: r.webhook_batch_size,
});

interface RefreshRow {
  refreshed_at: Date;
  matched: number;
  suppressed_unsubscribed: number;
  suppressed_recent: number;
  suppressed_capped: number;
  added_contacted: number;
  added_holdout: number;
  members_contacted: number;
  members_holdout: number;
}

const toPoint = (r: RefreshRow): AudiencePoint => ({
  at: r.refreshed_at.toISOString(),
  matched: r.matched,
  suppressed: {
    unsubscribed: r.suppressed_unsubscribed,
    recentlyContacted: r.suppressed_recent,
    frequencyCapped: r.suppressed_capped,
  },
  added: { contacted: r.added_contacted, holdout: r.added_holdout },
  members: { contacted: r.members_contacted, holdout: r.members_holdout },
});

interface MemberRow {
  contact_id: string;
  contact_external_id: string;
  email: string;
  name: string | null;
  role: string | null;
  account_id: string;
  account_external_id: string;
  account_name: string;
  segment: string | null;
  member_group: CampaignGroup;
  assigned_at: Date;
  delivered_at: Date | null;
}

const toMember = (r: MemberRow): CampaignMember => ({
  contactId: Number(r.contact_id),
  contactExternalId: r.contact_external_id,
  email: r.email,
  name: r.name,
  role: r.role,
  accountId: Number(r.account_id),
  accountExternalId: r.account_external_id,
  accountName: r.account_name,
  segment: r.segment,
  group: r.member_group,
  assignedAt: r.assigned_at.toISOString(),
  deliveredAt: r.delivered_at?.toISOString() ?? null,
});

const MEMBER_COLUMNS = `m.contact_id, ct.external_id AS contact_external_id, m.email, ct.name,
  ct.traits->>'role' AS role, m.account_id, a.external_id AS account_external_id, a.name AS account_name,
  m.segment, m.member_group, m.assigned_at, d.delivered_at`;
const MEMBER_FROM = `campaign_members m
  JOIN contacts ct ON ct.id = m.contact_id
  JOIN accounts a ON a.id = m.account_id
  LEFT JOIN campaign_delivery_members dm ON dm.campaign_id = m.campaign_id AND dm.contact_id = m.contact_id
  LEFT JOIN campaign_deliveries d ON d.id = dm.delivery_id AND d.status = 'delivered'`;

/** Per group: member accounts, those converted, those whose window is still open, and conversion days. */
export interface OutcomeRow {
  group: CampaignGroup;
  members: number;
  converted: number;
  openWindows: number;
  /** Conversions per whole day after the member's time (index = day). */
  byDay: Map<number, number>;
}

/** Campaigns, their members and audience history: the only place campaign SQL lives, bar deliveries. */
@Injectable()
export class CampaignsRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** Saves the campaign and draws its first members (and webhook batches) in one transaction. */
  async create(campaign: NewCampaign, where: AudienceWhere): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock($1)`, [CAMPAIGNS_LOCK]);
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO campaigns (name, description, channel, schedule, goal_event, goal_window_days,
           holdout_pct, holdout_salt, audience, suppression, webhook_url, webhook_secret, webhook_batch_size)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
        [
          campaign.name,
          campaign.description,
          campaign.channel,
          campaign.schedule,
          campaign.goal.event,
          campaign.goal.windowDays,
          campaign.holdoutPct,
          campaign.holdoutSalt,
          JSON.stringify(campaign.audience),
          JSON.stringify(campaign.suppression),
          campaign.webhook?.url ?? null,
          campaign.webhook?.secret ?? null,
          campaign.webhook?.batchSize ?? null,
        ],
      );
      const id = Number(rows[0]!.id);
      await this.fill(client, {
        id,
        where,
        suppression: campaign.suppression,
        holdoutPct: campaign.holdoutPct,
        holdoutSalt: campaign.holdoutSalt,
        webhookBatchSize: campaign.webhook?.batchSize ?? null,
      });
      return id;
    });
  }

  /** Adds the audience's new matches as members (and webhook batches); null if it is not active. */
  async refresh(id: number, where: AudienceWhere): Promise<AudiencePoint | null> {
    return inTransaction(this.pool, async (client) => {
      await client.query(`SELECT pg_advisory_xact_lock($1)`, [CAMPAIGNS_LOCK]);
      const { rows } = await client.query<CampaignRow>(
        `SELECT * FROM campaigns WHERE id = $1 AND status = 'active' FOR UPDATE`,
        [id],
      );
      if (!rows[0]) return null;
      const spec = toSpec(rows[0]);
      return this.fill(client, { ...spec, where });
    });
  }

  /**
   * Draws members from the audience's matches that are not members yet: suppressed contacts are
   * left out (and counted), the rest are split per account into contacted and holdout, all at the
   * transaction's time. Records the refresh, and queues webhook batches for new contacted members.
   */
  private async fill(
    client: pg.ClientBase,
    spec: Pick<CampaignSpec, 'id' | 'suppression' | 'holdoutPct' | 'holdoutSalt' | 'webhookBatchSize'> & {
      where: AudienceWhere;
    },
  ): Promise<AudiencePoint> {
    const params = new SqlParams(spec.where.values);
    const id = params.add(spec.id);
    const reason = suppressionReason(
      spec.suppression,
      { contactId: 'f.contact_id', unsubscribed: 'f.unsubscribed' },
      params,
    );
    const holdout = heldOut('j.account_id', params.add(spec.holdoutSalt), params.add(spec.holdoutPct));
    const { rows } = await client.query<{
      matched: number;
      unsubscribed: number;
      recent: number;
      capped: number;
      contacted: number;
      holdout: number;
    }>(
      `WITH audience AS (
         SELECT c.id AS contact_id, a.id AS account_id, c.email, s.segment, ${UNSUBSCRIBED} AS unsubscribed
         FROM ${AUDIENCE_FROM} WHERE ${spec.where.sql}
       ),
       fresh AS (
         SELECT au.* FROM audience au
         WHERE NOT EXISTS (SELECT 1 FROM campaign_members m WHERE m.campaign_id = ${id} AND m.contact_id = au.contact_id)
       ),
       judged AS (SELECT f.*, ${reason} AS reason FROM fresh f),
       added AS (
         INSERT INTO campaign_members (campaign_id, contact_id, account_id, member_group, assigned_at, email, segment)
         SELECT ${id}, j.contact_id, j.account_id,
                CASE WHEN ${holdout} THEN 'holdout' ELSE 'contacted' END, now(), j.email, j.segment
         FROM judged j WHERE j.reason IS NULL
         RETURNING member_group
       )
       SELECT (SELECT count(*)::int FROM audience) AS matched,
              (SELECT count(*)::int FROM judged WHERE reason = 'unsubscribed') AS unsubscribed,
              (SELECT count(*)::int FROM judged WHERE reason = 'recent') AS recent,
              (SELECT count(*)::int FROM judged WHERE reason = 'capped') AS capped,
              (SELECT count(*)::int FROM added WHERE member_group = 'contacted') AS contacted,
              (SELECT count(*)::int FROM added WHERE member_group = 'holdout') AS holdout`,
      params.values,
    );
    const r = rows[0]!;
    const { rows: point } = await client.query<RefreshRow>(
      `INSERT INTO campaign_refreshes (campaign_id, refreshed_at, matched, suppressed_unsubscribed,
         suppressed_recent, suppressed_capped, added_contacted, added_holdout, members_contacted, members_holdout)
       SELECT $1::bigint, now(), $2::int, $3::int, $4::int, $5::int, $6::int, $7::int,
              count(*) FILTER (WHERE member_group = 'contacted'), count(*) FILTER (WHERE member_group = 'holdout')
       FROM campaign_members WHERE campaign_id = $1
       RETURNING *`,
      [spec.id, r.matched, r.unsubscribed, r.recent, r.capped, r.contacted, r.holdout],
    );
    await client.query(`UPDATE campaigns SET last_refreshed_at = now() WHERE id = $1`, [spec.id]);
    if (spec.webhookBatchSize !== null) await enqueueWebhookBatches(client, spec.id, spec.webhookBatchSize);
    return toPoint(point[0]!);
  }

  async findById(id: number): Promise<Campaign | null> {
    const { rows } = await this.pool.query<CampaignRow>(
      `SELECT * FROM campaigns c ${COUNTS} WHERE c.id = $1`,
      [id],
    );
    return rows[0] ? toCampaign(rows[0]) : null;
  }

  async findSpec(id: number): Promise<CampaignSpec | null> {
    const { rows } = await this.pool.query<CampaignRow>(`SELECT * FROM campaigns WHERE id = $1`, [id]);
    return rows[0] ? toSpec(rows[0]) : null;
  }

  /** One page of campaigns, newest first (member counts for that page only). */
  async list(limit: number, offset: number): Promise<CampaignListItem[]> {
    const { rows } = await this.pool.query<CampaignRow>(
      `SELECT * FROM (SELECT * FROM campaigns ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2) c ${COUNTS}
       ORDER BY c.created_at DESC, c.id DESC`,
      [limit, offset],
    );
    return rows.map(toListItem);
  }

  /** How many campaigns there are, how many are active, and how many contacts all of them contacted. */
  async listTotals(): Promise<{ total: number; active: number; contacted: number }> {
    const { rows } = await this.pool.query<{ total: number; active: number; contacted: number }>(
      `SELECT (SELECT count(*)::int FROM campaigns) AS total,
              (SELECT count(*)::int FROM campaigns WHERE status = 'active') AS active,
              (SELECT count(*)::int FROM campaign_members WHERE member_group = 'contacted') AS contacted`,
    );
    return rows[0]!;
  }

  /** The latest successful analytics run's id (the goal-event suggestions are kept per run), or 0. */
  async lastRunId(): Promise<number> {
    const { rows } = await this.pool.query<{ id: number | null }>(
      `SELECT max(id)::int AS id FROM analytics_runs WHERE status = 'succeeded'`,
    );
    return rows[0]?.id ?? 0;
  }

  /** Event names of the last `days` days with how often and by how many accounts, most frequent first. */
  async goalEvents(days: number): Promise<GoalEvent[]> {
    const { rows } = await this.pool.query<{ name: string; events: number; accounts: number; last: Date }>(
      `SELECT name, count(*)::int AS events, count(DISTINCT account_id)::int AS accounts, max(timestamp) AS last
       FROM events WHERE timestamp >= now() - make_interval(days => $1) AND timestamp <= now()
       GROUP BY name ORDER BY events DESC, name LIMIT 200`,
      [days],
    );
    return rows.map((r) => ({
      name: r.name,
      events: r.events,
      accounts: r.accounts,
      lastSeenAt: r.last ? r.last.toISOString() : null,
    }));
  }

  /** Active campaigns whose audience refreshes at every analytics run, oldest first. */
  async refreshingIds(): Promise<number[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT id FROM campaigns WHERE status = 'active' AND schedule = 'refresh' ORDER BY id`,
    );
    return rows.map((r) => Number(r.id));
  }

  /** Stops the campaign and cancels its unsent batches; false when it does not exist. */
  async stop(id: number): Promise<boolean> {
    return inTransaction(this.pool, async (client) => {
      const { rowCount } = await client.query(
        `UPDATE campaigns SET status = 'stopped', stopped_at = COALESCE(stopped_at, now()) WHERE id = $1`,
        [id],
      );
      if (!rowCount) return false;
      await client.query(
        `UPDATE campaign_deliveries SET status = 'cancelled', next_attempt_at = NULL
         WHERE campaign_id = $1 AND status = 'pending'`,
        [id],
      );
      return true;
    });
  }

  /** False when the campaign does not exist or has no webhook. */
  async setWebhookSecret(id: number, secret: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `UPDATE campaigns SET webhook_secret = $2 WHERE id = $1 AND channel = 'webhook'`,
      [id, secret],
    );
    return Boolean(rowCount);
  }

  /** A page of members in contact id order, after the given contact id (keyset). */
  async members(
    id: number,
    group: CampaignGroup | null,
    after: number,
    limit: number,
  ): Promise<CampaignMember[]> {
    const { rows } = await this.pool.query<MemberRow>(
      `SELECT ${MEMBER_COLUMNS} FROM ${MEMBER_FROM}
       WHERE m.campaign_id = $1 AND ($2::text IS NULL OR m.member_group = $2) AND m.contact_id > $3
       ORDER BY m.contact_id LIMIT $4`,
      [id, group, after, limit],
    );
    return rows.map(toMember);
  }

  async history(id: number): Promise<AudiencePoint[]> {
    const { rows } = await this.pool.query<RefreshRow>(
      `SELECT * FROM campaign_refreshes WHERE campaign_id = $1 ORDER BY refreshed_at, id`,
      [id],
    );
    return rows.map(toPoint);
  }

  async countContacted(id: number, since: Date | null): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM campaign_members
       WHERE campaign_id = $1 AND member_group = 'contacted' AND ($2::timestamptz IS NULL OR assigned_at > $2)`,
      [id, since],
    );
    return rows[0]!.n;
  }

  /**
   * Every contacted member (never the holdout) in contact id order, a batch at a time, from one
   * cursor in one read-only snapshot, so a refresh committing meanwhile cannot tear the file.
   */
  async *contacted(id: number, since: Date | null, batch = 2_000): AsyncGenerator<CampaignMember[]> {
    const out = await checkOut(this.pool);
    let broken = true;
    try {
      await out.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await out.client.query(
        `DECLARE campaign_export NO SCROLL CURSOR FOR
         SELECT ${MEMBER_COLUMNS} FROM ${MEMBER_FROM}
         WHERE m.campaign_id = $1 AND m.member_group = 'contacted'
           AND ($2::timestamptz IS NULL OR m.assigned_at > $2)
         ORDER BY m.contact_id`,
        [id, since],
      );
      for (;;) {
        const { rows } = await out.client.query<MemberRow>(`FETCH ${batch} FROM campaign_export`);
        if (rows.length === 0) break;
        yield rows.map(toMember);
      }
      await out.client.query('COMMIT');
      broken = false;
    } finally {
      if (broken)
        await out.client.query('ROLLBACK').then(
          () => (broken = false),
          () => undefined,
        );
      out.release(broken);
    }
  }

  /** Records a CSV export on the campaign's delivery log. */
  async logExport(id: number, members: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO campaign_deliveries (campaign_id, kind, status, members, delivered_at)
       VALUES ($1, 'export', 'delivered', $2, now())`,
      [id, members],
    );
  }

  /**
   * Goal conversion per group, counted per member account from its first member's time t0: the
   * first goal event of the account in (t0, t0 + window], up to now.
   */
  async outcome(id: number, goal: CampaignGoal): Promise<{ asOf: Date; groups: OutcomeRow[] }> {
    const { rows } = await this.pool.query<{
      member_group: CampaignGroup;
      day: number | null;
      accounts: number;
      open: number;
      as_of: Date;
    }>(
      `WITH member_accounts AS (
         SELECT account_id, member_group, min(assigned_at) AS t0
         FROM campaign_members WHERE campaign_id = $1 GROUP BY account_id, member_group
       ),
       converted AS (
         SELECT ma.member_group, ma.t0, ma.t0 + make_interval(days => $3::int) AS window_end,
                (SELECT min(e.timestamp) FROM events e
                 WHERE e.account_id = ma.account_id AND e.name = $2
                   AND e.timestamp > ma.t0 AND e.timestamp <= ma.t0 + make_interval(days => $3::int)
                   AND e.timestamp <= now()) AS converted_at
         FROM member_accounts ma
       )
       SELECT member_group,
              floor(extract(epoch FROM converted_at - t0) / 86400)::int AS day,
              count(*)::int AS accounts,
              count(*) FILTER (WHERE window_end > now())::int AS open,
              now() AS as_of
       FROM converted GROUP BY 1, 2`,
      [id, goal.event, goal.windowDays],
    );
    const groups = new Map<CampaignGroup, OutcomeRow>(
      (['contacted', 'holdout'] as const).map((group) => [
        group,
        { group, members: 0, converted: 0, openWindows: 0, byDay: new Map() },
      ]),
    );
    for (const r of rows) {
      const g = groups.get(r.member_group)!;
      g.members += r.accounts;
      g.openWindows += r.open;
      if (r.day !== null) {
        g.converted += r.accounts;
        g.byDay.set(r.day, r.accounts);
      }
    }
    return { asOf: rows[0]?.as_of ?? new Date(), groups: [...groups.values()] };
  }
}
