import { z } from 'zod';

export const ANALYTICS_TRIGGERS = ['schedule', 'api', 'cli'] as const;
export const ANALYTICS_STATUSES = ['running', 'succeeded', 'failed'] as const;

/** The churn model's quality on held-out history, stored with the run that trained it. */
export const ModelReportSchema = z
  .object({
    method: z.enum(['logistic_regression', 'heuristic']),
    auc: z.number().nullable().describe('ROC AUC on the latest labelled snapshot, not trained on'),
    brier: z.number().nullable(),
    trainRows: z.number().int(),
    testRows: z.number().int(),
    positives: z.number().int(),
    calibration: z.array(z.object({ predicted: z.number(), observed: z.number(), count: z.number().int() })),
    note: z.string().nullable().describe('Why a heuristic was used, when it was'),
    trainedAt: z.iso
      .datetime()
      .describe('Trained once a day (and on a full rebuild); runs in between reuse it'),
  })
  .meta({ id: 'ModelReport' });
export type ModelReport = z.infer<typeof ModelReportSchema>;

export const AnalyticsRunSchema = z
  .object({
    id: z.number().int(),
    trigger: z.enum(ANALYTICS_TRIGGERS),
    fullRebuild: z.boolean(),
    status: z.enum(ANALYTICS_STATUSES),
    stage: z.string().nullable().describe('extract, compute, model, write'),
    progress: z.number().int().min(0).max(100),
    startedAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().nullable(),
    asOf: z.iso.datetime().nullable().describe('The instant the results describe'),
    rowsRead: z.number().int(),
    rowsWritten: z.number().int(),
    stageMs: z.record(z.string(), z.number()).describe('Milliseconds per stage'),
    model: ModelReportSchema.nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'AnalyticsRun' });
export type AnalyticsRun = z.infer<typeof AnalyticsRunSchema>;

export const AnalyticsRunListSchema = z
  .object({ runs: z.array(AnalyticsRunSchema) })
  .meta({ id: 'AnalyticsRunList' });
export type AnalyticsRunList = z.infer<typeof AnalyticsRunListSchema>;

export const RunAnalyticsRequestSchema = z
  .object({ full: z.boolean().default(false).describe('Re-extract all history instead of what is new') })
  .meta({ id: 'RunAnalyticsRequest' });
export type RunAnalyticsRequest = z.infer<typeof RunAnalyticsRequestSchema>;

export const SUPPORT_METRIC_GROUPINGS = ['channel', 'segment', 'week'] as const;

export const SupportMetricsQuerySchema = z.object({
  by: z.enum(SUPPORT_METRIC_GROUPINGS).default('channel'),
});
export type SupportMetricsQuery = z.infer<typeof SupportMetricsQuerySchema>;

/** ASA (first response, calendar minutes) and CSAT for one channel, segment or week. */
export const SupportMetricRowSchema = z
  .object({
    key: z.string().describe('The channel, segment, or week (YYYY-MM-DD, its Monday)'),
    tickets: z.number().int(),
    asaMeanMinutes: z.number().nullable(),
    asaMedianMinutes: z.number().nullable(),
    asaP90Minutes: z.number().nullable(),
    asaBusinessMeanMinutes: z
      .number()
      .nullable()
      .describe(
        'Mean first response in business hours (BUSINESS_HOURS, BUSINESS_TIMEZONE, or the source’s own figure)',
      ),
    ratings: z.number().int(),
    csatPct: z.number().nullable().describe('Satisfied ratings / all ratings x 100; null without ratings'),
  })
  .meta({ id: 'SupportMetricRow' });
export type SupportMetricRow = z.infer<typeof SupportMetricRowSchema>;

/** GET /api/metrics/support answers a plain array of rows. */
export const SupportMetricsSchema = z.array(SupportMetricRowSchema).meta({ id: 'SupportMetrics' });
export type SupportMetrics = z.infer<typeof SupportMetricsSchema>;

export const MovementsQuerySchema = z.object({
  runId: z.coerce
    .number()
    .int()
    .positive()
    .optional()
    .describe('A run; default the latest that recorded any'),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export type MovementsQuery = z.infer<typeof MovementsQuerySchema>;

/** Accounts that changed base segment between two analytics runs (a novice graduating, an expert slipping). */
export const MovementsSchema = z
  .object({
    runId: z.number().int().nullable(),
    movedAt: z.iso.datetime().nullable(),
    summary: z.array(z.object({ from: z.string(), to: z.string(), accounts: z.number().int() })),
    movements: z.array(
      z.object({
        accountId: z.number().int(),
        externalId: z.string(),
        name: z.string(),
        from: z.string(),
        to: z.string(),
      }),
    ),
  })
  .meta({ id: 'Movements' });
export type Movements = z.infer<typeof MovementsSchema>;

// ---------------------------------------------------------------------------------------------
// GET/PUT /api/settings/thresholds: how accounts are segmented (applied from the next run)
// ---------------------------------------------------------------------------------------------

const money = z
  .number({ error: 'expected a number' })
  .min(0, 'must be 0 or more')
  .max(999_999_999_999, 'must be at most 999,999,999,999');

/** The size tiers and the proficiency cut-off every analytics run segments accounts by. */
export const ThresholdsSchema = z
  .object({
    /** Enterprise from this MRR... */
    enterpriseMinMrr: money,
    /** ...or from this many seats, whatever the MRR. */
    enterpriseMinSeats: z
      .number({ error: 'expected a number' })
      .int('must be a whole number')
      .min(1, 'must be 1 or more')
      .max(2_147_483_647, 'must be at most 2147483647'),
    /** Mid-market from this MRR (and not enterprise); below it, SMB. */
    midMarketMinMrr: money,
    /** Expert when the behavioural proficiency score (0-1) is at least this; novice below. */
    expertMinScore: z
      .number({ error: 'expected a number' })
      .min(0, 'must be 0 or more')
      .max(1, 'must be at most 1'),
  })
  .strict()
  .refine((t) => t.midMarketMinMrr < t.enterpriseMinMrr, {
    path: ['midMarketMinMrr'],
    error: 'must be below enterpriseMinMrr',
  })
  .meta({ id: 'Thresholds' });
export type Thresholds = z.infer<typeof ThresholdsSchema>;

export const ThresholdSettingsSchema = z
  .object({
    /** What the next analytics run uses. */
    thresholds: ThresholdsSchema,
    /** The server's configured defaults (TIER_* variables), used until someone saves thresholds. */
    defaults: ThresholdsSchema,
    updatedAt: z.iso.datetime().nullable(),
    updatedBy: z.string().nullable(),
  })
  .meta({ id: 'ThresholdSettings' });
export type ThresholdSettings = z.infer<typeof ThresholdSettingsSchema>;
