import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import {
  riskBandOf,
  type Account360,
  type AccountActivity,
  type AccountTicket,
  type KeyFeatures,
} from '@retain/contracts';
import { PG_POOL } from '../database/pg-pool.module.js';
import {
  featureNumber,
  isoText,
  num,
  rated,
  responseMinutes,
  satisfied,
  toChurnReasons,
  toUpsellReasons,
  statement,
} from './dashboard-sql.js';

/** Where each key feature comes from in account_scores.features (see 01_account_features.sql). */
const KEY_FEATURES: Record<keyof KeyFeatures, string> = {
  tenureDays: 'tenure_days',
  events30d: 'events_30d',
  activityTrend: 'activity_trend',
  activeUsers30d: 'active_users_30d',
  activeUsersGrowth: 'active_users_growth',
  seatUtilisation: 'seat_utilisation',
  daysSinceLastSeen: 'days_since_last_seen',
  distinctFeatures30d: 'distinct_features_30d',
  advancedShare90d: 'advanced_share_90d',
  onboardingCompletion: 'onboarding_completion',
  timeToValueDays: 'time_to_value_days',
  tickets90d: 'tickets_90d',
  howtoShare90d: 'howto_share_90d',
  openTickets: 'open_tickets',
  asaMinutes90d: 'asa_minutes_90d',
  csatPct90d: 'csat_pct_90d',
  planLimitHits90d: 'plan_limit_hits_90d',
  addonInterest90d: 'addon_interest_90d',
};

const toKeyFeatures = (features: Record<string, unknown> | null): KeyFeatures =>
  Object.fromEntries(
    Object.entries(KEY_FEATURES).map(([name, column]) => [name, featureNumber(features?.[column])]),
  ) as KeyFeatures;

interface AccountPageRow {
  id: string;
  external_id: string;
  name: string;
  plan: string | null;
  mrr: string | null;
  seats: number | null;
  employees: number | null;
  region: string | null;
  owner: string | null;
  created_at: Date;
  churned_at: Date | null;
  renewal_date: string | null;
  traits: Record<string, unknown>;
  run_id: string | null;
  computed_at: Date | null;
  tier: string | null;
  proficiency: string | null;
  proficiency_score: number | null;
  segment: string | null;
  churn_risk: number | null;
  health: number | null;
  churn_reasons: unknown;
  upsell_score: number | null;
  upsell_reasons: unknown;
  features: Record<string, unknown> | null;
  custom_segments: { id: number; name: string }[];
  risk_trend: Account360['riskTrend'];
  contacts_total: number;
  contacts: Account360['contacts']['rows'];
  segment_history: Account360['segmentHistory'];
}

interface TicketRow {
  id: string;
  external_id: string;
  channel: string;
  subject: string | null;
  status: string;
  priority: string | null;
  created_at: Date;
  response_minutes: number | null;
  solved_at: Date | null;
  csat_score: number | null;
  csat_scale: 'five_point' | 'good_bad' | null;
  satisfied: boolean | null;
  csat_comment: string | null;
}

