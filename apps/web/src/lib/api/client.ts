import {
  Account360Schema,
  AccountActivitySchema,
  AccountListSchema,
  AccountTicketsSchema,
  AnalyticsRunListSchema,
  AnalyticsRunSchema,
  AudienceFieldListSchema,
  AudienceHistorySchema,
  AudiencePointSchema,
  CampaignListSchema,
  GoalEventListSchema,
  CampaignMembersPageSchema,
  CampaignOutcomeSchema,
  CampaignPreviewSchema,
  CampaignSchema,
  CreatedCampaignSchema,
  DeliveryListSchema,
  WebhookSecretSchema,
  CreatedSourceSchema,
  ErrorBodySchema,
  FieldIssueSchema,
  HealthResponseSchema,
  ImportListSchema,
  ImportSchema,
  MovementsSchema,
  OverviewSchema,
  OwnerListSchema,
  SegmentSummarySchema,
  SupportCommentsSchema,
  SupportMatrixSchema,
  SupportTrendsSchema,
  TrendsSchema,
  RejectedItemPageSchema,
  SegmentListSchema,
  SegmentMembersPageSchema,
  SourceListSchema,
  SourceSchema,
  SupportMetricsSchema,
  type AccountActivityQuery,
  type AccountFilters,
  type AccountListQuery,
  type AccountTicketsQuery,
  type FieldIssue,
  type CampaignExportQuery,
  type CampaignMembersQuery,
  type CampaignPreviewRequestInput,
  type CreateCampaignRequestInput,
  type ImportFormat,
  type ImportKind,
  type MovementsQuery,
  type OverviewQuery,
  type RejectedItemsQuery,
  type SegmentMembersQuery,
  type SupportCommentsQuery,
  type CampaignListQuery,
  type SupportMetricsQuery,
  type SupportTrendsQuery,
  type TrendsQuery,
  ApiTokenListSchema,
  ApiTokenSchema,
  AuditLogPageSchema,
  CreatedApiTokenSchema,
  CreatedUserSchema,
  SessionSchema,
  UserListSchema,
  UserSchema,
  type AuditLogQuery,
  type CreateApiTokenRequest,
  type CreateUserRequest,
  type UpdateUserRequest,
  ThresholdSettingsSchema,
  type Thresholds,
} from '@retain/contracts';
import { z } from 'zod';

/** An error answered by the API, with its documented code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The invalid fields an error names (a 400's or a 409's `details.fields`), or none. */
export function errorFields(error: unknown): FieldIssue[] {
  if (!(error instanceof ApiError)) return [];
  const details = error.details as { fields?: unknown } | undefined;
  const parsed = FieldIssueSchema.array().safeParse(details?.fields);
  return parsed.success ? parsed.data : [];
}

type Fetch = typeof fetch;

/** What the client reads of the browser, when there is one (the tests call the API from Node). */
interface BrowserLike {
  document?: { cookie: string };
  location?: { pathname: string; search: string; assign(url: string): void };
}
const browser = globalThis as BrowserLike;

/** The CSRF token the API set at sign-in (a readable cookie), echoed on every write. */
function csrfToken(): string | undefined {
  const match = /(?:^|;\s*)retain_csrf=([^;]*)/.exec(browser.document?.cookie ?? '');
  return match ? decodeURIComponent(match[1]!) : undefined;
}

/**
 * A 401 from any call but sign-in means the session ended: go to the sign-in page, which comes
 * back here afterwards. Only in a browser, and never from the sign-in page itself.
 */
function signInAgain(path: string, status: number): void {
  const location = browser.location;
  if (status !== 401 || !location || path.startsWith('/api/auth/') || location.pathname === '/login') return;
  location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
}
type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];
/** Query objects as pages build them: every field optional, defaults left to the API. */
type Query<T> = { [K in keyof T]?: T[K] | undefined };

/** `?a=1&b=x` from an object, leaving out empty values; arrays repeat their key. */
export function queryString(params: Record<string, QueryValue> = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) for (const item of value) search.append(key, String(item));
    else search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * The one typed client for the Retain API. Pass SvelteKit's `fetch` from a load function so
 * requests are tracked as dependencies; every response is parsed with its shared zod schema.
 */
