import { z } from 'zod';
import { BASE_SEGMENTS, SegmentKeySchema } from './dashboard.js';
import {
  FILTER_FIELD_SOURCES,
  FILTER_FIELD_TYPES,
  FILTER_OPS,
  FilterNodeSchema,
  FilterSchema,
} from './segments.js';

/*
 * Campaigns: one-to-many messages to an audience of contacts, delivered as an email list export,
 * in-app or to a webhook, with a random holdout that is never contacted, so the outcome (goal
 * conversion, contacted against holdout) says whether the campaign worked.
 */

// ---------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------

/** email_export: a CSV list for the user's email tool; in_app: read by the product; webhook: batches POSTed. */
export const CAMPAIGN_CHANNELS = ['email_export', 'in_app', 'webhook'] as const;
export type CampaignChannel = (typeof CAMPAIGN_CHANNELS)[number];

/** once: the audience is taken when the campaign is created; refresh: new matches join at every analytics run. */
export const CAMPAIGN_SCHEDULES = ['once', 'refresh'] as const;
export type CampaignSchedule = (typeof CAMPAIGN_SCHEDULES)[number];

/** A stopped campaign takes no new members and sends nothing more; its outcome is still measured. */
export const CAMPAIGN_STATUSES = ['active', 'stopped'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];

/** Each member is in one group for good: contacted, or held out (never contacted, the comparison). */
export const CAMPAIGN_GROUPS = ['contacted', 'holdout'] as const;
export type CampaignGroup = (typeof CAMPAIGN_GROUPS)[number];

export const DELIVERY_KINDS = ['webhook', 'export'] as const;
export type DeliveryKind = (typeof DELIVERY_KINDS)[number];