/** Reads of one account: its page, its weekly activity and its tickets. */
@Injectable()
export class Account360Repository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** The account page in one round trip; null when there is no such account. */
  async page(id: number, contactsCap: number): Promise<Account360 | null> {
    const { rows } = await this.pool.query<AccountPageRow>(
      statement(
        `SELECT a.id, a.external_id, a.name, a.plan, a.mrr, a.seats, a.employees, a.region, a.owner,
              a.created_at, a.churned_at, to_char(a.renewal_date, 'YYYY-MM-DD') AS renewal_date, a.traits,
              s.run_id, s.computed_at, s.tier, s.proficiency, s.proficiency_score, s.segment, s.churn_risk,
              s.health, s.churn_reasons, s.upsell_score, s.upsell_reasons, s.features,
              (SELECT COALESCE(json_agg(json_build_object('id', c.id, 'name', c.name) ORDER BY c.name), '[]')
               FROM custom_segment_members m JOIN custom_segments c ON c.id = m.segment_id
               WHERE m.account_id = a.id) AS custom_segments,
              (SELECT COALESCE(json_agg(json_build_object(
                        'asOf', to_char(h.as_of, 'YYYY-MM-DD'), 'churnRisk', h.churn_risk, 'health', h.health,
                        'upsellScore', h.upsell_score, 'segment', h.segment, 'backfilled', h.backfilled)
                      ORDER BY h.as_of), '[]')
               FROM account_score_history h
               WHERE h.account_id = a.id AND h.as_of >= current_date - 400) AS risk_trend,
              (SELECT count(*)::int FROM contacts c WHERE c.account_id = a.id) AS contacts_total,
              (SELECT COALESCE(json_agg(json_build_object(
                        'id', c.id, 'externalId', c.external_id, 'name', c.name, 'email', c.email,
                        'createdAt', ${isoText('c.created_at')})
                      ORDER BY c.name, c.id), '[]')
               FROM (SELECT * FROM contacts WHERE account_id = a.id
                     ORDER BY name NULLS LAST, id LIMIT $2) c) AS contacts,
              (SELECT COALESCE(json_agg(json_build_object(
                        'runId', m.run_id, 'from', m.from_segment, 'to', m.to_segment,
                        'movedAt', ${isoText('m.moved_at')})
                      ORDER BY m.moved_at DESC, m.id DESC), '[]')
               FROM (SELECT * FROM segment_movements WHERE account_id = a.id
                     ORDER BY moved_at DESC, id DESC LIMIT 100) m) AS segment_history
       FROM accounts a LEFT JOIN account_scores s ON s.account_id = a.id
       WHERE a.id = $1`,
        [id, contactsCap],
      ),
    );
    const r = rows[0];
    if (!r) return null;
    return {
      account: {
        id: Number(r.id),
        externalId: r.external_id,
        name: r.name,
        plan: r.plan,
        mrr: num(r.mrr),
        seats: r.seats,
        employees: r.employees,
        region: r.region,
        owner: r.owner,
        createdAt: r.created_at.toISOString(),
        churnedAt: r.churned_at?.toISOString() ?? null,
        renewalDate: r.renewal_date,
        traits: r.traits,
      },
      score:
        r.run_id === null || r.computed_at === null
          ? null
          : {
              runId: Number(r.run_id),
              computedAt: r.computed_at.toISOString(),
              tier: r.tier ?? '',
              proficiency: r.proficiency ?? '',
              proficiencyScore: r.proficiency_score,
              segment: r.segment ?? '',
              customSegments: r.custom_segments,
              churnRisk: r.churn_risk,
              riskBand: riskBandOf(r.churn_risk),
              health: r.health,
              churnReasons: toChurnReasons(r.churn_reasons),
              upsellScore: r.upsell_score,
              upsellReasons: toUpsellReasons(r.upsell_reasons),
              keyFeatures: toKeyFeatures(r.features),
            },
      riskTrend: r.risk_trend,
      contacts: { total: r.contacts_total, rows: r.contacts },
      segmentHistory: r.segment_history,
    };
  }

  /** The account's owner: undefined when the account does not exist, null when it has none. */
  async ownerOf(id: number): Promise<string | null | undefined> {
    const { rows } = await this.pool.query<{ owner: string | null }>(
      statement(`SELECT owner FROM accounts WHERE id = $1`, [id]),
    );
    return rows.length ? rows[0]!.owner : undefined;
  }

  async exists(id: number): Promise<boolean> {
    const { rows } = await this.pool.query(statement(`SELECT 1 FROM accounts WHERE id = $1`, [id]));
    return rows.length > 0;
  }

  /**
   * Events and distinct active contacts per ISO week (UTC) in [from, to), both Mondays; weeks without
   * any are left out. Complete weeks come from the weekly rollup (see account-activity-rollup.ts), the
   * rest (this week, or every week before the first refresh) from the account's events.
   */
  async weeklyActivity(id: number, from: string, to: string): Promise<AccountActivity['weeks']> {
    const { rows } = await this.pool.query<AccountActivity['weeks'][number]>(
      statement(
        `WITH rollup AS (
           SELECT COALESCE((SELECT complete_before FROM account_activity_rollup), '-infinity') AS complete_before
         )
         SELECT to_char(w.week, 'YYYY-MM-DD') AS week, w.events, w.active_users AS "activeUsers"
         FROM account_activity_weeks w
         WHERE w.account_id = $1 AND w.week >= $2::date AND w.week < least($3::date, (SELECT complete_before FROM rollup))
         UNION ALL
         SELECT to_char(date_trunc('week', timestamp AT TIME ZONE 'UTC'), 'YYYY-MM-DD'),
                count(*)::int, count(DISTINCT contact_id)::int
         FROM events
         WHERE account_id = $1 AND timestamp < $3::date::timestamp AT TIME ZONE 'UTC'
           AND timestamp >= greatest($2::date, (SELECT complete_before FROM rollup))::timestamp AT TIME ZONE 'UTC'
         GROUP BY 1
         ORDER BY 1`,
        [id, from, to],
      ),
    );
    return rows;
  }

  async ticketCount(id: number): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      statement(`SELECT count(*)::int AS n FROM tickets WHERE account_id = $1`, [id]),
    );
    return rows[0]?.n ?? 0;
  }

  /** The account's tickets, newest first. */
  async tickets(id: number, limit: number, offset: number): Promise<AccountTicket[]> {
    const { rows } = await this.pool.query<TicketRow>(
      statement(
        `SELECT t.id, t.external_id, t.channel, t.subject, t.status, t.priority, t.created_at,
              ${responseMinutes('t')}::float8 AS response_minutes, t.solved_at, t.csat_score, t.csat_scale,
              CASE WHEN ${rated('t')} THEN ${satisfied('t')} END AS satisfied, t.csat_comment
       FROM tickets t WHERE t.account_id = $1
       ORDER BY t.created_at DESC, t.id DESC LIMIT $2 OFFSET $3`,
        [id, limit, offset],
      ),
    );
    return rows.map((r) => ({
      id: Number(r.id),
      externalId: r.external_id,
      channel: r.channel,
      subject: r.subject,
      status: r.status,
      priority: r.priority,
      createdAt: r.created_at.toISOString(),
      firstResponseMinutes: r.response_minutes,
      solvedAt: r.solved_at?.toISOString() ?? null,
      csatScore: r.csat_score,
      csatScale: r.csat_scale,
      satisfied: r.satisfied,
      csatComment: r.csat_comment,
    }));
  }
}
