import type { Audience, CampaignGoal } from '@retain/contracts';
import { copyJson, copyRow, copyText, copyTime } from '../database/copy-text.js';
import type { DemoDataTransaction } from './demo-data.repository.js';
import { DAY_MS, type DemoAccount, type DemoOptions } from './demo-model.js';
import { Random } from './random.js';

/** A past campaign of the demo, with the effect planted in its goal events. */
interface DemoCampaignDefinition {
  name: string;
  description: string;
  goal: CampaignGoal;
  audience: Audience;
  holdoutPct: number;
  /** Days before the end the campaign went out. */
  daysBeforeEnd: number;
  /** Who the audience was then, from the hidden truth. */
  eligible: (account: DemoAccount, day: number) => boolean;
  /** Chance that a member account reaches the goal within the window, per group. */
  conversion: { contacted: number; holdout: number };
}

const isNoviceOn = (a: DemoAccount, day: number): boolean =>
  a.expertFromDay === null || a.expertFromDay > day;

/**
 * The planted truth: the upgrade offer lifts upgrades within 30 days from 5% to 20% (+15 points);
 * the set-up guide changes nothing (12% complete onboarding within 14 days either way).
 */
export const DEMO_CAMPAIGNS: readonly DemoCampaignDefinition[] = [
  {
    name: 'Set-up guide for stalled SMB novices',
    description: 'SMB novices who stalled in onboarding get the set-up guide (demo: no effect planted)',
    goal: { event: 'onboarding_completed', windowDays: 14 },
    audience: {
      segments: ['smb-novice'],
      filter: { field: 'onboarding_completion', op: 'lt', value: 1 },
      primaryContactOnly: true,
    },
    holdoutPct: 20,
    daysBeforeEnd: 30,
    eligible: (a, day) => a.tier === 'smb' && isNoviceOn(a, day) && !a.onboardingCompleted,
    conversion: { contacted: 0.12, holdout: 0.12 },
  },
  {
    name: 'Upgrade offer for experts on the starter plan',
    description: 'Experts on the entry plan get the upgrade offer (demo: planted +15 points)',
    goal: { event: 'plan_upgraded', windowDays: 30 },
    audience: {
      segments: ['smb-expert'],
      filter: { field: 'plan', op: 'eq', value: 'starter' },
      primaryContactOnly: true,
    },
    holdoutPct: 20,
    daysBeforeEnd: 45,
    eligible: (a, day) => a.tier === 'smb' && a.plan === 'starter' && !isNoviceOn(a, day),
    conversion: { contacted: 0.2, holdout: 0.05 },
  },
];

/** Share of the demo's non-primary contacts who unsubscribed from email (suppressed by default). */
const UNSUBSCRIBED_SHARE = 0.03;

export interface DemoCampaignMember {
  account: DemoAccount;
  group: 'contacted' | 'holdout';
  converted: Date | null;
}

export interface DemoCampaignPlan {
  definition: DemoCampaignDefinition;
  /** The day (from the window start) it went out, and the instant. */
  day: number;
  sentAt: Date;
  members: DemoCampaignMember[];
}

/**
 * Who each demo campaign reached (each account's primary contact: the first, an admin), who was
 * held out, and who reached the goal. Drawn from streams of their own, so the rest of the demo
 * data is the same with or without campaigns. A campaign whose window would not close before the
 * end of the data is left out (short demo histories).
 */
export function planDemoCampaigns(
  accounts: readonly DemoAccount[],
  options: DemoOptions,
): DemoCampaignPlan[] {
  const start = options.end.getTime() - options.days * DAY_MS;
  return DEMO_CAMPAIGNS.flatMap((definition, k) => {
    const day = options.days - definition.daysBeforeEnd;
    const windowEnd = day + definition.goal.windowDays;
    if (day < 14 || windowEnd >= options.days) return [];
    const sentAt = new Date(start + day * DAY_MS + 10 * 3_600_000);
    const r = new Random(options.seed, 0xca4, k);
    const members = accounts
      .filter((a) => {
        const createdDay = (a.createdAt.getTime() - start) / DAY_MS;
        const live = a.churnDay === null || a.churnDay > windowEnd;
        return createdDay <= day - 7 && live && definition.eligible(a, day);
      })
      .map((account): DemoCampaignMember => {
        const group = r.chance(definition.holdoutPct / 100) ? 'holdout' : 'contacted';
        const converts = r.chance(definition.conversion[group]);
        const after = r.uniform(0.1, definition.goal.windowDays - 0.1) * DAY_MS;
        return { account, group, converted: converts ? new Date(sentAt.getTime() + after) : null };
      });
    return members.length > 0 ? [{ definition, day, sentAt, members }] : [];
  });
}

