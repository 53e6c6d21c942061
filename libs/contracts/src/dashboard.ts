import { z } from 'zod';
import { ANALYTICS_STATUSES } from './analytics.js';

/*
 * The dashboard's read API: overview, trends, support quality, account lists, segment pages and
 * the account 360. Every figure comes with the period it covers and the count it is computed over.
 */

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

export const TIERS = ['enterprise', 'mid_market', 'smb'] as const;
export type Tier = (typeof TIERS)[number];

export const PROFICIENCIES = ['novice', 'expert'] as const;
export type Proficiency = (typeof PROFICIENCIES)[number];

/** A base segment is tier x proficiency, e.g. 'enterprise-novice', 'mid_market-expert'. */
export type BaseSegment = `${Tier}-${Proficiency}`;
export const BASE_SEGMENTS: readonly BaseSegment[] = TIERS.flatMap((tier) =>
  PROFICIENCIES.map((proficiency): BaseSegment => `${tier}-${proficiency}`),
);

export const TICKET_CHANNELS = ['chat', 'email', 'phone', 'web', 'social'] as const;
export type TicketChannel = (typeof TICKET_CHANNELS)[number];

/** Churn-risk bands shared by the API's filters and the dashboard's colours. */
export const RISK_BANDS = ['low', 'medium', 'high'] as const;
export type RiskBand = (typeof RISK_BANDS)[number];

/** Lower bounds (inclusive) of the medium and high bands: low < 0.1 <= medium < 0.3 <= high. */
export const RISK_BAND_THRESHOLDS = { medium: 0.1, high: 0.3 } as const;

export const RiskBandRangeSchema = z
  .object({
    band: z.enum(RISK_BANDS),
    min: z.number().describe('Inclusive'),
    max: z.number().nullable().describe('Exclusive; null: no upper bound'),
  })
  .meta({ id: 'RiskBandRange' });
export type RiskBandRange = z.infer<typeof RiskBandRangeSchema>;

export const RISK_BAND_RANGES: readonly RiskBandRange[] = [
  { band: 'low', min: 0, max: RISK_BAND_THRESHOLDS.medium },
  { band: 'medium', min: RISK_BAND_THRESHOLDS.medium, max: RISK_BAND_THRESHOLDS.high },
  { band: 'high', min: RISK_BAND_THRESHOLDS.high, max: null },
];

/** The band of a churn risk; null when the account has no risk score. */
export function riskBandOf(risk: number | null | undefined): RiskBand | null {
  if (risk === null || risk === undefined || Number.isNaN(risk)) return null;
  if (risk >= RISK_BAND_THRESHOLDS.high) return 'high';
  if (risk >= RISK_BAND_THRESHOLDS.medium) return 'medium';
  return 'low';
}

const booleanParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .describe('true or false');

const BASE_SEGMENT_PATTERN = `(${TIERS.join('|')})-(${PROFICIENCIES.join('|')})`;

/** A segment key in a path or query: a base segment ('smb-novice') or a custom segment's id ('12'). */
export const SegmentKeySchema = z
  .string()
  .regex(
    new RegExp(`^(${BASE_SEGMENT_PATTERN}|[1-9][0-9]{0,17})$`),
    `must be a base segment (${BASE_SEGMENTS.join(', ')}) or a custom segment id`,
  )
  .describe('A base segment (tier-proficiency, e.g. smb-novice) or a custom segment id');

export const BaseSegmentSchema = z
  .string()
  .regex(new RegExp(`^${BASE_SEGMENT_PATTERN}$`), `must be one of ${BASE_SEGMENTS.join(', ')}`)
  .describe('A base segment, e.g. smb-novice');

/** A span of whole UTC days, both ends included. */
export const PeriodSchema = z
  .object({
    from: z.iso.date().describe('First day, inclusive (UTC)'),
    to: z.iso.date().describe('Last day, inclusive (UTC)'),
    days: z.number().int(),
  })
  .meta({ id: 'Period' });
export type Period = z.infer<typeof PeriodSchema>;

/** The latest analytics run, whatever its status (a running one shows its progress). */
export const LastRunSchema = z
  .object({
    id: z.number().int(),
    status: z.enum(ANALYTICS_STATUSES),
    progress: z.number().int().min(0).max(100),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    asOf: z.iso.datetime().nullable().describe('The instant its results describe'),
    error: z.string().nullable(),
  })
  .meta({ id: 'LastRun' });