/** pending: waiting for its (next) attempt; sending: an attempt is under way; failed: gave up. */
export const DELIVERY_STATUSES = ['pending', 'sending', 'delivered', 'failed', 'cancelled'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const DEFAULT_HOLDOUT_PCT = 10;
export const MAX_HOLDOUT_PCT = 50;
export const AUDIENCE_MAX_SEGMENTS = 50;
export const AUDIENCE_SAMPLE_SIZE = 10;
export const DEFAULT_WEBHOOK_BATCH_SIZE = 500;

/** Prefix of contact fields in an audience filter (contact.role, contact.email_domain, ...). */
export const CONTACT_FIELD_PREFIX = 'contact.';
/** Contact traits in an audience filter: contact.trait.<key>. */
export const CONTACT_TRAIT_PREFIX = 'contact.trait.';

// Webhook requests: the batch id (the same on every retry of a batch), the attempt number, and
// `sha256=<hex HMAC-SHA256 of the raw body with the campaign's webhook secret>`.
export const WEBHOOK_DELIVERY_HEADER = 'x-retain-delivery';
export const WEBHOOK_ATTEMPT_HEADER = 'x-retain-attempt';
export const WEBHOOK_SIGNATURE_HEADER = 'x-retain-signature';

// ---------------------------------------------------------------------------------------------
// Audience
// ---------------------------------------------------------------------------------------------

const AudienceSegmentSchema = z
  .string()
  .superRefine((value, ctx) => {
    if (!SegmentKeySchema.safeParse(value).success)
      ctx.addIssue({
        code: 'custom',
        message: `unknown segment "${value.slice(0, 100)}": use a base segment (${BASE_SEGMENTS.join(', ')}) or a custom segment id`,
      });
  })
  .describe('A base segment (smb-novice) or a custom segment id ("12")');

/**
 * Who a campaign reaches: contacts with an email, at scored accounts in any of `segments` (none:
 * every scored account), matching `filter` over account fields, scores, features, traits and
 * contact fields (contact.role, contact.email_domain, contact.last_seen_at, ...).
 */
export const AudienceSchema = z
  .strictObject({
    segments: z
      .array(AudienceSegmentSchema)
      .max(AUDIENCE_MAX_SEGMENTS, `must list at most ${AUDIENCE_MAX_SEGMENTS} segments`)
      .describe('Accounts in any of these segments; empty = every scored account'),
    filter: FilterSchema.optional().describe(
      'Conditions over account and contact fields (GET /api/campaigns/fields lists them)',
    ),
    primaryContactOnly: z
      .boolean()
      .default(false)
      .describe(
        "Only each account's primary contact: traits.primary = true, else the admin or owner, else the oldest contact with an email",
      ),
  })
  .meta({ id: 'Audience' });
export type Audience = z.infer<typeof AudienceSchema>;
export type AudienceInput = z.input<typeof AudienceSchema>;

/** The audience as stored and answered (already validated; no re-check of the filter's limits). */
export const StoredAudienceSchema = z
  .object({
    segments: z.array(z.string()),
    filter: FilterNodeSchema.optional(),
    primaryContactOnly: z.boolean(),
  })
  .meta({ id: 'StoredAudience' });

/** Who is left out before members are drawn; each contact counts under the first rule that removes it. */
export const SuppressionSchema = z
  .strictObject({
    unsubscribed: z
      .boolean()
      .default(true)
      .describe('Leave out contacts who unsubscribed (contact trait unsubscribed = true)'),
    recentlyContactedDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .nullable()
      .default(null)
      .describe('Leave out contacts any campaign contacted in the last N days'),
    frequencyCap: z
      .strictObject({
        max: z.number().int().min(1).max(100),
        days: z.number().int().min(1).max(365),
      })
      .nullable()
      .default(null)
      .describe('Leave out contacts already contacted `max` times (by any campaign) in the last `days` days'),
  })
  .meta({ id: 'Suppression' });
export type Suppression = z.infer<typeof SuppressionSchema>;
export type SuppressionInput = z.input<typeof SuppressionSchema>;

/** A field an audience filter may name, for the builder (segment fields plus contact fields). */
export const AudienceFieldSchema = z
  .object({
    name: z.string(),
    type: z.enum(FILTER_FIELD_TYPES),
    source: z.enum([...FILTER_FIELD_SOURCES, 'contact']),
    ops: z.array(z.enum(FILTER_OPS)),
    description: z.string(),
  })
  .meta({ id: 'AudienceField' });
export type AudienceField = z.infer<typeof AudienceFieldSchema>;

const traitHelp = z.object({
  prefix: z.string(),
  keyPattern: z.string().describe('Trait keys match this pattern'),
  description: z.string(),
});

/** How far back the goal-event suggestions look. */
export const GOAL_EVENT_DAYS = 30;

export const GoalEventSchema = z
  .object({
    name: z.string(),
    events: z.number().int().describe('Events of this name in the last days'),
    accounts: z.number().int().describe('Accounts that sent it in the last days'),
    lastSeenAt: z.string().nullable(),
  })
  .meta({ id: 'GoalEvent' });
export type GoalEvent = z.infer<typeof GoalEventSchema>;

export const GoalEventListSchema = z
  .object({
    days: z.number().int(),
    events: z
      .array(GoalEventSchema)
      .describe('The product event names seen, most frequent first (up to 200)'),
  })
  .meta({ id: 'GoalEventList' });
export type GoalEventList = z.infer<typeof GoalEventListSchema>;

export const AudienceFieldListSchema = z
  .object({
    fields: z.array(AudienceFieldSchema),
    traits: traitHelp.describe('Account traits: trait.<key>'),
    contactTraits: traitHelp.describe('Contact traits: contact.trait.<key>'),
  })
  .meta({ id: 'AudienceFieldList' });
export type AudienceFieldList = z.infer<typeof AudienceFieldListSchema>;

/** A contact in an audience, as previews show it. */
export const AudienceContactSchema = z
  .object({
    contactId: z.number().int(),
    contactExternalId: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.string().nullable(),
    lastSeenAt: z.iso
      .datetime()
      .nullable()
      .describe('Last event of the contact, as of the last analytics run'),
    accountId: z.number().int(),
    accountExternalId: z.string(),
    accountName: z.string(),
    segment: z.string().describe('Base segment'),
    churnRisk: z.number().nullable(),
  })
  .meta({ id: 'AudienceContact' });
export type AudienceContact = z.infer<typeof AudienceContactSchema>;

export const AudienceSegmentCountSchema = z
  .object({
    key: z.string().describe('Base segment key or custom segment id'),
    name: z.string(),
    kind: z.enum(['base', 'custom']),
    accounts: z.number().int(),
    contacts: z.number().int(),
  })
  .meta({ id: 'AudienceSegmentCount' });
export type AudienceSegmentCount = z.infer<typeof AudienceSegmentCountSchema>;

export const SuppressedCountsSchema = z
  .object({
    unsubscribed: z.number().int(),
    recentlyContacted: z.number().int(),
    frequencyCapped: z.number().int(),
  })
  .meta({ id: 'SuppressedCounts' });
export type SuppressedCounts = z.infer<typeof SuppressedCountsSchema>;

// ---------------------------------------------------------------------------------------------
// POST /api/campaigns/preview
// ---------------------------------------------------------------------------------------------

export const CampaignPreviewRequestSchema = z
  .strictObject({
    audience: AudienceSchema,
    suppression: SuppressionSchema.optional().describe(
      'When given, the answer also counts who it leaves out',
    ),
  })
  .meta({ id: 'CampaignPreviewRequest' });
export type CampaignPreviewRequest = z.infer<typeof CampaignPreviewRequestSchema>;
export type CampaignPreviewRequestInput = z.input<typeof CampaignPreviewRequestSchema>;

export const CampaignPreviewSchema = z
  .object({
    accounts: z.number().int().describe('Accounts with at least one contact in the audience'),
    contacts: z.number().int().describe('Contacts in the audience, before suppression'),
    sample: z
      .array(AudienceContactSchema)
      .describe(`Up to ${AUDIENCE_SAMPLE_SIZE} of them, riskiest account first`),
    bySegment: z
      .array(AudienceSegmentCountSchema)
      .describe('Per chosen segment (an account may be in several); with none chosen, per base segment'),
    suppression: z
      .object({
        suppressed: SuppressedCountsSchema,
        accounts: z.number().int().describe('Accounts left after suppression'),
        contacts: z.number().int().describe('Contacts left after suppression'),
      })
      .nullable()
      .describe('Null unless the request gave a suppression'),
    asOf: z.iso.datetime().nullable().describe('When the scores the audience reads were computed'),
  })
  .meta({ id: 'CampaignPreview' });
export type CampaignPreview = z.infer<typeof CampaignPreviewSchema>;

// ---------------------------------------------------------------------------------------------
// POST /api/campaigns, GET /api/campaigns[/:id]
// ---------------------------------------------------------------------------------------------

export const CampaignGoalSchema = z
  .strictObject({
    event: z
      .string()
      .trim()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .describe('The event name that counts as success, e.g. onboarding_completed or plan_upgraded'),
    windowDays: z
      .number()
      .int()
      .min(1)
      .max(365)
      .describe("Days after a member's contact (or holdout) time within which the event counts"),
  })
  .meta({ id: 'CampaignGoal' });
export type CampaignGoal = z.infer<typeof CampaignGoalSchema>;

const CampaignNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

export const WebhookTargetSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'must be an http or https URL' })
      .max(2000, 'must be at most 2000 characters'),
    batchSize: z.number().int().min(1).max(1000).default(DEFAULT_WEBHOOK_BATCH_SIZE),
  })
  .meta({ id: 'WebhookTarget' });