/** External ids of the contacts who unsubscribed: never an account's first (primary) contact. */
export function unsubscribedContacts(accounts: readonly DemoAccount[], options: DemoOptions): string[] {
  const r = new Random(options.seed, 0xca4, 99);
  return accounts.flatMap((a) =>
    a.contacts
      .slice(1)
      .filter(() => r.chance(UNSUBSCRIBED_SHARE))
      .map((c) => c.externalId),
  );
}

/**
 * Writes the demo campaigns (members, holdout, one refresh, one export each) and their goal events
 * on the demo's transaction, and marks the unsubscribed contacts. Returns the events written.
 */
export async function loadDemoCampaigns(
  tx: DemoDataTransaction,
  accounts: readonly DemoAccount[],
  options: DemoOptions,
  ids: { accounts: Map<string, number>; contacts: Map<string, number> },
): Promise<number> {
  const plans = planDemoCampaigns(accounts, options);
  let events = 0;
  for (const [k, plan] of plans.entries()) {
    const { definition: d, day, sentAt, members } = plan;
    const campaignId = await tx.insertReturningId(
      `INSERT INTO campaigns (name, description, channel, schedule, goal_event, goal_window_days, holdout_pct,
         holdout_salt, audience, suppression, created_at, last_refreshed_at)
       VALUES ($1, $2, 'email_export', 'once', $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [
        d.name,
        d.description,
        d.goal.event,
        d.goal.windowDays,
        d.holdoutPct,
        `demo-${options.seed}-${k}`,
        JSON.stringify(d.audience),
        JSON.stringify({ unsubscribed: true, recentlyContactedDays: null, frequencyCap: null }),
        new Date(sentAt.getTime() - 3_600_000),
        sentAt,
      ],
    );
    const segment = (a: DemoAccount): string => `${a.tier}-${isNoviceOn(a, day) ? 'novice' : 'expert'}`;
    await tx.copy(
      'campaign_members',
      ['campaign_id', 'contact_id', 'account_id', 'member_group', 'assigned_at', 'email', 'segment'],
      members.map((m) =>
        copyRow([
          String(campaignId),
          String(ids.contacts.get(m.account.contacts[0]!.externalId)),
          String(ids.accounts.get(m.account.externalId)),
          m.group,
          copyTime(sentAt),
          copyText(m.account.contacts[0]!.email),
          copyText(segment(m.account)),
        ]),
      ),
    );
    const contacted = members.filter((m) => m.group === 'contacted').length;
    await tx.insertReturningId(
      `INSERT INTO campaign_refreshes (campaign_id, refreshed_at, matched, suppressed_unsubscribed, suppressed_recent,
         suppressed_capped, added_contacted, added_holdout, members_contacted, members_holdout)
       VALUES ($1, $2, $3, 0, 0, 0, $4, $5, $4, $5) RETURNING id`,
      [campaignId, sentAt, members.length, contacted, members.length - contacted],
    );
    await tx.insertReturningId(
      `INSERT INTO campaign_deliveries (campaign_id, kind, status, members, created_at, delivered_at)
       VALUES ($1, 'export', 'delivered', $2, $3, $3) RETURNING 1 AS id`,
      [campaignId, contacted, sentAt],
    );
    const converted = members.filter((m) => m.converted !== null);
    await tx.copy(
      'events',
      [
        'message_id',
        'account_id',
        'contact_id',
        'user_id',
        'group_id',
        'type',
        'name',
        'timestamp',
        'received_at',
        'properties',
      ],
      converted.map((m) => {
        const contact = m.account.contacts[0]!;
        return copyRow([
          copyText(`demo-${options.seed}-campaign${k + 1}-${m.account.index + 1}`),
          String(ids.accounts.get(m.account.externalId)),
          String(ids.contacts.get(contact.externalId)),
          copyText(contact.externalId),
          copyText(m.account.externalId),
          'track',
          copyText(d.goal.event),
          copyTime(m.converted),
          copyTime(new Date(m.converted!.getTime() + 1500)),
          copyJson({}),
        ]);
      }),
    );
    events += converted.length;
  }
  await tx.markUnsubscribed(unsubscribedContacts(accounts, options));
  return events;
}