export type LastRun = z.infer<typeof LastRunSchema>;

/** One feature's push on an account's churn risk (log-odds), strongest first in a list. */
export const ChurnReasonSchema = z
  .object({
    feature: z.string().describe('A feature name, e.g. days_since_last_seen'),
    contribution: z.number().describe('Push on the log-odds of churning'),
    value: z
      .union([z.number(), z.string(), z.boolean()])
      .nullable()
      .describe("The account's value of the feature"),
    direction: z.enum(['raises', 'lowers']),
  })
  .meta({ id: 'ChurnReason' });
export type ChurnReason = z.infer<typeof ChurnReasonSchema>;

/** One upsell signal an account shows, heaviest first in a list. */
export const UpsellReasonSchema = z
  .object({
    signal: z
      .string()
      .describe(
        'seat_utilisation, plan_limit_hits, active_users_growth, addon_interest or expert_on_entry_plan',
      ),
    value: z.number().nullable().describe('The measured figure (utilisation, hits, growth, views, score)'),
    weight: z.number().describe("The signal's share of the 0-1 upsell score"),
  })
  .meta({ id: 'UpsellReason' });
export type UpsellReason = z.infer<typeof UpsellReasonSchema>;

/** ASA (first response, calendar minutes) and CSAT over a set of tickets. */
const supportFigures = {
  tickets: z.number().int().describe('Tickets created in the period'),
  responded: z.number().int().describe('Of those, answered: the count ASA is over'),
  asaMeanMinutes: z.number().nullable(),
  asaMedianMinutes: z.number().nullable(),
  asaP90Minutes: z.number().nullable(),
  ratings: z.number().int().describe('CSAT ratings: the count CSAT is over'),
  satisfied: z.number().int(),
  csatPct: z.number().nullable().describe('satisfied / ratings x 100; null without ratings'),
};
export const SupportFiguresSchema = z.object(supportFigures).meta({ id: 'SupportFigures' });
export type SupportFigures = z.infer<typeof SupportFiguresSchema>;

/** Accounts per churn-risk band (unscored: no risk score yet). */
export const RiskMixSchema = z
  .object({
    low: z.number().int(),
    medium: z.number().int(),
    high: z.number().int(),
    unscored: z.number().int(),
  })
  .meta({ id: 'RiskMix' });
export type RiskMix = z.infer<typeof RiskMixSchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/overview
// ---------------------------------------------------------------------------------------------

export const OverviewQuerySchema = z.object({
  days: z.coerce
    .number()
    .int()
    .min(7)
    .max(90)
    .default(30)
    .describe(
      'Length of the period (days up to the last run) that CSAT and ASA cover and "change" compares with',
    ),
});
export type OverviewQuery = z.infer<typeof OverviewQuerySchema>;

/** Change since the comparison point; null when there is none (no earlier history, no ratings). */
export const OverviewChangeSchema = z
  .object({
    accounts: z.number().int().nullable(),
    mrr: z.number().nullable(),
    highRiskShare: z.number().nullable().describe('In share points (0.05 = five percentage points)'),
    csatPct: z.number().nullable().describe('In percentage points, against the period before'),
    asaMedianMinutes: z.number().nullable().describe('Against the period before'),
  })
  .meta({ id: 'OverviewChange' });
export type OverviewChange = z.infer<typeof OverviewChangeSchema>;

const overviewFigures = {
  accounts: z.number().int().describe('Scored accounts not churned as of the last run'),
  mrr: z.number().describe('Their MRR'),
  highRiskAccounts: z.number().int().describe(`Of them, churn risk >= ${RISK_BAND_THRESHOLDS.high}`),
  highRiskShare: z.number().nullable().describe('highRiskAccounts / accounts (0-1); null with no accounts'),
  riskMix: RiskMixSchema,
  tickets: z.number().int().describe("Tickets created in the period by the cell's accounts"),
  responded: z.number().int().describe('Of those, answered: the count the ASA median is over'),
  asaMedianMinutes: z.number().nullable(),
  ratings: z.number().int().describe('CSAT ratings in the period: the count CSAT is over'),
  csatPct: z.number().nullable(),
  change: OverviewChangeSchema,
};

