import { z } from 'zod';

/** Comparisons a filter condition can make; which ones a field allows depends on its type. */
export const FILTER_OPS = [
  'eq',
  'neq',
  'gt',
  'gte',
  'lt',
  'lte',
  'between',
  'in',
  'not_in',
  'contains',
  'starts_with',
  'is_null',
  'is_not_null',
] as const;
export type FilterOp = (typeof FILTER_OPS)[number];

export const FILTER_FIELD_TYPES = ['text', 'number', 'timestamp', 'date'] as const;
export type FilterFieldType = (typeof FILTER_FIELD_TYPES)[number];

export const FILTER_FIELD_SOURCES = ['account', 'score', 'feature', 'trait'] as const;

/** How deep groups may nest and how many conditions one filter may hold. */
export const FILTER_MAX_DEPTH = 8;
export const FILTER_MAX_CONDITIONS = 100;

/** One comparison of an account field, score, feature or trait (`trait.<key>`) with a value. */
export interface FilterCondition {
  field: string;
  op: FilterOp;
  value?: unknown;
}
export type FilterNode =
  { all: FilterNode[] } | { any: FilterNode[] } | { not: FilterNode } | FilterCondition;

export const FilterConditionSchema = z
  .strictObject({
    field: z.string().min(1).max(200),
    op: z.enum(FILTER_OPS),
    value: z
      .unknown()
      .optional()
      .describe('A number, text, ISO date, [a, b] for between, an array for in / not_in; none for is_null'),
  })
  .meta({ id: 'FilterCondition' });

export const FilterNodeSchema: z.ZodType<FilterNode> = z
  .lazy(() =>
    z.union([
      z.strictObject({ all: z.array(FilterNodeSchema) }),
      z.strictObject({ any: z.array(FilterNodeSchema) }),
      z.strictObject({ not: FilterNodeSchema }),
      FilterConditionSchema,
    ]),
  )
  .meta({ id: 'FilterNode' });

const GROUP_KEYS = ['all', 'any', 'not'] as const;

interface LimitIssue {
  path: (string | number)[];
  message: string;
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Checks the shape of a filter without recursion (a hostile body nested thousands of levels deep
 * must be a 400, not a stack overflow), naming each bad node's path, before the typed schema runs.
 */
export function filterShapeIssues(filter: unknown): LimitIssue[] {
  const issues: LimitIssue[] = [];
  let conditions = 0;
  const stack: { node: unknown; path: (string | number)[]; depth: number }[] = [
    { node: filter, path: [], depth: 1 },
  ];
  while (stack.length > 0 && issues.length < 20) {
    const { node, path, depth } = stack.pop()!;
    if (!isRecord(node)) {
      issues.push({ path, message: 'must be an object: { all }, { any }, { not } or { field, op, value }' });
      continue;
    }
    const group = GROUP_KEYS.filter((key) => key in node);
    if (group.length === 0) {
      conditions++;
      if (!('field' in node)) {
        issues.push({ path, message: 'must have all, any, not or field' });
        continue;
      }
      if (typeof node.field !== 'string') issues.push({ path: [...path, 'field'], message: 'must be text' });
      if (!('op' in node)) issues.push({ path: [...path, 'op'], message: 'is required' });
      else if (!(FILTER_OPS as readonly unknown[]).includes(node.op))
        issues.push({ path: [...path, 'op'], message: `must be one of ${FILTER_OPS.join(', ')}` });
      const extra = Object.keys(node).filter((key) => !['field', 'op', 'value'].includes(key));
      if (extra.length > 0) issues.push({ path, message: `unknown key "${extra[0]}"` });
      continue;
    }
    const key = group[0]!;
    if (Object.keys(node).length !== 1) {
      issues.push({ path, message: `a group has only its "${key}" key` });
      continue;
    }
    if (depth >= FILTER_MAX_DEPTH) {
      issues.push({ path, message: `nests deeper than ${FILTER_MAX_DEPTH} levels` });
      continue;
    }
    const children = node[key];
    if (key === 'not') {
      stack.push({ node: children, path: [...path, key], depth: depth + 1 });
    } else if (!Array.isArray(children)) {
      issues.push({ path: [...path, key], message: 'must be an array' });
    } else {
      for (let i = children.length - 1; i >= 0; i--)
        stack.push({ node: children[i], path: [...path, key, i], depth: depth + 1 });
    }
  }
  if (conditions > FILTER_MAX_CONDITIONS)
    issues.push({ path: [], message: `has more than ${FILTER_MAX_CONDITIONS} conditions` });
  return issues;
}

/** A filter as requests carry it: shape and limits checked first, then typed as a FilterNode. */
export const FilterSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    for (const issue of filterShapeIssues(value))
      ctx.addIssue({ code: 'custom', path: issue.path, message: issue.message });
  })
  .pipe(FilterNodeSchema)
  .describe(
    `{ all: [...] } | { any: [...] } | { not: {...} } | { field, op, value }; at most ${FILTER_MAX_DEPTH} levels and ${FILTER_MAX_CONDITIONS} conditions`,
  );

const SegmentNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(100, 'must be at most 100 characters')
  // The scores export lists an account's segments joined with ';'.
  .regex(/^[^;\p{Cc}]*$/u, 'must not contain ";" or control characters');

export const SegmentSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    description: z.string().nullable(),
    filter: FilterNodeSchema,
    members: z.number().int().describe('Accounts in the segment as of the last analytics run or save'),
    createdAt: z.iso.datetime(),
    updatedAt: z.iso.datetime(),
  })
  .meta({ id: 'Segment' });
export type Segment = z.infer<typeof SegmentSchema>;

export const CreateSegmentRequestSchema = z
  .object({
    name: SegmentNameSchema,
    description: z.string().max(1000, 'must be at most 1000 characters').nullable().optional(),
    filter: FilterSchema,
  })
  .meta({ id: 'CreateSegmentRequest' });
export type CreateSegmentRequest = z.infer<typeof CreateSegmentRequestSchema>;

export const UpdateSegmentRequestSchema = z
  .object({
    name: SegmentNameSchema.optional(),
    description: z.string().max(1000, 'must be at most 1000 characters').nullable().optional(),
    filter: FilterSchema.optional(),
  })
  .meta({ id: 'UpdateSegmentRequest' });
export type UpdateSegmentRequest = z.infer<typeof UpdateSegmentRequestSchema>;

export const SegmentListSchema = z.object({ segments: z.array(SegmentSchema) }).meta({ id: 'SegmentList' });
export type SegmentList = z.infer<typeof SegmentListSchema>;

/** A scored account as segment member lists and previews show it. */
export const SegmentMemberSchema = z
  .object({
    accountId: z.number().int(),
    externalId: z.string(),
    name: z.string(),
    tier: z.string(),
    segment: z.string().describe('Base segment from the analytics run'),
    churnRisk: z.number().nullable(),
    health: z.number().nullable(),
    mrr: z.number().nullable(),
  })
  .meta({ id: 'SegmentMember' });
export type SegmentMember = z.infer<typeof SegmentMemberSchema>;

export const SegmentMembersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  after: z.coerce
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('Cursor: members with a larger account id'),
});
export type SegmentMembersQuery = z.infer<typeof SegmentMembersQuerySchema>;

export const SegmentMembersPageSchema = z
  .object({
    members: z.array(SegmentMemberSchema),
    nextAfter: z.number().int().nullable().describe('Pass as `after` for the next page; null at the end'),
  })
  .meta({ id: 'SegmentMembersPage' });
export type SegmentMembersPage = z.infer<typeof SegmentMembersPageSchema>;

export const SegmentPreviewRequestSchema = z
  .object({ filter: FilterSchema })
  .meta({ id: 'SegmentPreviewRequest' });
export type SegmentPreviewRequest = z.infer<typeof SegmentPreviewRequestSchema>;

export const SegmentPreviewSchema = z
  .object({
    accounts: z.number().int().describe('Scored accounts the filter matches now'),
    sample: z.array(SegmentMemberSchema).describe('Up to 10 of them, highest churn risk first'),
  })
  .meta({ id: 'SegmentPreview' });
export type SegmentPreview = z.infer<typeof SegmentPreviewSchema>;

/** A field a filter may name, for the dashboard's builder. */
export const FilterFieldSchema = z
  .object({
    name: z.string(),
    type: z.enum(FILTER_FIELD_TYPES),
    source: z.enum(FILTER_FIELD_SOURCES),
    ops: z.array(z.enum(FILTER_OPS)),
    description: z.string(),
  })
  .meta({ id: 'FilterField' });
export type FilterField = z.infer<typeof FilterFieldSchema>;

export const FilterFieldListSchema = z
  .object({
    fields: z.array(FilterFieldSchema),
    traits: z.object({
      prefix: z.literal('trait.'),
      keyPattern: z.string().describe('Trait keys match this pattern, e.g. trait.industry'),
      description: z.string(),
    }),
  })
  .meta({ id: 'FilterFieldList' });
export type FilterFieldList = z.infer<typeof FilterFieldListSchema>;