export const CreateCampaignRequestSchema = z
  .strictObject({
    name: CampaignNameSchema,
    description: z.string().max(1000, 'must be at most 1000 characters').nullable().optional(),
    goal: CampaignGoalSchema,
    channel: z.enum(CAMPAIGN_CHANNELS),
    schedule: z.enum(CAMPAIGN_SCHEDULES).default('once'),
    holdoutPct: z
      .number()
      .int()
      .min(0)
      .max(MAX_HOLDOUT_PCT)
      .default(DEFAULT_HOLDOUT_PCT)
      .describe('Share of member accounts (percent) drawn at random into the holdout, never contacted'),
    audience: AudienceSchema,
    suppression: SuppressionSchema.default({
      unsubscribed: true,
      recentlyContactedDays: null,
      frequencyCap: null,
    }),
    webhook: WebhookTargetSchema.optional().describe(
      'Required for the webhook channel, refused for the others',
    ),
  })
  .superRefine((value, ctx) => {
    if (value.channel === 'webhook' && !value.webhook)
      ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'is required for the webhook channel' });
    if (value.channel !== 'webhook' && value.webhook)
      ctx.addIssue({ code: 'custom', path: ['webhook'], message: 'applies to the webhook channel only' });
  })
  .meta({ id: 'CreateCampaignRequest' });
