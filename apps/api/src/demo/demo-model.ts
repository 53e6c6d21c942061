import {
  ACCOUNT_MANAGERS,
  ADDONS,
  ADVANCED_FEATURES,
  BASIC_FEATURES,
  CONTACT_ROLES,
  FIRST_NAMES,
  GUIDE_EVENTS,
  INDUSTRIES,
  KB_ARTICLES,
  KB_PAGE,
  LAST_NAMES,
  NEGATIVE_SLOW_COMMENTS,
  NEGATIVE_UNSOLVED_COMMENTS,
  ONBOARDING_STEPS,
  POSITIVE_COMMENTS,
  REGIONS,
  TICKET_SUBJECTS,
  TICKET_TAGS,
  UPSELL_EVENTS,
  companyName,
  type TicketKind,
} from './demo-catalog.js';
import { Random, sigmoid } from './random.js';

export const DAY_MS = 86_400_000;
export type Tier = 'enterprise' | 'mid_market' | 'smb';
export type Proficiency = 'novice' | 'expert';
type Channel = 'chat' | 'email' | 'phone' | 'web' | 'social';

export interface DemoOptions {
  accounts: number;
  days: number;
  seed: number;
  /** Last simulated instant (exclusive); defaults to the start of today, UTC. */
  end: Date;
  /** Mean events per account per day across the data set (1M events for 2,000 accounts x 90 days). */
  eventsPerAccountDay: number;
  /** Mean tickets per account per day (50k tickets for 2,000 accounts x 90 days). */
  ticketsPerAccountDay: number;
}

export const DEFAULT_DENSITY = { eventsPerAccountDay: 5.55, ticketsPerAccountDay: 0.278 };

export interface DemoContact {
  externalId: string;
  email: string;
  name: string;
  role: string;
}

/** One account, its public attributes and the hidden truth that drives its behaviour. */
export interface DemoAccount {
  index: number;
  externalId: string;
  name: string;
  tier: Tier;
  plan: string;
  mrr: number;
  seats: number;
  employees: number;
  region: string;
  owner: string | null;
  industry: string;
  contract: 'annual' | 'monthly';
  createdAt: Date;
  renewalDate: string | null;
  contacts: DemoContact[];
  // --- hidden truth ---
  /** Day (from the window start) from which the account behaves as an expert; null = never. */
  expertFromDay: number | null;
  proficiencyAtEnd: Proficiency;
  graduatedOnDay: number | null;
  engagement: number;
  seatUtilisation: number;
  /** Multiplies this account's support response times: >1 means it is served slowly. */
  supportPenalty: number;
  unresolvedShare: number;
  onboardingCompleted: boolean;
  /** Day (from the window start) the account churns; > days means within the 90 days after the end. */
  churnDay: number | null;
  upsellReady: boolean;
  churnProbability: number;
  /** Expected events before scaling to the requested density. */
  eventWeight: number;
  ticketWeight: number;
}

export interface DemoEventRow {
  messageId: string;
  contactIndex: number;
  type: 'track' | 'page';
  name: string;
  timestamp: Date;
  properties: Record<string, string | number>;
}

export interface DemoTicketRow {
  externalId: string;
  contactIndex: number;
  channel: Channel;
  subject: string;
  priority: string;
  status: string;
  tags: string[];
  createdAt: Date;
  firstResponseAt: Date | null;
  solvedAt: Date | null;
  csatScore: number | null;
  csatScale: 'five_point' | 'good_bad' | null;
  csatComment: string | null;
}

const windowStart = (o: DemoOptions): number => o.end.getTime() - o.days * DAY_MS;
const isoDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

// ---------------------------------------------------------------- accounts

export function planAccounts(options: DemoOptions): DemoAccount[] {
  const accounts = Array.from({ length: options.accounts }, (_, i) => planAccount(options, i));
  return accounts;
}

