import { describe, expect, it } from '@jest/globals';
import { FilterSchema, type FilterNode } from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import { FILTER_FIELDS, compileFilter, filterFieldList } from './segment-filter.js';

/** The VALIDATION_FAILED field issues a filter compiles to, or a failure when it compiles. */
function issues(filter: unknown): { path: string; message: string }[] {
  try {
    compileFilter(filter as FilterNode);
  } catch (error) {
    expect(error).toBeInstanceOf(AppException);
    expect((error as AppException).code).toBe('VALIDATION_FAILED');
    return ((error as AppException).details as { fields: { path: string; message: string }[] }).fields;
  }
  throw new Error('compiled, expected a validation failure');
}

const nested = (levels: number): unknown => {
  let node: unknown = { field: 'mrr', op: 'gt', value: 1 };
  for (let i = 1; i < levels; i++) node = { all: [node] };
  return node;
};

describe('compileFilter', () => {
  it('compiles groups of score and account conditions to parameterised SQL', () => {
    expect(
      compileFilter({
        all: [
          { field: 'tier', op: 'eq', value: 'smb' },
          { field: 'churn_risk', op: 'gte', value: 0.3 },
          {
            any: [
              { field: 'plan', op: 'in', value: ['pro', 'team'] },
              { field: 'mrr', op: 'between', value: [100, 500] },
            ],
          },
        ],
      }),
    ).toEqual({
      sql:
        '(s.tier = $1::text AND s.churn_risk >= $2::numeric AND ' +
        '(a.plan = ANY($3::text[]) OR a.mrr BETWEEN $4::numeric AND $5::numeric))',
      params: ['smb', 0.3, ['pro', 'team'], 100, 500],
    });
  });

  it('reads features as numbers, and numbers parameters from where the caller says', () => {
    expect(
      compileFilter(
        {
          any: [
            { field: 'seat_utilisation', op: 'lt', value: 0.2 },
            { field: 'days_since_last_seen', op: 'is_null' },
          ],
        },
        { firstParam: 3 },
      ),
    ).toEqual({
      sql:
        "(retain_to_number(s.features->>'seat_utilisation') < $3::numeric OR " +
        "retain_to_number(s.features->>'days_since_last_seen') IS NULL)",
      params: [0.2],
    });
  });

  it('compiles not, neq and not_in so that accounts without a value count as "not"', () => {
    expect(
      compileFilter({
        all: [
          { not: { field: 'churn_risk', op: 'gt', value: 0.5 } },
          { field: 'plan', op: 'neq', value: 'free' },
          { field: 'region', op: 'not_in', value: ['emea'] },
        ],
      }),
    ).toEqual({
      sql:
        '(NOT COALESCE(s.churn_risk > $1::numeric, FALSE) AND a.plan IS DISTINCT FROM $2::text AND ' +
        '(a.region IS NULL OR NOT a.region = ANY($3::text[])))',
      params: [0.5, 'free', ['emea']],
    });
  });

  it('compiles text matching case-insensitively and dates as normalised instants', () => {
    expect(
      compileFilter({
        all: [
          { field: 'name', op: 'contains', value: 'Acme' },
          { field: 'owner', op: 'starts_with', value: 'ann' },
          { field: 'created_at', op: 'gte', value: '2026-01-01' },
          { field: 'churned_at', op: 'lt', value: '2026-03-01T10:00:00+01:00' },
          { field: 'renewal_date', op: 'between', value: ['2026-04-01', '2026-06-30'] },
        ],
      }),
    ).toEqual({
      sql:
        '(strpos(lower(a.name), lower($1::text)) > 0 AND starts_with(lower(a.owner), lower($2::text)) AND ' +
        'a.created_at >= $3::timestamptz AND a.churned_at < $4::timestamptz AND ' +
        'a.renewal_date BETWEEN $5::date AND $6::date)',
      params: [
        'Acme',
        'ann',
        '2026-01-01T00:00:00.000Z',
        '2026-03-01T09:00:00.000Z',
        '2026-04-01',
        '2026-06-30',
      ],
    });
  });

  it('binds trait keys as parameters and compares as numbers or text by the value', () => {
    expect(
      compileFilter({
        all: [
          { field: 'trait.industry', op: 'eq', value: 'retail' },
          { field: 'trait.nps', op: 'gte', value: 8 },
          { field: 'trait.beta', op: 'eq', value: true },
          { field: 'trait.Region_2', op: 'is_not_null' },
        ],
      }),
    ).toEqual({
      sql:
        '((a.traits->>$1::text) = $2::text AND retain_to_number(a.traits->>$3::text) >= $4::numeric AND ' +
        '(a.traits->>$5::text) = $6::text AND (a.traits->>$7::text) IS NOT NULL)',
      params: ['industry', 'retail', 'nps', 8, 'beta', 'true', 'Region_2'],
    });
  });

  it('matches everyone with an empty all and no one with an empty any', () => {
    expect(compileFilter({ all: [] })).toEqual({ sql: 'TRUE', params: [] });
    expect(compileFilter({ any: [] })).toEqual({ sql: 'FALSE', params: [] });
  });

  it('names the path of an unknown field, a misapplied op and a mistyped value, all at once', () => {
    expect(
      issues({
        all: [
          { field: 'tier', op: 'eq', value: 'smb' },
          { field: 'plan', op: 'gt', value: 3 },
          { field: 'mrrr', op: 'gt', value: 3 },
          { any: [{ field: 'mrr', op: 'gt', value: '100' }] },
        ],
      }),
    ).toEqual([
      {
        path: 'filter.all.1.op',
        message:
          '"gt" does not apply to text field "plan" (use eq, neq, in, not_in, contains, starts_with, is_null, is_not_null)',
      },
      { path: 'filter.all.2.field', message: 'unknown field "mrrr"' },
      { path: 'filter.all.3.any.0.value', message: 'must be a number for number field "mrr"' },
    ]);
  });

  it('gives the path in its message', () => {
    expect(() => compileFilter({ all: [{ field: 'x', op: 'eq', value: 1 }] })).toThrow(
      'filter.all.0.field: unknown field "x"',
    );
  });

  it.each([
    [
      { field: 'created_at', op: 'gt', value: 'last tuesday' },
      'filter.value',
      'must be an ISO date or date-time with a zone for timestamp field "created_at"',
    ],
    [
      { field: 'created_at', op: 'gt', value: '2026-02-30' },
      'filter.value',
      'must be an ISO date or date-time with a zone for timestamp field "created_at"',
    ],
    [
      { field: 'created_at', op: 'gt', value: '2026-02-01T10:00:00' },
      'filter.value',
      'must be an ISO date or date-time with a zone for timestamp field "created_at"',
    ],
    [
      { field: 'renewal_date', op: 'eq', value: '2026-02-01T00:00:00Z' },
      'filter.value',
      'must be a date (YYYY-MM-DD) for date field "renewal_date"',
    ],
    [
      { field: 'mrr', op: 'between', value: [1] },
      'filter.value',
      'must be two values [from, to] for between',
    ],
    [{ field: 'mrr', op: 'between', value: 5 }, 'filter.value', 'must be two values [from, to] for between'],
    [
      { field: 'mrr', op: 'between', value: [1, 'x'] },
      'filter.value.1',
      'must be a number for number field "mrr"',
    ],
    [
      { field: 'plan', op: 'in', value: 'pro' },
      'filter.value',
      'must be an array of 1 to 1000 values for in',
    ],
    [{ field: 'plan', op: 'in', value: [] }, 'filter.value', 'must be an array of 1 to 1000 values for in'],
    [{ field: 'plan', op: 'eq', value: 5 }, 'filter.value', 'must be text for text field "plan"'],
    [{ field: 'plan', op: 'eq' }, 'filter.value', 'must be text for text field "plan"'],
    [{ field: 'plan', op: 'is_null', value: 'pro' }, 'filter.value', 'must be absent for is_null'],
    [
      { field: 'health', op: 'contains', value: '1' },
      'filter.op',
      '"contains" does not apply to number field "health" (use eq, neq, gt, gte, lt, lte, between, in, not_in, is_null, is_not_null)',
    ],
    [
      { field: 'trait.industry', op: 'gt', value: 'retail' },
      'filter.op',
      '"gt" does not apply to text field "trait.industry" (use eq, neq, in, not_in, contains, starts_with, is_null, is_not_null)',
    ],
    [
      { field: 'trait.', op: 'eq', value: 'x' },
      'filter.field',
      'trait keys are 1 to 64 letters, digits or _ (got "")',
    ],
    [
      { field: 'plan', op: 'like', value: 'x' },
      'filter.op',
      '"like" does not apply to text field "plan" (use eq, neq, in, not_in, contains, starts_with, is_null, is_not_null)',
    ],
  ])('refuses %j at %s', (filter, path, message) => {
    expect(issues(filter)).toEqual([{ path, message }]);
  });

  describe('hostile input', () => {
    it.each([
      'mrr; DROP TABLE accounts',
      'mrr) OR 1=1 --',
      "features->>'x'",
      'a.mrr',
      'trait.x; DROP TABLE accounts',
      "trait.x' OR '1'='1",
      'trait.' + 'a'.repeat(65),
    ])('refuses the field %j without building SQL', (field) => {
      const found = issues({ all: [{ field, op: 'eq', value: 1 }] });
      expect(found).toHaveLength(1);
      expect(found[0]!.path).toBe('filter.all.0.field');
    });

    it('binds values with quotes and SQL, never putting them in the SQL text', () => {
      const evil = ["x'; DROP TABLE accounts; --", 'Robert"); DELETE FROM account_scores; --', '$1', '\\'];
      const compiled = compileFilter({
        any: [
          ...evil.map((value): FilterNode => ({ field: 'name', op: 'eq', value })),
          { field: 'owner', op: 'in', value: evil },
          { field: 'trait.note', op: 'contains', value: evil[0] },
        ],
      });
      expect(compiled.sql).not.toMatch(/DROP|DELETE|'x|"/);
      expect(compiled.params).toEqual([...evil, evil, 'note', evil[0]]);
      // Only fixed field SQL, operators and placeholders remain.
      expect(compiled.sql.replace(/\$\d+::\w+(\[\])?/g, '?')).toBe(
        '(a.name = ? OR a.name = ? OR a.name = ? OR a.name = ? OR a.owner = ANY(?) OR ' +
          'strpos(lower((a.traits->>?)), lower(?)) > 0)',
      );
    });

    it('refuses text with a NUL character, which PostgreSQL cannot store', () => {
      expect(issues({ field: 'name', op: 'eq', value: 'a\u0000b' })).toEqual([
        { path: 'filter.value', message: 'must be at most 1000 characters, without NUL' },
      ]);
    });
  });

  describe('limits', () => {
    it('accepts 8 levels and refuses 9, in the schema and the compiler', () => {
      expect(FilterSchema.safeParse(nested(8)).success).toBe(true);
      expect(() => compileFilter(nested(8) as FilterNode)).not.toThrow();
      const schema = FilterSchema.safeParse(nested(9));
      expect(schema.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
        ['all.0.all.0.all.0.all.0.all.0.all.0.all.0', 'nests deeper than 8 levels'],
      ]);
      expect(issues(nested(9))).toEqual([
        { path: 'filter.all.0.all.0.all.0.all.0.all.0.all.0.all.0', message: 'nests deeper than 8 levels' },
      ]);
    });

    it('refuses a filter nested far deeper with a 400, not a stack overflow', () => {
      let node: unknown = { field: 'mrr', op: 'gt', value: 1 };
      for (let i = 0; i < 200_000; i++) node = { not: node };
      expect(FilterSchema.safeParse(node).success).toBe(false);
    });

    it('accepts 100 conditions and refuses 101', () => {
      const conditions = (n: number) => ({
        any: Array.from({ length: n }, () => ({ field: 'mrr', op: 'gt', value: 1 })),
      });
      expect(FilterSchema.safeParse(conditions(100)).success).toBe(true);
      expect(FilterSchema.safeParse(conditions(101)).error?.issues[0]?.message).toBe(
        'has more than 100 conditions',
      );
      expect(issues(conditions(101))).toEqual([
        { path: 'filter.any.100', message: 'the filter has more than 100 conditions' },
      ]);
    });

    it('names the path of a malformed node in the schema', () => {
      const result = FilterSchema.safeParse({
        all: [{ field: 'tier', op: 'eq', value: 'smb' }, { field: 'tier', op: 'like' }, 'x'],
      });
      expect(result.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([
        [
          'all.1.op',
          'must be one of eq, neq, gt, gte, lt, lte, between, in, not_in, contains, starts_with, is_null, is_not_null',
        ],
        ['all.2', 'must be an object: { all }, { any }, { not } or { field, op, value }'],
      ]);
    });
  });

  it('lists every field with the ops its type allows', () => {
    const list = filterFieldList();
    expect(list.fields).toHaveLength(FILTER_FIELDS.length);
    expect(list.fields.find((f) => f.name === 'events_30d')).toMatchObject({
      type: 'number',
      source: 'feature',
    });
    expect(list.fields.find((f) => f.name === 'tier')?.ops).toContain('in');
    expect(new Set(list.fields.map((f) => f.name)).size).toBe(list.fields.length);
  });

  describe('in the audience scope', () => {
    it('compiles contact fields and contact traits over aliases c and ca', () => {
      expect(
        compileFilter(
          {
            all: [
              { field: 'contact.role', op: 'in', value: ['admin', 'owner'] },
              { field: 'contact.email_domain', op: 'eq', value: 'acme.example' },
              { field: 'contact.last_seen_at', op: 'gte', value: '2026-01-01' },
              { field: 'contact.trait.seniority', op: 'gt', value: 3 },
              { field: 'churn_risk', op: 'lt', value: 0.5 },
            ],
          },
          { scope: 'audience' },
        ),
      ).toEqual({
        sql:
          "((c.traits->>'role') = ANY($1::text[]) AND lower(split_part(c.email, '@', 2)) = $2::text AND " +
          'ca.last_seen_at >= $3::timestamptz AND retain_to_number(c.traits->>$4::text) > $5::numeric AND ' +
          's.churn_risk < $6::numeric)',
        params: [['admin', 'owner'], 'acme.example', '2026-01-01T00:00:00.000Z', 'seniority', 3, 0.5],
      });
    });

    it('refuses contact fields in a segment filter, and unknown contact fields anywhere', () => {
      expect(issues({ field: 'contact.role', op: 'eq', value: 'admin' })).toEqual([
        {
          path: 'filter.field',
          message: 'unknown field "contact.role": contact fields apply to campaign audiences only',
        },
      ]);
      expect(() =>
        compileFilter({ field: 'contact.shoe_size', op: 'eq', value: 1 }, { scope: 'audience' }),
      ).toThrow('filter.field: unknown field "contact.shoe_size"');
      expect(() =>
        compileFilter({ field: 'contact.trait.x;drop', op: 'eq', value: 'a' }, { scope: 'audience' }),
      ).toThrow('filter.field: trait keys are 1 to 64 letters, digits or _ (got "x;drop")');
    });
  });
});