export type CreateCampaignRequest = z.infer<typeof CreateCampaignRequestSchema>;
export type CreateCampaignRequestInput = z.input<typeof CreateCampaignRequestSchema>;

export const GroupCountsSchema = z
  .object({ contacted: z.number().int(), holdout: z.number().int() })
  .meta({ id: 'GroupCounts' });
export type GroupCounts = z.infer<typeof GroupCountsSchema>;

export const CampaignListItemSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    status: z.enum(CAMPAIGN_STATUSES),
    channel: z.enum(CAMPAIGN_CHANNELS),
    schedule: z.enum(CAMPAIGN_SCHEDULES),
    goal: CampaignGoalSchema,
    holdoutPct: z.number().int(),
    members: GroupCountsSchema.describe('Member contacts per group'),
    createdAt: z.iso.datetime(),
    lastRefreshedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'CampaignListItem' });
export type CampaignListItem = z.infer<typeof CampaignListItemSchema>;

export const CAMPAIGN_LIST_PAGE_SIZE = 50;

export const CampaignListQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(200).default(CAMPAIGN_LIST_PAGE_SIZE),
  offset: z.coerce.number().int().min(0).max(1_000_000).default(0),
});
export type CampaignListQuery = z.infer<typeof CampaignListQuerySchema>;

export const CampaignListSchema = z
  .object({
    campaigns: z.array(CampaignListItemSchema).describe('Newest first, one page'),
    total: z.number().int().describe('Campaigns in all'),
    active: z.number().int().describe('Of those, active'),
    contacted: z.number().int().describe('Member contacts contacted by all campaigns together'),
    limit: z.number().int(),
    offset: z.number().int(),
  })
  .meta({ id: 'CampaignList' });
export type CampaignList = z.infer<typeof CampaignListSchema>;

export const CampaignSchema = CampaignListItemSchema.extend({
  description: z.string().nullable(),
  audience: StoredAudienceSchema,
  suppression: SuppressionSchema,
  memberAccounts: GroupCountsSchema.describe('Member accounts per group'),
  webhook: z
    .object({
      url: z.string(),
      batchSize: z.number().int(),
      secretHint: z.string().describe('The last 4 characters of the signing secret'),
    })
    .nullable(),
  updatedAt: z.iso.datetime(),
  stoppedAt: z.iso.datetime().nullable(),
}).meta({ id: 'Campaign' });
export type Campaign = z.infer<typeof CampaignSchema>;

/** The answer to a create: the campaign, and its webhook signing secret, shown this once. */
export const CreatedCampaignSchema = CampaignSchema.extend({
  webhookSecret: z
    .string()
    .nullable()
    .describe('HMAC-SHA256 key of the webhook signature; shown only here and on rotation'),
}).meta({ id: 'CreatedCampaign' });
export type CreatedCampaign = z.infer<typeof CreatedCampaignSchema>;