function planAccount(o: DemoOptions, index: number): DemoAccount {
  const r = new Random(o.seed, index, 1);
  const start = windowStart(o);
  const tier: Tier = r.weighted({ enterprise: 0.02, mid_market: 0.1, smb: 0.88 });

  let seats: number;
  let mrr: number;
  let plan: string;
  let employees: number;
  if (tier === 'enterprise') {
    seats = Math.round(Math.min(3000, r.logNormal(550, 0.6)) + 250);
    mrr = Math.round(seats * r.uniform(20, 40));
    plan = 'enterprise';
    employees = Math.round(seats * r.uniform(2, 8));
  } else if (tier === 'mid_market') {
    seats = Math.round(Math.min(200, r.logNormal(55, 0.5)) + 25);
    mrr = Math.min(4999, Math.max(500, Math.round(seats * r.uniform(15, 24))));
    plan = 'business';
    employees = Math.round(seats * r.uniform(1.5, 6));
  } else if (r.chance(0.6)) {
    seats = r.int(1, 5);
    mrr = Math.round(r.uniform(5, 49));
    plan = 'starter';
    employees = r.int(1, 20);
  } else {
    seats = r.int(3, 25);
    mrr = Math.min(300, Math.round(seats * r.uniform(8, 14)));
    plan = 'pro';
    employees = r.int(3, 60);
  }

  // A quarter of accounts signed up inside the window; the rest have been customers for a while.
  const tenureAtStart = r.chance(0.25) ? -r.uniform(0, o.days * 0.9) : r.uniform(30, 1500);
  const createdMs = Math.round(start - tenureAtStart * DAY_MS);
  const createdDay = (createdMs - start) / DAY_MS;
  const tenureAtEnd = o.days - createdDay;

  // Proficiency: experts are mostly long-tenured; some novices graduate inside the window.
  const pExpert = tenureAtEnd < 60 ? 0.1 : tenureAtEnd < 365 ? 0.35 : 0.6;
  let expertFromDay: number | null = r.chance(pExpert) ? -Infinity : null;
  let graduatedOnDay: number | null = null;
  if (expertFromDay === null && tenureAtEnd > 45 && r.chance(0.12)) {
    graduatedOnDay = Math.round(r.uniform(Math.max(createdDay + 30, 5), o.days - 5));
    if (graduatedOnDay < o.days) expertFromDay = graduatedOnDay;
    else graduatedOnDay = null;
  }
  const proficiencyAtEnd: Proficiency = expertFromDay === null ? 'novice' : 'expert';
  const expertShare =
    expertFromDay === null ? 0 : expertFromDay === -Infinity ? 1 : 1 - expertFromDay / o.days;

  const engagement = Math.min(1.6, Math.max(0.15, r.logNormal(0.9, 0.45)));
  const upsellReady = r.chance(tier === 'smb' ? 0.12 : 0.18);
  const seatUtilisation = upsellReady
    ? r.uniform(0.92, 1)
    : Math.min(0.9, Math.max(0.2, r.normal(0.6, 0.18)));
  const supportPenalty = r.chance(0.18) ? r.uniform(2.5, 6) : r.logNormal(1, 0.25);
  const unresolvedShare = r.chance(0.15) ? r.uniform(0.25, 0.5) : r.uniform(0.02, 0.1);
  const onboardingCompleted = r.chance(expertFromDay !== null ? 0.95 : tenureAtEnd < 30 ? 0.35 : 0.65);

  // Churn follows low usage, novice status, slow support and unresolved tickets.
  const churnLogit =
    -2.4 +
    1.1 * (proficiencyAtEnd === 'novice' ? 1 : 0) +
    1.6 * (0.9 - Math.min(engagement, 1.2)) +
    1.0 * Math.log(supportPenalty) +
    3.0 * (unresolvedShare - 0.06) +
    (tier === 'smb' ? 0.4 : tier === 'enterprise' ? -1.0 : -0.3) -
    (onboardingCompleted ? 0.6 : 0) +
    r.normal(0, 0.35);
  const churnProbability = sigmoid(churnLogit);
  let churnDay: number | null = null;
  if (r.chance(churnProbability)) {
    const earliest = Math.max(20, createdDay + 30);
    const latest = o.days + 90;
    if (earliest < latest) churnDay = Math.round(r.uniform(earliest, latest));
  }

  const contract = tier === 'smb' ? 'monthly' : 'annual';
  let renewalDate: string | null = null;
  if (contract === 'annual') {
    const created = new Date(createdMs);
    const renewal = new Date(Date.UTC(o.end.getUTCFullYear(), created.getUTCMonth(), created.getUTCDate()));
    while (renewal.getTime() <= o.end.getTime()) renewal.setUTCFullYear(renewal.getUTCFullYear() + 1);
    renewalDate = isoDay(renewal.getTime());
  }

  const contactCap = tier === 'enterprise' ? 60 : tier === 'mid_market' ? 25 : 12;
  const contactCount = Math.max(1, Math.min(contactCap, Math.round(seats * seatUtilisation)));
  const domain = `${companyName(index).split(' ')[0]!.toLowerCase()}${index + 1}.example`;
  const contacts: DemoContact[] = Array.from({ length: contactCount }, (_, c) => {
    const first = r.pick(FIRST_NAMES);
    const last = r.pick(LAST_NAMES);
    return {
      externalId: `usr_${String(index + 1).padStart(6, '0')}_${c + 1}`,
      email: `${first.toLowerCase()}.${last.toLowerCase().replace('ü', 'ue')}${c + 1}@${domain}`,
      name: `${first} ${last}`,
      role: c === 0 ? 'admin' : r.weighted(CONTACT_ROLES),
    };
  });

  const account: DemoAccount = {
    index,
    externalId: `acc_${String(index + 1).padStart(6, '0')}`,
    name: companyName(index),
    tier,
    plan,
    mrr,
    seats,
    employees,
    region: r.weighted(REGIONS),
    owner: tier === 'smb' ? null : ACCOUNT_MANAGERS[index % ACCOUNT_MANAGERS.length]!,
    industry: r.pick(INDUSTRIES),
    contract,
    createdAt: new Date(createdMs),
    renewalDate,
    contacts,
    expertFromDay,
    proficiencyAtEnd,
    graduatedOnDay,
    engagement,
    seatUtilisation,
    supportPenalty,
    unresolvedShare,
    onboardingCompleted,
    churnDay,
    upsellReady,
    churnProbability,
    eventWeight: 0,
    ticketWeight: 0,
  };
  const activeDays = sumActivity(account, o);
  const perUserEvents = 3 + 2.5 * expertShare;
  account.eventWeight = Math.pow(contactCount, 0.85) * perUserEvents * engagement * activeDays;
  const ticketPropensity = 0.55 + 1.6 * (1 - expertShare);
  account.ticketWeight = Math.pow(contactCount, 0.6) * ticketPropensity * activeDays;
  return account;
}