export const OverviewCellSchema = z
  .object({
    tier: z.enum(TIERS),
    proficiency: z.enum(PROFICIENCIES),
    segment: z.string().describe('Base segment key, e.g. enterprise-novice'),
    ...overviewFigures,
  })
  .meta({ id: 'OverviewCell' });
export type OverviewCell = z.infer<typeof OverviewCellSchema>;

export const OverviewTotalsSchema = z.object(overviewFigures).meta({ id: 'OverviewTotals' });
export type OverviewTotals = z.infer<typeof OverviewTotalsSchema>;

export const OverviewMovementsSchema = z
  .object({
    runId: z.number().int().nullable().describe('The latest run that moved any account'),
    movedAt: z.iso.datetime().nullable(),
    accounts: z.number().int().describe('Accounts that changed base segment in that run'),
    summary: z.array(z.object({ from: z.string(), to: z.string(), accounts: z.number().int() })),
  })
  .meta({ id: 'OverviewMovements' });
export type OverviewMovements = z.infer<typeof OverviewMovementsSchema>;

export const OverviewSchema = z
  .object({
    asOf: z.iso.datetime().nullable().describe('The instant the scores describe; null before any run'),
    lastRun: LastRunSchema.nullable(),
    period: PeriodSchema.nullable().describe('The days CSAT, ASA and tickets cover; null before any run'),
    comparedTo: z.iso
      .date()
      .nullable()
      .describe('The score-history day "change" compares accounts, MRR and risk with; null when none'),
    riskBands: z.array(RiskBandRangeSchema),
    cells: z.array(OverviewCellSchema).describe('One per tier x proficiency, also when empty'),
    totals: OverviewTotalsSchema,
    movements: OverviewMovementsSchema,
  })
  .meta({ id: 'Overview' });
export type Overview = z.infer<typeof OverviewSchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/trends
// ---------------------------------------------------------------------------------------------

export const TrendsQuerySchema = z.object({
  by: z.enum(['segment']).default('segment'),
  weeks: z.coerce.number().int().min(1).max(26).default(12),
});
export type TrendsQuery = z.infer<typeof TrendsQuerySchema>;

/** One segment in one ISO week: risk mix from score history, ASA and CSAT from that week's tickets. */
export const TrendRowSchema = z
  .object({
    week: z.iso.date().describe('The Monday the ISO week starts on (UTC)'),
    key: z.string().describe('The segment'),
    accounts: z.number().int().describe("Accounts with a score that week (each one's latest that week)"),
    mrr: z.number(),
    riskMix: RiskMixSchema,
    meanChurnRisk: z.number().nullable(),
    backfilled: z
      .boolean()
      .describe("Some of the week's scores were backfilled from history, not scored live"),
    support: SupportFiguresSchema.nullable().describe('Tickets created that week; null when none'),
  })
  .meta({ id: 'TrendRow' });
export type TrendRow = z.infer<typeof TrendRowSchema>;

export const TrendsSchema = z
  .object({
    by: z.enum(['segment']),
    period: PeriodSchema.nullable(),
    rows: z.array(TrendRowSchema).describe('Ordered by week, then key'),
  })
  .meta({ id: 'Trends' });
export type Trends = z.infer<typeof TrendsSchema>;

// ---------------------------------------------------------------------------------------------
// Support quality: GET /api/support/matrix, /api/support/trends, /api/support/comments
// ---------------------------------------------------------------------------------------------

export const SupportCellSchema = z
  .object({
    ...supportFigures,
    channel: z.string().nullable().describe('null in a per-segment or overall total'),
    segment: z
      .string()
      .nullable()
      .describe("null in a per-channel or overall total; 'unassigned' for tickets without an account"),
    asaBusinessMeanMinutes: z.number().nullable().describe('Mean first response in business hours'),
  })
  .meta({ id: 'SupportCell' });
export type SupportCell = z.infer<typeof SupportCellSchema>;

export const SupportMatrixSchema = z
  .object({
    asOf: z.iso.datetime().nullable(),
    period: PeriodSchema.nullable().describe('The 26 weeks of tickets the last run measured'),
    cells: z.array(SupportCellSchema).describe('One per channel x segment with tickets'),
    channels: z.array(SupportCellSchema).describe('Per channel, all segments'),
    segments: z.array(SupportCellSchema).describe('Per segment, all channels'),
    total: SupportCellSchema.nullable(),
  })
  .meta({ id: 'SupportMatrix' });