export const WebhookSecretSchema = z.object({ webhookSecret: z.string() }).meta({ id: 'WebhookSecret' });
export type WebhookSecret = z.infer<typeof WebhookSecretSchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/campaigns/:id/members, /audience-history
// ---------------------------------------------------------------------------------------------

export const CampaignMemberSchema = z
  .object({
    contactId: z.number().int(),
    contactExternalId: z.string(),
    email: z.string(),
    name: z.string().nullable(),
    role: z.string().nullable(),
    accountId: z.number().int(),
    accountExternalId: z.string(),
    accountName: z.string(),
    segment: z.string().nullable().describe('Base segment when the member joined'),
    group: z.enum(CAMPAIGN_GROUPS),
    assignedAt: z.iso
      .datetime()
      .describe('When the member joined: contact time, or would-be for the holdout'),
    deliveredAt: z.iso.datetime().nullable().describe('Webhook channel: when its batch was accepted'),
  })
  .meta({ id: 'CampaignMember' });
export type CampaignMember = z.infer<typeof CampaignMemberSchema>;

export const CampaignMembersQuerySchema = z.object({
  group: z.enum(CAMPAIGN_GROUPS).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.coerce
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('Cursor: members with a larger contact id'),
});
export type CampaignMembersQuery = z.infer<typeof CampaignMembersQuerySchema>;

export const CampaignMembersPageSchema = z
  .object({
    members: z.array(CampaignMemberSchema),
    nextAfter: z.number().int().nullable().describe('Pass as `after` for the next page; null at the end'),
  })
  .meta({ id: 'CampaignMembersPage' });
export type CampaignMembersPage = z.infer<typeof CampaignMembersPageSchema>;

/** One audience refresh (the creation, then each analytics run for refresh campaigns). */
export const AudiencePointSchema = z
  .object({
    at: z.iso.datetime(),
    matched: z.number().int().describe('Contacts the audience matched, before suppression'),
    suppressed: SuppressedCountsSchema.describe('Of the matches not yet members, left out by suppression'),
    added: GroupCountsSchema.describe('New members this refresh'),
    members: GroupCountsSchema.describe('All members after it'),
  })
  .meta({ id: 'AudiencePoint' });
export type AudiencePoint = z.infer<typeof AudiencePointSchema>;

export const AudienceHistorySchema = z
  .object({ points: z.array(AudiencePointSchema).describe('Oldest first') })
  .meta({ id: 'AudienceHistory' });
export type AudienceHistory = z.infer<typeof AudienceHistorySchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/campaigns/:id/deliveries
// ---------------------------------------------------------------------------------------------

export const DeliveryAttemptSchema = z
  .object({
    attempt: z.number().int().describe('1 for the first'),
    startedAt: z.iso.datetime(),
    durationMs: z.number().int(),
    succeeded: z.boolean(),
    httpStatus: z.number().int().nullable().describe('Null on a timeout or connection error'),
    error: z.string().nullable(),
  })
  .meta({ id: 'DeliveryAttempt' });
export type DeliveryAttempt = z.infer<typeof DeliveryAttemptSchema>;

export const DeliverySchema = z
  .object({
    id: z.uuid().describe(`Batch id, sent as ${WEBHOOK_DELIVERY_HEADER} on every attempt`),
    kind: z.enum(DELIVERY_KINDS),
    status: z.enum(DELIVERY_STATUSES),
    members: z.number().int(),
    attempts: z.array(DeliveryAttemptSchema).describe('Webhook attempts, oldest first; none for exports'),
    createdAt: z.iso.datetime(),
    deliveredAt: z.iso.datetime().nullable(),
    nextAttemptAt: z.iso.datetime().nullable().describe('When a pending batch is tried next'),
    lastError: z.string().nullable(),
  })
  .meta({ id: 'Delivery' });
