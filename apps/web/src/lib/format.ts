/**
 * How the dashboard writes numbers, dates and domain names. One place, so a figure reads the same
 * on every page (and the browser tests can compute the text a number must show).
 */

const locale = 'en-US';
const DASH = '–';

const integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
const money = new Intl.NumberFormat(locale, { style: 'currency', currency: 'USD', maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(locale, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const twoDecimals = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

const missing = (value: number | null | undefined): value is null | undefined =>
  value === null || value === undefined || Number.isNaN(value);

/** 12,345 */
export function formatCount(value: number | null | undefined): string {
  return missing(value) ? DASH : integer.format(value);
}

/** $12,345 (MRR and other money, whole dollars) */
export function formatMoney(value: number | null | undefined): string {
  return missing(value) ? DASH : money.format(value);
}

/** A percentage already on a 0-100 scale: 87.9% */
export function formatPct(value: number | null | undefined): string {
  return missing(value) ? DASH : `${oneDecimal.format(value)}%`;
}

/** A share on a 0-1 scale, as a percentage: 0.123 -> 12.3% */
export function formatShare(value: number | null | undefined): string {
  return missing(value) ? DASH : formatPct(value * 100);
}

/** A change in percentage points: +1.2 pp, −0.4 pp */
export function formatPointsChange(value: number | null | undefined): string {
  if (missing(value)) return DASH;
  const rounded = Math.round(value * 10) / 10;
  if (rounded === 0) return '±0.0 pp';
  return `${rounded > 0 ? '+' : '−'}${oneDecimal.format(Math.abs(rounded))} pp`;
}

/** A signed count change: +3, −2, ±0 */
export function formatCountChange(value: number | null | undefined): string {
  if (missing(value)) return DASH;
  if (value === 0) return '±0';
  return `${value > 0 ? '+' : '−'}${integer.format(Math.abs(value))}`;
}

/** A probability or score on a 0-1 scale: 0.42 */
export function formatScore(value: number | null | undefined): string {
  return missing(value) ? DASH : twoDecimals.format(value);
}

/** Minutes of waiting, in the unit a person reads best: 42 s, 12.5 min, 3.2 h, 1.5 d */
export function formatMinutes(value: number | null | undefined): string {
  if (missing(value)) return DASH;
  if (value < 1) return `${integer.format(value * 60)} s`;
  if (value < 60) return `${oneDecimal.format(value)} min`;
  if (value < 48 * 60) return `${oneDecimal.format(value / 60)} h`;
  return `${oneDecimal.format(value / 1440)} d`;
}

/** A duration in milliseconds: 850 ms, 4.2 s, 2 min 5 s */
export function formatDuration(ms: number | null | undefined): string {
  if (missing(ms)) return DASH;
  if (ms < 1000) return `${integer.format(ms)} ms`;
  if (ms < 60_000) return `${oneDecimal.format(ms / 1000)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** 1.2 MB */
export function formatBytes(bytes: number | null | undefined): string {
  if (missing(bytes)) return DASH;
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${oneDecimal.format(bytes / 1024)} KB`;
  return `${oneDecimal.format(bytes / 1024 / 1024)} MB`;
}

const dateFormat = new Intl.DateTimeFormat(locale, { year: 'numeric', month: 'short', day: 'numeric' });
const shortDateFormat = new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric' });
const dateTimeFormat = new Intl.DateTimeFormat(locale, {
  year: 'numeric',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
});

const toDate = (value: string | Date): Date =>
  // A bare YYYY-MM-DD is a calendar day: read it as UTC midnight and show it in UTC, so no zone shifts it.
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value)
    ? new Date(`${value}T00:00:00Z`)
    : new Date(value);

const isCalendarDay = (value: string | Date) =>
  typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);

/** Nov 23, 2026 */
export function formatDate(value: string | Date | null | undefined): string {
  if (!value) return DASH;
  const date = toDate(value);
  return isCalendarDay(value)
    ? new Intl.DateTimeFormat(locale, {
        year: 'numeric',
        month: 'short',
        day: 'numeric',
        timeZone: 'UTC',
      }).format(date)
    : dateFormat.format(date);
}

/** Nov 23 (chart axes) */
export function formatShortDate(value: string | Date | null | undefined): string {
  if (!value) return DASH;
  const date = toDate(value);
  return isCalendarDay(value)
    ? new Intl.DateTimeFormat(locale, { month: 'short', day: 'numeric', timeZone: 'UTC' }).format(date)
    : shortDateFormat.format(date);
}

/** Nov 23, 2026, 10:22 PM */
export function formatDateTime(value: string | Date | null | undefined): string {
  return value ? dateTimeFormat.format(new Date(value)) : DASH;
}

/** "5 min ago", "3 h ago", "2 d ago" (relative to now) */
export function formatAgo(value: string | Date | null | undefined, now: number = Date.now()): string {
  if (!value) return DASH;
  const seconds = Math.max(0, Math.round((now - new Date(value).getTime()) / 1000));
  if (seconds < 60) return 'just now';
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

const TIER_LABELS: Record<string, string> = {
  enterprise: 'Enterprise',
  mid_market: 'Mid-market',
  smb: 'SMB',
};
const PROFICIENCY_LABELS: Record<string, string> = { novice: 'Novice', expert: 'Expert' };
const CHANNEL_LABELS: Record<string, string> = {
  chat: 'Chat',
  email: 'Email',
  phone: 'Phone',
  web: 'Web form',
  social: 'Social',
};

const capitalise = (text: string) =>
  text ? text[0]!.toUpperCase() + text.slice(1).replace(/_/g, ' ') : text;

export const tierLabel = (tier: string): string => TIER_LABELS[tier] ?? capitalise(tier);
export const proficiencyLabel = (proficiency: string): string =>
  PROFICIENCY_LABELS[proficiency] ?? capitalise(proficiency);
export const channelLabel = (channel: string): string => CHANNEL_LABELS[channel] ?? capitalise(channel);

/** A base segment key (tier-proficiency, e.g. mid_market-novice) as people say it: Mid-market novice */
export function segmentLabel(segment: string): string {
  const [tier, proficiency] = segment.split('-');
  if (!tier || !proficiency) return capitalise(segment);
  return `${tierLabel(tier)} ${proficiencyLabel(proficiency).toLowerCase()}`;
}

const FEATURE_LABELS: Record<string, string> = {
  active_users_30d: 'Active users (30 d)',
  active_users_growth: 'Active-user growth',
  active_users_prior_30d: 'Active users (prior 30 d)',
  activity_trend: 'Activity trend',
  addon_interest: 'Add-on interest',
  addon_interest_90d: 'Add-on interest (90 d)',
  advanced_feature_events_90d: 'Advanced-feature use (90 d)',
  advanced_share_90d: 'Share of advanced features (90 d)',
  asa_minutes_90d: 'Wait for first answer (90 d)',
  asa_vs_channel_90d: 'Wait vs usual for the channel (90 d)',
  csat_pct_90d: 'CSAT (90 d)',
  days_since_last_seen: 'Days since last seen',
  distinct_features_30d: 'Features used (30 d)',
  employees: 'Employees',
  events_7d: 'Events (7 d)',
  events_30d: 'Events (30 d)',
  events_90d: 'Events (90 d)',
  events_prior_30d: 'Events (prior 30 d)',
  events_per_user_30d: 'Events per active user (30 d)',
  expert_on_entry_plan: 'Expert on an entry plan',
  feature_events_90d: 'Feature use (90 d)',
  guide_events_90d: 'Guide views (90 d)',
  help_views_90d: 'Help-article views (90 d)',
  howto_share_90d: 'Share of how-to tickets (90 d)',
  howto_tickets_90d: 'How-to tickets (90 d)',
  mrr: 'MRR',
  onboarding_completion: 'Onboarding completion',
  onboarding_steps_done: 'Onboarding steps done',
  open_tickets: 'Open tickets',
  plan: 'Plan',
  plan_limit_hits: 'Plan-limit hits',
  plan_limit_hits_90d: 'Plan-limit hits (90 d)',
  ratings_90d: 'CSAT ratings (90 d)',
  responded_tickets_90d: 'Answered tickets (90 d)',
  satisfied_90d: 'Satisfied ratings (90 d)',
  seat_added_90d: 'Seats added (90 d)',
  seat_utilisation: 'Seat utilisation',
  seats: 'Seats',
  tenure_days: 'Tenure (days)',
  tickets_90d: 'Tickets (90 d)',
  time_to_value_days: 'Days to first value',
  unresolved_share_90d: 'Share of tickets left unsolved (90 d)',
};

/** A churn-model feature or upsell signal (howto_tickets_90d) as a reason a person reads: "How-to tickets (90 d)" */
export function featureLabel(feature: string): string {
  const known = FEATURE_LABELS[feature];
  if (known) return known;
  if (feature.startsWith('trait_')) return `Trait: ${feature.slice('trait_'.length).replace(/_/g, ' ')}`;
  const window = /_(\d+)d$/.exec(feature);
  const base = window ? feature.slice(0, -window[0].length) : feature;
  return `${capitalise(base)}${window ? ` (${window[1]} d)` : ''}`;
}

/** An account's value of a feature, in the feature's unit. */
export function formatFeatureValue(feature: string, value: number | string | boolean | null): string {
  if (value === null) return DASH;
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  const number = typeof value === 'number' ? value : Number(value);
  if (Number.isNaN(number)) return String(value);
  if (feature === 'mrr') return formatMoney(number);
  if (feature.startsWith('asa_minutes')) return formatMinutes(number);
  if (feature.startsWith('csat_pct')) return formatPct(number);
  if (/share|utilisation|completion/.test(feature)) return formatShare(number);
  if (feature === 'activity_trend' || feature === 'active_users_growth') return formatScore(number);
  return Number.isInteger(number) ? formatCount(number) : oneDecimal.format(number);
}

/** A signed change in money: +$1,200, −$300 */
export function formatMoneyChange(value: number | null | undefined): string {
  if (missing(value)) return DASH;
  if (Math.round(value) === 0) return '±$0';
  return `${value > 0 ? '+' : '−'}${money.format(Math.abs(value))}`;
}

/** A signed change in waiting time: +2.5 min, −40 s */
export function formatMinutesChange(value: number | null | undefined): string {
  if (missing(value)) return DASH;
  if (value === 0) return '±0 s';
  return `${value > 0 ? '+' : '−'}${formatMinutes(Math.abs(value))}`;
}

/** "12 of 80" style counts, with the noun in singular or plural: "1 rating", "844 ratings" */
export function plural(count: number, singular: string, pluralForm = `${singular}s`): string {
  return `${formatCount(count)} ${count === 1 ? singular : pluralForm}`;
}

/** A period of whole days: "Oct 25 – Nov 23, 2026 (30 days)" */
export function formatPeriod(period: { from: string; to: string; days: number } | null | undefined): string {
  if (!period) return DASH;
  return `${formatShortDate(period.from)} – ${formatDate(period.to)} (${plural(period.days, 'day')})`;
}

/**
 * An axis of waiting times (values in minutes) in one readable unit: minutes up to two hours,
 * hours above. Ticks then read 0, 30, 60 (minutes) or 0, 2, 4 (hours), never a mix.
 */
export function minutesAxis(values: (number | null | undefined)[]): {
  unit: string;
  tick: (minutes: number) => string;
} {
  const max = Math.max(0, ...values.filter((v): v is number => typeof v === 'number' && !Number.isNaN(v)));
  if (max > 120)
    return { unit: 'hours', tick: (minutes) => oneDecimal.format(minutes / 60).replace(/\.0$/, '') };
  return { unit: 'minutes', tick: (minutes) => oneDecimal.format(minutes).replace(/\.0$/, '') };
}