/** How active the account is on a day (0 = not at all): signup ramp, weekends, pre-churn decline. */
export function activity(account: DemoAccount, o: DemoOptions, day: number): number {
  const dayStart = windowStart(o) + day * DAY_MS;
  if (dayStart + DAY_MS <= account.createdAt.getTime()) return 0;
  if (account.churnDay !== null && day >= account.churnDay) return 0;
  let level = 1;
  const age = (dayStart - account.createdAt.getTime()) / DAY_MS;
  if (age < 14) level *= 0.6;
  const weekday = new Date(dayStart).getUTCDay();
  if (weekday === 0 || weekday === 6) level *= 0.3;
  if (account.churnDay !== null) {
    const untilChurn = account.churnDay - day;
    if (untilChurn < 60) level *= 0.12 + 0.88 * (untilChurn / 60);
  }
  return level;
}

function sumActivity(account: DemoAccount, o: DemoOptions): number {
  let total = 0;
  for (let day = 0; day < o.days; day++) total += activity(account, o, day);
  return total;
}

/** Scale factors that make the whole data set hit the requested densities. */
export function densityScale(accounts: DemoAccount[], o: DemoOptions): { events: number; tickets: number } {
  let events = 0;
  let tickets = 0;
  for (const a of accounts) {
    events += a.eventWeight;
    tickets += a.ticketWeight;
  }
  return {
    events: events > 0 ? (o.eventsPerAccountDay * o.accounts * o.days) / events : 0,
    tickets: tickets > 0 ? (o.ticketsPerAccountDay * o.accounts * o.days) / tickets : 0,
  };
}

export function churnedAt(account: DemoAccount, o: DemoOptions): Date | null {
  if (account.churnDay === null || account.churnDay > o.days) return null;
  return new Date(windowStart(o) + account.churnDay * DAY_MS + 10 * 3_600_000);
}

// ---------------------------------------------------------------- events