export type Delivery = z.infer<typeof DeliverySchema>;

export const DeliveryListSchema = z
  .object({
    deliveries: z.array(DeliverySchema).describe('Newest first, up to 100'),
    totals: z.object({
      batches: z.record(z.enum(DELIVERY_STATUSES), z.number().int()),
      membersDelivered: z.number().int().describe('Contacted members in delivered webhook batches'),
      membersPending: z.number().int().describe('Contacted members waiting in pending or sending batches'),
      exports: z.number().int().describe('CSV exports taken'),
    }),
  })
  .meta({ id: 'DeliveryList' });
export type DeliveryList = z.infer<typeof DeliveryListSchema>;

export const CampaignExportQuerySchema = z.object({
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Only members who joined after this instant (new members of a refresh campaign)'),
});
export type CampaignExportQuery = z.infer<typeof CampaignExportQuerySchema>;

/** The columns of GET /api/campaigns/:id/export.csv, in order. */
export const CAMPAIGN_EXPORT_COLUMNS = [
  'email',
  'name',
  'role',
  'contact_external_id',
  'account_external_id',
  'account_name',
  'segment',
  'campaign',
  'assigned_at',
] as const;

/** The body of one webhook request (a batch of contacted members). */
export const WebhookBatchSchema = z
  .object({
    deliveryId: z.uuid(),
    campaign: z.object({ id: z.number().int(), name: z.string(), goal: CampaignGoalSchema }),
    createdAt: z.iso.datetime(),
    members: z.array(
      z.object({
        contactId: z.number().int(),
        contactExternalId: z.string(),
        email: z.string(),
        name: z.string().nullable(),
        role: z.string().nullable(),
        accountExternalId: z.string(),
        accountName: z.string(),
        segment: z.string().nullable(),
        assignedAt: z.iso.datetime(),
      }),
    ),
  })
  .meta({ id: 'WebhookBatch' });
export type WebhookBatch = z.infer<typeof WebhookBatchSchema>;

// ---------------------------------------------------------------------------------------------
// GET /api/campaigns/:id/outcome
// ---------------------------------------------------------------------------------------------

export const GroupOutcomeSchema = z
  .object({
    members: z.number().int().describe('Member accounts in the group'),
    converted: z.number().int().describe('Of those, accounts with the goal event within the window'),
    rate: z.number().nullable().describe('converted / members (0-1); null without members'),
  })
  .meta({ id: 'GroupOutcome' });
export type GroupOutcome = z.infer<typeof GroupOutcomeSchema>;

export const CampaignOutcomeSchema = z
  .object({
    goal: CampaignGoalSchema,
    unit: z.literal('account').describe('Holdout is drawn, and conversion counted, per account'),
    asOf: z.iso.datetime().describe('Events up to this instant are counted'),
    contacted: GroupOutcomeSchema,
    holdout: GroupOutcomeSchema,
    uplift: z
      .number()
      .nullable()
      .describe(
        'contacted.rate - holdout.rate, in share points (0.15 = 15 points); null when a group is empty',
      ),
    ci: z
      .object({
        low: z.number(),
        high: z.number(),
        level: z.number().describe('0.95'),
        method: z
          .literal('newcombe')
          .describe("Newcombe's hybrid score interval (Wilson intervals of each rate)"),
      })
      .nullable(),
    significant: z.boolean().nullable().describe('The interval excludes zero'),
    openWindows: z.number().int().describe('Member accounts whose goal window has not closed yet'),
    curve: z
      .array(
        z.object({
          day: z.number().int(),
          contacted: z.number().nullable(),
          holdout: z.number().nullable(),
        }),
      )
      .describe('Share of each group converted by day N after its time, day 0 to windowDays'),
  })
  .meta({ id: 'CampaignOutcome' });
export type CampaignOutcome = z.infer<typeof CampaignOutcomeSchema>;