export function createApiClient(fetcher: Fetch = fetch, base = '') {
  async function request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    init: { body?: string | Blob; contentType?: string; okStatuses?: number[] } = {},
  ): Promise<z.infer<S>> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (init.contentType) headers['content-type'] = init.contentType;
    const csrf = method === 'GET' ? undefined : csrfToken();
    if (csrf) headers['x-csrf-token'] = csrf;
    const response = await fetcher(`${base}${path}`, { method, headers, body: init.body });
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok && !(init.okStatuses ?? []).includes(response.status)) {
      signInAgain(path, response.status);
      const parsed = ErrorBodySchema.safeParse(body);
      if (parsed.success) {
        const { code, message, details } = parsed.data.error;
        throw new ApiError(response.status, code, message, details);
      }
      throw new ApiError(response.status, 'HTTP_ERROR', `${path} answered ${response.status}`);
    }
    const parsed = schema.safeParse(body);
    if (!parsed.success) {
      throw new ApiError(response.status, 'UNEXPECTED_RESPONSE', `${path} answered an unexpected shape`, {
        issues: parsed.error.issues.slice(0, 5),
      });
    }
    return parsed.data;
  }

  const get = <S extends z.ZodType>(path: string, schema: S, okStatuses?: number[]) =>
    request('GET', path, schema, { okStatuses });
  const postJson = <S extends z.ZodType>(path: string, schema: S, body: unknown) =>
    request('POST', path, schema, { body: JSON.stringify(body), contentType: 'application/json' });

  return {
    // Signing in and out; who is signed in
    /** A 401 is a wrong email or password, a 429 too many failed tries (ApiError). */
    login: (email: string, password: string) =>
      postJson('/api/auth/login', SessionSchema, { email, password }),
    /** Ends the session; one that had ended already (401) is fine too. */
    logout: () => request('POST', '/api/auth/logout', z.unknown(), { okStatuses: [401] }),
    session: () => get('/api/auth/session', SessionSchema),

    // Users, API tokens and the audit log (admins)
    users: () => get('/api/users', UserListSchema),
    createUser: (body: CreateUserRequest) => postJson('/api/users', CreatedUserSchema, body),
    updateUser: (id: number, body: UpdateUserRequest) =>
      request('PATCH', `/api/users/${id}`, UserSchema, {
        body: JSON.stringify(body),
        contentType: 'application/json',
      }),
    resetPassword: (id: number) => postJson(`/api/users/${id}/password`, CreatedUserSchema, {}),
    apiTokens: () => get('/api/tokens', ApiTokenListSchema),
    createApiToken: (body: CreateApiTokenRequest) => postJson('/api/tokens', CreatedApiTokenSchema, body),
    revokeApiToken: (id: number) => request('DELETE', `/api/tokens/${id}`, ApiTokenSchema),
    auditLog: (query: Query<AuditLogQuery> = {}) =>
      get(`/api/audit-log${queryString(query)}`, AuditLogPageSchema),

    /** 503 still carries a health report (a component is down), so it is not an error here. */
    health: () => get('/api/health', HealthResponseSchema, [503]),

    // Segment thresholds (applied from the next analytics run)
    thresholds: () => get('/api/settings/thresholds', ThresholdSettingsSchema),
    /** A 400 names each invalid field (ApiError details.fields). */
    saveThresholds: (body: Thresholds) =>
      request('PUT', '/api/settings/thresholds', ThresholdSettingsSchema, {
        body: JSON.stringify(body),
        contentType: 'application/json',
      }),

    // Analytics runs
    analyticsRuns: () => get('/api/jobs/analytics/runs', AnalyticsRunListSchema),
    analyticsRun: (id: number) => get(`/api/jobs/analytics/runs/${id}`, AnalyticsRunSchema),
    /** Starts a run; a run already in progress answers 409 (ApiError code CONFLICT). */
    runAnalytics: (full = false) => postJson('/api/jobs/analytics/run', AnalyticsRunSchema, { full }),

    // Dashboard: overview and trends
    overview: (query: Query<OverviewQuery> = {}) => get(`/api/overview${queryString(query)}`, OverviewSchema),
    trends: (query: Query<TrendsQuery> = {}) => get(`/api/trends${queryString(query)}`, TrendsSchema),

    // Dashboard: support quality
    supportMatrix: () => get('/api/support/matrix', SupportMatrixSchema),
    supportTrends: (query: Query<SupportTrendsQuery> = {}) =>
      get(`/api/support/trends${queryString(query)}`, SupportTrendsSchema),
    supportComments: (query: Query<SupportCommentsQuery> = {}) =>
      get(`/api/support/comments${queryString(query)}`, SupportCommentsSchema),

    // Dashboard: accounts, owners and segments
    accounts: (query: Query<AccountListQuery> = {}) =>
      get(`/api/accounts${queryString(query)}`, AccountListSchema),
    /** The same filters and order as the list, every matching row, as CSV (a link, not a fetch). */
    accountsExportUrl: (filters: Query<AccountFilters> = {}) =>
      `${base}/api/accounts/export.csv${queryString(filters)}`,
    owners: () => get('/api/owners', OwnerListSchema),
    segmentSummary: (key: string) =>
      get(`/api/segment-summary/${encodeURIComponent(key)}`, SegmentSummarySchema),
    account: (id: number) => get(`/api/accounts/${id}`, Account360Schema),
    accountActivity: (id: number, query: Query<AccountActivityQuery> = {}) =>
      get(`/api/accounts/${id}/activity${queryString(query)}`, AccountActivitySchema),
    accountTickets: (id: number, query: Query<AccountTicketsQuery> = {}) =>
      get(`/api/accounts/${id}/tickets${queryString(query)}`, AccountTicketsSchema),

    // Results of the last run
    supportMetrics: (by: SupportMetricsQuery['by']) =>
      get(`/api/metrics/support${queryString({ by })}`, SupportMetricsSchema),
    movements: (query: Query<MovementsQuery> = {}) =>
      get(`/api/movements${queryString(query)}`, MovementsSchema),
    scoresExportUrl: () => `${base}/api/scores/export`,

    // Custom segments
    customSegments: () => get('/api/segments', SegmentListSchema),
    customSegmentMembers: (id: number, query: Query<SegmentMembersQuery> = {}) =>
      get(`/api/segments/${id}/members${queryString(query)}`, SegmentMembersPageSchema),

    // Campaigns: audiences, members, delivery and outcome
    campaignFields: () => get('/api/campaigns/fields', AudienceFieldListSchema),
    /** Event names sent lately, most frequent first: suggestions for a campaign's goal. */
    goalEvents: () => get('/api/campaigns/goal-events', GoalEventListSchema),
    /** A 400 names each invalid part of the audience (ApiError details.fields). */
    previewAudience: (request: CampaignPreviewRequestInput) =>
      postJson('/api/campaigns/preview', CampaignPreviewSchema, request),
    /** A 400 names each invalid field, a 409 a taken name; the webhook secret is answered only here. */
    createCampaign: (request: CreateCampaignRequestInput) =>
      postJson('/api/campaigns', CreatedCampaignSchema, request),
    campaigns: (query: Query<CampaignListQuery> = {}) =>
      get(`/api/campaigns${queryString(query)}`, CampaignListSchema),
    campaign: (id: number) => get(`/api/campaigns/${id}`, CampaignSchema),
    stopCampaign: (id: number) => postJson(`/api/campaigns/${id}/stop`, CampaignSchema, {}),
    /** Lets new audience matches join now; a stopped campaign answers 409. */
    refreshCampaign: (id: number) => postJson(`/api/campaigns/${id}/refresh`, AudiencePointSchema, {}),
    rotateWebhookSecret: (id: number) =>
      postJson(`/api/campaigns/${id}/webhook-secret`, WebhookSecretSchema, {}),
    campaignMembers: (id: number, query: Query<CampaignMembersQuery> = {}) =>
      get(`/api/campaigns/${id}/members${queryString(query)}`, CampaignMembersPageSchema),
    campaignAudienceHistory: (id: number) =>
      get(`/api/campaigns/${id}/audience-history`, AudienceHistorySchema),
    campaignDeliveries: (id: number) => get(`/api/campaigns/${id}/deliveries`, DeliveryListSchema),
    campaignOutcome: (id: number) => get(`/api/campaigns/${id}/outcome`, CampaignOutcomeSchema),
    /** The contacted members (never the holdout) as CSV (a link, not a fetch). */
    campaignExportUrl: (id: number, query: Query<CampaignExportQuery> = {}) =>
      `${base}/api/campaigns/${id}/export.csv${queryString(query)}`,

    // Sources and write keys
    sources: () => get('/api/sources', SourceListSchema),
    createSource: (name: string) => postJson('/api/sources', CreatedSourceSchema, { name }),
    revokeSource: (id: number) => request('DELETE', `/api/sources/${id}`, SourceSchema),

    // Imports and what they refused
    imports: () => get('/api/imports', ImportListSchema),
    import: (id: number) => get(`/api/imports/${id}`, ImportSchema),
    uploadImport: (
      kind: ImportKind,
      file: Blob,
      options: { format: ImportFormat; fileName?: string; source?: string },
    ) =>
      request('POST', `/api/imports/${kind}${queryString(options)}`, ImportSchema, {
        body: file,
        contentType: 'application/octet-stream',
      }),
    rejectedItems: (query: Query<RejectedItemsQuery> = {}) =>
      get(`/api/rejected-items${queryString(query)}`, RejectedItemPageSchema),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