/** Seconds into a day, clustered in working hours. */
function timeOfDay(r: Random): number {
  return Math.min(86_399, Math.max(0, Math.round(r.normal(14 * 3600, 3.2 * 3600))));
}

export function* accountEvents(account: DemoAccount, o: DemoOptions, scale: number): Generator<DemoEventRow> {
  const r = new Random(o.seed, account.index, 2);
  const start = windowStart(o);
  let seq = 0;
  const id = (): string => `demo-${o.seed}-${account.index + 1}-${++seq}`;
  const anyContact = (): number => r.int(0, account.contacts.length - 1);

  // Onboarding steps at their real times (also before the window, for older accounts).
  const steps = account.onboardingCompleted ? ONBOARDING_STEPS.length : r.int(1, ONBOARDING_STEPS.length - 2);
  const expertPace = account.expertFromDay === -Infinity;
  let at = account.createdAt.getTime();
  for (let s = 0; s < steps; s++) {
    if (s > 0) at += (expertPace ? r.uniform(0.05, 1.5) : r.uniform(0.5, 6)) * DAY_MS;
    if (at >= o.end.getTime()) break;
    yield {
      messageId: id(),
      contactIndex: 0,
      type: 'track',
      name: ONBOARDING_STEPS[s]!,
      timestamp: new Date(at),
      properties: { step: s + 1 },
    };
  }

  const perUserEvents = account.eventWeight > 0 ? (account.eventWeight * scale) / sumActivity(account, o) : 0;
  for (let day = 0; day < o.days; day++) {
    const level = activity(account, o, day);
    if (level === 0) continue;
    const expert = account.expertFromDay !== null && day >= account.expertFromDay;
    const dayStart = start + day * DAY_MS;
    const count = r.poisson(perUserEvents * level);
    for (let e = 0; e < count; e++) {
      const timestamp = new Date(dayStart + timeOfDay(r) * 1000);
      const kind = r.weighted(expert ? EXPERT_MIX : NOVICE_MIX);
      const contactIndex = anyContact();
      if (kind === 'kb') {
        yield {
          messageId: id(),
          contactIndex,
          type: 'page',
          name: KB_PAGE,
          timestamp,
          properties: { article: r.pick(KB_ARTICLES) },
        };
      } else if (kind === 'guide') {
        yield {
          messageId: id(),
          contactIndex,
          type: 'track',
          name: r.pick(GUIDE_EVENTS),
          timestamp,
          properties: {},
        };
      } else if (kind === 'advanced') {
        yield {
          messageId: id(),
          contactIndex,
          type: 'track',
          name: r.pick(ADVANCED_FEATURES),
          timestamp,
          properties: {},
        };
      } else {
        yield {
          messageId: id(),
          contactIndex,
          type: 'track',
          name: r.pick(BASIC_FEATURES),
          timestamp,
          properties: {},
        };
      }
    }
    // Upsell moments: accounts at their seat limit keep hitting it.
    if (account.upsellReady && r.chance(0.2 * level)) {
      const timestamp = new Date(dayStart + timeOfDay(r) * 1000);
      yield {
        messageId: id(),
        contactIndex: 0,
        type: 'track',
        name: UPSELL_EVENTS.limit,
        timestamp,
        properties: { limit: r.pick(['seats', 'seats', 'api_calls', 'storage']) },
      };
      if (r.chance(0.3))
        yield {
          messageId: id(),
          contactIndex: 0,
          type: 'track',
          name: UPSELL_EVENTS.addon,
          timestamp,
          properties: { addon: r.pick(ADDONS) },
        };
    }
  }
}

const NOVICE_MIX = { basic: 0.72, kb: 0.14, guide: 0.1, advanced: 0.04 } as const;
const EXPERT_MIX = { basic: 0.57, kb: 0.03, guide: 0.01, advanced: 0.39 } as const;

// ---------------------------------------------------------------- tickets

const CHANNEL_MEDIAN_MINUTES: Record<Channel, number> = {
  phone: 1.5,
  chat: 3,
  social: 60,
  email: 180,
  web: 300,
};
const NOVICE_CHANNELS = { chat: 0.45, email: 0.22, web: 0.2, phone: 0.1, social: 0.03 } as const;
const EXPERT_CHANNELS = { email: 0.45, web: 0.3, chat: 0.18, phone: 0.04, social: 0.03 } as const;
const NOVICE_KINDS = { how_to: 0.6, bug: 0.15, billing: 0.1, feature_request: 0.05, account: 0.1 } as const;
const EXPERT_KINDS = { how_to: 0.12, bug: 0.4, billing: 0.12, feature_request: 0.26, account: 0.1 } as const;