export type SupportMatrix = z.infer<typeof SupportMatrixSchema>;

export const SupportTrendsQuerySchema = z.object({
  by: z.enum(['channel', 'segment']).default('channel'),
  weeks: z.coerce.number().int().min(1).max(26).default(26),
  channel: z.enum(TICKET_CHANNELS).optional().describe('Only this channel (with by=segment)'),
  segment: BaseSegmentSchema.optional().describe('Only this segment (with by=channel)'),
});
export type SupportTrendsQuery = z.infer<typeof SupportTrendsQuerySchema>;

export const SupportTrendRowSchema = z
  .object({
    ...supportFigures,
    week: z.iso.date().describe('Monday of the week (UTC); the last week may be partial'),
    key: z.string().describe('The channel or segment'),
    asaBusinessMeanMinutes: z.number().nullable(),
  })
  .meta({ id: 'SupportTrendRow' });
export type SupportTrendRow = z.infer<typeof SupportTrendRowSchema>;

export const SupportTrendsSchema = z
  .object({
    by: z.enum(['channel', 'segment']),
    channel: z.string().nullable(),
    segment: z.string().nullable(),
    period: PeriodSchema.nullable(),
    rows: z.array(SupportTrendRowSchema).describe('Ordered by week, then key'),
  })
  .meta({ id: 'SupportTrends' });
export type SupportTrends = z.infer<typeof SupportTrendsSchema>;

/** Keyset cursor of the comments list: `<createdAt ISO>~<ticket id>`, as `nextBefore` gives it. */
export const COMMENT_CURSOR_PATTERN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z~[0-9]{1,18}$/;

export const SupportCommentsQuerySchema = z.object({
  channel: z.enum(TICKET_CHANNELS).optional(),
  segment: SegmentKeySchema.optional(),
  week: z.iso
    .date()
    .refine((day) => day >= '1900-01-01', 'must be in 1900 or later')
    .optional()
    .describe('Tickets created in the ISO week starting on this Monday (UTC)'),
  satisfied: booleanParam.optional(),
  limit: z.coerce.number().int().min(1).max(100).default(20),
  before: z
    .string()
    .regex(COMMENT_CURSOR_PATTERN, 'must be a nextBefore value from an earlier page')
    .refine((cursor) => cursor >= '1900-01-01', 'must be a nextBefore value from an earlier page')
    .optional()
    .describe('Cursor: the page after this one'),
});
export type SupportCommentsQuery = z.infer<typeof SupportCommentsQuerySchema>;

/** A rated ticket with its free-form comment. */
export const SupportCommentSchema = z
  .object({
    ticketId: z.number().int(),
    accountId: z.number().int().nullable(),
    accountName: z.string().nullable(),
    segment: z.string().nullable().describe("The account's base segment as of the last run"),
    channel: z.string(),
    subject: z.string().nullable(),
    createdAt: z.iso.datetime(),
    firstResponseMinutes: z.number().nullable(),
    csatScore: z.number().int(),
    csatScale: z.enum(['five_point', 'good_bad']),
    satisfied: z.boolean(),
    comment: z.string(),
  })
  .meta({ id: 'SupportComment' });
export type SupportComment = z.infer<typeof SupportCommentSchema>;

export const SupportCommentsSchema = z
  .object({
    comments: z.array(SupportCommentSchema).describe('Newest ticket first'),
    nextBefore: z.string().nullable().describe('Pass as `before` for the next page; null at the end'),
  })
  .meta({ id: 'SupportComments' });
export type SupportComments = z.infer<typeof SupportCommentsSchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/accounts, /api/accounts/export.csv, /api/owners
// ---------------------------------------------------------------------------------------------

export const ACCOUNT_SORTS = [
  'churn_risk',
  'health',
  'mrr',
  'renewal_date',
  'upsell_score',
  'name',
  'days_since_last_seen',
] as const;
export type AccountSort = (typeof ACCOUNT_SORTS)[number];

/** The order a sort uses when none is given: the rows that need attention first. */
export const ACCOUNT_SORT_DEFAULT_ORDER: Record<AccountSort, 'asc' | 'desc'> = {
  churn_risk: 'desc',
  health: 'asc',
  mrr: 'desc',
  renewal_date: 'asc',
  upsell_score: 'desc',
  name: 'asc',
  days_since_last_seen: 'desc',
};

