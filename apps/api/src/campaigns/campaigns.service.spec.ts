import { describe, expect, it, jest } from '@jest/globals';
import { CampaignPreviewRequestSchema, CreateCampaignRequestSchema } from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import type { AudienceRepository } from './audience.repository.js';
import type { CampaignsRepository } from './campaigns.repository.js';
import { CampaignsService } from './campaigns.service.js';
import type { WebhookDeliveriesRepository } from './webhook-deliveries.repository.js';

/** Repositories that fail the test if anything reaches the database. */
function untouchable() {
  const calls: string[] = [];
  const trap = <T extends object>(name: string): T =>
    new Proxy({} as T, {
      get: (_target, method) =>
        jest.fn(() => {
          calls.push(`${name}.${String(method)}`);
          throw new Error(`no query expected, got ${name}.${String(method)}`);
        }),
    });
  const service = new CampaignsService(
    trap<CampaignsRepository>('campaigns'),
    trap<AudienceRepository>('audiences'),
    trap<WebhookDeliveriesRepository>('deliveries'),
  );
  return { service, calls };
}

/** What the API answers a preview body with: the schema's 400, or the service's. */
async function previewError(body: unknown): Promise<{ status: number; fields: unknown; calls: string[] }> {
  const { service, calls } = untouchable();
  let error: unknown;
  const parsed = CampaignPreviewRequestSchema.safeParse(body);
  if (!parsed.success) error = AppException.validation(parsed.error.issues);
  else
    error = await service.preview(parsed.data).then(
      () => null,
      (e: unknown) => e,
    );
  expect(error).toBeInstanceOf(AppException);
  const app = error as AppException;
  return {
    status: app.code === 'VALIDATION_FAILED' ? 400 : 500,
    fields: (app.details as { fields: unknown }).fields,
    calls,
  };
}

describe('campaign audiences: bad input is a 400 naming it, never a query', () => {
  it.each([
    [
      'an unknown field',
      { field: 'seat_utilization', op: 'gt', value: 0.9 },
      [{ path: 'audience.filter.field', message: 'unknown field "seat_utilization"' }],
    ],
    [
      'an unknown operator',
      { field: 'mrr', op: 'like', value: 1 },
      [
        {
          path: 'audience.filter.op',
          message:
            'must be one of eq, neq, gt, gte, lt, lte, between, in, not_in, contains, starts_with, is_null, is_not_null',
        },
      ],
    ],
    [
      'a value of the wrong type',
      { all: [{ field: 'contact.last_seen_at', op: 'gt', value: 30 }] },
      [
        {
          path: 'audience.filter.all.0.value',
          message: 'must be an ISO date or date-time with a zone for timestamp field "contact.last_seen_at"',
        },
      ],
    ],
    [
      'SQL in a field name',
      { field: 'mrr) OR 1=1; DROP TABLE contacts; --', op: 'gt', value: 1 },
      [{ path: 'audience.filter.field', message: 'unknown field "mrr) OR 1=1; DROP TABLE contacts; --"' }],
    ],
    [
      'SQL in a trait key',
      { field: "trait.x' OR '1'='1", op: 'eq', value: 'a' },
      [
        {
          path: 'audience.filter.field',
          message: `trait keys are 1 to 64 letters, digits or _ (got "x' OR '1'='1")`,
        },
      ],
    ],
    [
      'SQL as a number',
      { field: 'churn_risk', op: 'gte', value: '0 OR 1=1' },
      [{ path: 'audience.filter.value', message: 'must be a number for number field "churn_risk"' }],
    ],
    [
      'SQL as an operator',
      { field: 'mrr', op: '>= 0 OR 1=1 --', value: 1 },
      [
        {
          path: 'audience.filter.op',
          message:
            'must be one of eq, neq, gt, gte, lt, lte, between, in, not_in, contains, starts_with, is_null, is_not_null',
        },
      ],
    ],
  ])('%s', async (_name, filter, fields) => {
    const answer = await previewError({ audience: { segments: [], filter } });
    expect(answer).toEqual({ status: 400, fields, calls: [] });
  });

  it('names an unknown base segment, and SQL in a segment key', async () => {
    const answer = await previewError({ audience: { segments: ['smb-novice', "vip' OR '1'='1", 'gold'] } });
    expect(answer.status).toBe(400);
    expect(answer.calls).toEqual([]);
    expect(answer.fields).toEqual([
      {
        path: 'audience.segments.1',
        message: `unknown segment "vip' OR '1'='1": use a base segment (enterprise-novice, enterprise-expert, mid_market-novice, mid_market-expert, smb-novice, smb-expert) or a custom segment id`,
      },
      {
        path: 'audience.segments.2',
        message: `unknown segment "gold": use a base segment (enterprise-novice, enterprise-expert, mid_market-novice, mid_market-expert, smb-novice, smb-expert) or a custom segment id`,
      },
    ]);
  });

  it('refuses unknown keys in the audience, and a webhook campaign without a URL', () => {
    const audience = CampaignPreviewRequestSchema.safeParse({ audience: { segments: [], where: 'TRUE' } });
    expect(audience.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
      ['audience', 'Unrecognized key: "where"'],
    ]);
    const create = CreateCampaignRequestSchema.safeParse({
      name: 'x',
      goal: { event: 'plan_upgraded', windowDays: 30 },
      channel: 'webhook',
      holdoutPct: 60,
      audience: { segments: [] },
    });
    expect(create.error?.issues.map((i) => i.path.join('.'))).toEqual(['holdoutPct', 'webhook']);
  });

  it('binds SQL-looking text as a value, never as SQL', async () => {
    const counts = jest.fn(async () => ({ accounts: 0, contacts: 0 }));
    const service = new CampaignsService(
      {} as CampaignsRepository,
      {
        counts,
        sample: async () => [],
        bySegment: async () => new Map(),
        customSegmentNames: async () => new Map(),
        scoresAsOf: async () => null,
      } as unknown as AudienceRepository,
      {} as WebhookDeliveriesRepository,
    );
    const text = "x'; DROP TABLE contacts; --";
    await service.preview({
      audience: {
        segments: [],
        primaryContactOnly: false,
        filter: { field: 'contact.role', op: 'eq', value: text },
      },
    });
    const [where] = counts.mock.calls[0] as unknown as [{ sql: string; values: unknown[] }];
    expect(where.sql).not.toContain('DROP');
    expect(where.values).toEqual([text]);
  });
});