export function* accountTickets(
  account: DemoAccount,
  o: DemoOptions,
  scale: number,
): Generator<DemoTicketRow> {
  const r = new Random(o.seed, account.index, 3);
  const start = windowStart(o);
  const end = o.end.getTime();
  const perDay = account.ticketWeight > 0 ? (account.ticketWeight * scale) / sumActivity(account, o) : 0;
  const tierSpeed = account.tier === 'enterprise' ? 0.5 : account.tier === 'mid_market' ? 0.8 : 1;
  let seq = 0;
  for (let day = 0; day < o.days; day++) {
    const level = activity(account, o, day);
    if (level === 0) continue;
    const expert = account.expertFromDay !== null && day >= account.expertFromDay;
    const count = r.poisson(perDay * level);
    for (let t = 0; t < count; t++) {
      const createdMs = start + day * DAY_MS + timeOfDay(r) * 1000;
      const kind = r.weighted<TicketKind>(expert ? EXPERT_KINDS : NOVICE_KINDS);
      const channel = r.weighted<Channel>(
        account.tier === 'enterprise' && r.chance(0.25)
          ? ({ phone: 1 } as Record<Channel, number>)
          : expert
            ? EXPERT_CHANNELS
            : NOVICE_CHANNELS,
      );
      const priority = r.weighted({ low: 0.2, normal: 0.55, high: 0.2, urgent: 0.05 });
      const priorityFactor = priority === 'urgent' ? 0.4 : priority === 'high' ? 0.7 : 1;
      const median = CHANNEL_MEDIAN_MINUTES[channel];
      const responseMinutes = r.logNormal(median * tierSpeed * priorityFactor * account.supportPenalty, 0.8);
      const neverAnswered = r.chance(0.01);
      const firstResponseMs = neverAnswered ? null : createdMs + Math.round(responseMinutes * 60_000);
      const answered = firstResponseMs !== null && firstResponseMs < end;

      const resolves = answered && !r.chance(account.unresolvedShare);
      const resolutionHours = r.logNormal(channel === 'chat' || channel === 'phone' ? 2 : 20, 1);
      const solvedMs = resolves ? firstResponseMs! + Math.round(resolutionHours * 3_600_000) : null;
      const solved = solvedMs !== null && solvedMs < end;

      let csatScore: number | null = null;
      let csatScale: DemoTicketRow['csatScale'] = null;
      let csatComment: string | null = null;
      if (answered && r.chance(solved ? 0.45 : 0.08)) {
        const slowness = Math.log(responseMinutes / median);
        const satisfied = r.chance(sigmoid(2.0 - 0.9 * slowness - (solved ? 0 : 2.4)));
        csatScale = r.chance(0.2) ? 'good_bad' : 'five_point';
        csatScore =
          csatScale === 'good_bad'
            ? satisfied
              ? 1
              : 0
            : satisfied
              ? r.chance(0.6)
                ? 5
                : 4
              : r.pick([1, 2, 3, 3]);
        if (r.chance(0.5)) {
          csatComment = satisfied
            ? r.pick(POSITIVE_COMMENTS)
            : slowness > 0.7
              ? r.pick(NEGATIVE_SLOW_COMMENTS)
              : r.pick(NEGATIVE_UNSOLVED_COMMENTS);
        }
      }

      yield {
        externalId: `demo-${o.seed}-${account.index + 1}-${++seq}`,
        contactIndex: r.int(0, account.contacts.length - 1),
        channel,
        subject: r.pick(TICKET_SUBJECTS[kind]),
        priority,
        status: solved ? 'solved' : answered ? 'pending' : 'open',
        tags: [TICKET_TAGS[kind]],
        createdAt: new Date(createdMs),
        firstResponseAt: answered ? new Date(firstResponseMs!) : null,
        solvedAt: solved ? new Date(solvedMs!) : null,
        csatScore,
        csatScale,
        csatComment,
      };
    }
  }
}

export function defaultEnd(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
}