/** Filters shared by the list and its CSV export. */
export const AccountFiltersSchema = z.object({
  segment: SegmentKeySchema.optional(),
  tier: z.enum(TIERS).optional(),
  proficiency: z.enum(PROFICIENCIES).optional(),
  owner: z.string().min(1).max(200).optional().describe('Exact owner, as GET /api/owners lists them'),
  riskBand: z.enum(RISK_BANDS).optional(),
  q: z
    .string()
    .trim()
    .min(1)
    .max(200)
    .optional()
    .describe('Part of the name or external id (case-insensitive)'),
  includeChurned: booleanParam
    .default(false)
    .describe('Also list accounts churned as of the last run (they have no churn risk)'),
  sort: z.enum(ACCOUNT_SORTS).default('churn_risk'),
  order: z
    .enum(['asc', 'desc'])
    .optional()
    .describe('Default: ACCOUNT_SORT_DEFAULT_ORDER; nulls always last'),
});
export type AccountFilters = z.infer<typeof AccountFiltersSchema>;

export const AccountListQuerySchema = z.object({
  ...AccountFiltersSchema.shape,
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type AccountListQuery = z.infer<typeof AccountListQuerySchema>;

/** A scored account as the lists show it. */
export const AccountRowSchema = z
  .object({
    id: z.number().int(),
    externalId: z.string(),
    name: z.string(),
    plan: z.string().nullable(),
    mrr: z.number().nullable(),
    owner: z.string().nullable(),
    renewalDate: z.iso.date().nullable(),
    tier: z.string(),
    proficiency: z.string(),
    segment: z.string(),
    churnRisk: z.number().nullable(),
    riskBand: z.enum(RISK_BANDS).nullable(),
    health: z.number().int().nullable(),
    upsellScore: z.number().nullable(),
    topReasons: z.array(ChurnReasonSchema).describe('The three strongest churn reasons'),
    daysSinceLastSeen: z.number().nullable().describe('As of the last run; null when never seen'),
    churnedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'AccountRow' });
export type AccountRow = z.infer<typeof AccountRowSchema>;

export const AccountListSchema = z
  .object({
    total: z.number().int().describe('Accounts matching the filters'),
    limit: z.number().int(),
    offset: z.number().int(),
    sort: z.enum(ACCOUNT_SORTS),
    order: z.enum(['asc', 'desc']),
    asOf: z.iso.datetime().nullable().describe('When the scores were computed'),
    rows: z.array(AccountRowSchema),
  })
  .meta({ id: 'AccountList' });
export type AccountList = z.infer<typeof AccountListSchema>;

/** Columns of GET /api/accounts/export.csv, in order; reasons as "feature; feature; feature". */
export const ACCOUNT_EXPORT_COLUMNS = [
  'id',
  'external_id',
  'name',
  'plan',
  'mrr',
  'owner',
  'renewal_date',
  'tier',
  'proficiency',
  'segment',
  'churn_risk',
  'risk_band',
  'health',
  'upsell_score',
  'top_reasons',
  'days_since_last_seen',
] as const;

export const OwnerListSchema = z
  .object({
    owners: z.array(
      z.object({
        owner: z.string(),
        accounts: z.number().int().describe('Accounts they own'),
        enterpriseAccounts: z.number().int().describe('Of those, enterprise as of the last run'),
      }),
    ),
    unassigned: z.number().int().describe('Accounts without an owner'),
  })
  .meta({ id: 'OwnerList' });
export type OwnerList = z.infer<typeof OwnerListSchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/segment-summary/:key
// ---------------------------------------------------------------------------------------------

export const SegmentKeyParamSchema = z.object({ key: SegmentKeySchema });
export type SegmentKeyParam = z.infer<typeof SegmentKeyParamSchema>;

export const RiskHistogramBucketSchema = z
  .object({
    from: z.number().describe('Inclusive'),
    to: z.number().describe('Exclusive, except the last bucket, which includes 1'),
    accounts: z.number().int(),
  })
  .meta({ id: 'RiskHistogramBucket' });
export type RiskHistogramBucket = z.infer<typeof RiskHistogramBucketSchema>;

export const ChurnReasonCountSchema = z
  .object({
    feature: z.string(),
    accounts: z.number().int().describe('Accounts with this feature among their churn reasons'),
    meanContribution: z.number().describe('Mean push on the log-odds among those accounts'),
  })
  .meta({ id: 'ChurnReasonCount' });
export type ChurnReasonCount = z.infer<typeof ChurnReasonCountSchema>;

export const UpsellReasonCountSchema = z
  .object({
    signal: z.string(),
    accounts: z.number().int().describe('Accounts showing the signal'),
    weight: z.number(),
    meanValue: z.number().nullable().describe('Mean measured figure among those accounts'),
  })
  .meta({ id: 'UpsellReasonCount' });
export type UpsellReasonCount = z.infer<typeof UpsellReasonCountSchema>;

export const ChannelFiguresSchema = z
  .object({ channel: z.string(), ...supportFigures })
  .meta({ id: 'ChannelFigures' });
export type ChannelFigures = z.infer<typeof ChannelFiguresSchema>;

export const SegmentSummarySchema = z
  .object({
    key: z.string(),
    kind: z.enum(['base', 'custom']),
    name: z.string().describe('The base segment key or the custom segment name'),
    asOf: z.iso.datetime().nullable(),
    accounts: z.number().int(),
    mrr: z.number(),
    meanChurnRisk: z.number().nullable(),
    riskMix: RiskMixSchema,
    riskHistogram: z.array(RiskHistogramBucketSchema).describe('10 buckets of 0.1'),
    churnReasons: z.array(ChurnReasonCountSchema).describe('Most common first, at most 10'),
    upsellReasons: z.array(UpsellReasonCountSchema).describe('Most common first'),
    ticketsByChannel: z.object({
      period: PeriodSchema.nullable().describe('The 90 days up to the last run'),
      rows: z.array(ChannelFiguresSchema),
    }),
    recentComments: z.array(SupportCommentSchema).describe('The 10 newest rated tickets with a comment'),
  })
  .meta({ id: 'SegmentSummary' });
export type SegmentSummary = z.infer<typeof SegmentSummarySchema>;

// ---------------------------------------------------------------------------------------------
// Account 360: GET /api/accounts/:id, /api/accounts/:id/activity, /api/accounts/:id/tickets
// ---------------------------------------------------------------------------------------------

export const AccountIdParamSchema = z.object({
  id: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export type AccountIdParam = z.infer<typeof AccountIdParamSchema>;

/** The features an account page shows, as of the last run (null: not measurable). */
export const KeyFeaturesSchema = z
  .object({
    tenureDays: z.number().nullable(),
    events30d: z.number().nullable(),
    activityTrend: z.number().nullable().describe('ln((events_30d+1)/(events_prior_30d+1)): 0 steady'),
    activeUsers30d: z.number().nullable(),
    activeUsersGrowth: z.number().nullable(),
    seatUtilisation: z.number().nullable(),
    daysSinceLastSeen: z.number().nullable(),
    distinctFeatures30d: z.number().nullable(),
    advancedShare90d: z.number().nullable(),
    onboardingCompletion: z.number().nullable(),
    timeToValueDays: z.number().nullable(),
    tickets90d: z.number().nullable(),
    howtoShare90d: z.number().nullable(),
    openTickets: z.number().nullable(),
    asaMinutes90d: z.number().nullable(),
    csatPct90d: z.number().nullable(),
    planLimitHits90d: z.number().nullable(),
    addonInterest90d: z.number().nullable(),
  })
  .meta({ id: 'KeyFeatures' });
export type KeyFeatures = z.infer<typeof KeyFeaturesSchema>;

export const AccountFactsSchema = z
  .object({
    id: z.number().int(),
    externalId: z.string(),
    name: z.string(),
    plan: z.string().nullable(),
    mrr: z.number().nullable(),
    seats: z.number().int().nullable(),
    employees: z.number().int().nullable(),
    region: z.string().nullable(),
    owner: z.string().nullable(),
    createdAt: z.iso.datetime(),
    churnedAt: z.iso.datetime().nullable(),
    renewalDate: z.iso.date().nullable(),
    traits: z.record(z.string(), z.unknown()),
  })
  .meta({ id: 'AccountFacts' });
export type AccountFacts = z.infer<typeof AccountFactsSchema>;

export const AccountScoreSchema = z
  .object({
    runId: z.number().int(),
    computedAt: z.iso.datetime(),
    tier: z.string(),
    proficiency: z.string(),
    proficiencyScore: z.number().nullable(),
    segment: z.string(),
    customSegments: z.array(z.object({ id: z.number().int(), name: z.string() })),
    churnRisk: z.number().nullable(),
    riskBand: z.enum(RISK_BANDS).nullable(),
    health: z.number().int().nullable(),
    churnReasons: z.array(ChurnReasonSchema),
    upsellScore: z.number().nullable(),
    upsellReasons: z.array(UpsellReasonSchema),
    keyFeatures: KeyFeaturesSchema,
  })
  .meta({ id: 'AccountScore' });
export type AccountScore = z.infer<typeof AccountScoreSchema>;

export const RiskTrendPointSchema = z
  .object({
    asOf: z.iso.date(),
    churnRisk: z.number().nullable(),
    health: z.number().int().nullable(),
    upsellScore: z.number().nullable(),
    segment: z.string(),
    backfilled: z.boolean(),
  })
  .meta({ id: 'RiskTrendPoint' });
export type RiskTrendPoint = z.infer<typeof RiskTrendPointSchema>;

export const AccountContactSchema = z
  .object({
    id: z.number().int(),
    externalId: z.string(),
    name: z.string().nullable(),
    email: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'AccountContact' });
export type AccountContact = z.infer<typeof AccountContactSchema>;

export const SegmentHistoryEntrySchema = z
  .object({
    runId: z.number().int(),
    from: z.string(),
    to: z.string(),
    movedAt: z.iso.datetime(),
  })
  .meta({ id: 'SegmentHistoryEntry' });
export type SegmentHistoryEntry = z.infer<typeof SegmentHistoryEntrySchema>;

/** At most this many contacts come with the account page (by name); `total` says how many there are. */
export const ACCOUNT_CONTACTS_CAP = 50;

export const Account360Schema = z
  .object({
    account: AccountFactsSchema,
    score: AccountScoreSchema.nullable().describe('null until an analytics run has scored the account'),
    riskTrend: z.array(RiskTrendPointSchema).describe('Score history, oldest first (at most 400 days)'),
    contacts: z.object({
      total: z.number().int(),
      rows: z.array(AccountContactSchema).describe(`At most ${ACCOUNT_CONTACTS_CAP}, by name`),
    }),
    segmentHistory: z.array(SegmentHistoryEntrySchema).describe('Newest first (at most 100)'),
  })
  .meta({ id: 'Account360' });
export type Account360 = z.infer<typeof Account360Schema>;

export const AccountActivityQuerySchema = z.object({
  weeks: z.coerce.number().int().min(1).max(104).default(26),
});
export type AccountActivityQuery = z.infer<typeof AccountActivityQuerySchema>;

export const AccountActivitySchema = z
  .object({
    accountId: z.number().int(),
    period: PeriodSchema.describe('Whole ISO weeks up to today (UTC); the last is partial'),
    weeks: z.array(
      z.object({
        week: z.iso.date().describe('Monday (UTC)'),
        events: z.number().int(),
        activeUsers: z.number().int().describe('Distinct contacts with an event that week'),
      }),
    ),
  })
  .meta({ id: 'AccountActivity' });
export type AccountActivity = z.infer<typeof AccountActivitySchema>;

export const AccountTicketsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(25),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type AccountTicketsQuery = z.infer<typeof AccountTicketsQuerySchema>;

export const AccountTicketSchema = z
  .object({
    id: z.number().int(),
    externalId: z.string(),
    channel: z.string(),
    subject: z.string().nullable(),
    status: z.string(),
    priority: z.string().nullable(),
    createdAt: z.iso.datetime(),
    firstResponseMinutes: z.number().nullable().describe('Calendar minutes to the first response'),
    solvedAt: z.iso.datetime().nullable(),
    csatScore: z.number().int().nullable(),
    csatScale: z.enum(['five_point', 'good_bad']).nullable(),
    satisfied: z.boolean().nullable().describe('null when not rated'),
    csatComment: z.string().nullable(),
  })
  .meta({ id: 'AccountTicket' });
export type AccountTicket = z.infer<typeof AccountTicketSchema>;

export const AccountTicketsSchema = z
  .object({
    total: z.number().int(),
    limit: z.number().int(),
    offset: z.number().int(),
    rows: z.array(AccountTicketSchema).describe('Newest first'),
  })
  .meta({ id: 'AccountTickets' });
export type AccountTickets = z.infer<typeof AccountTicketsSchema>;
