import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { AudienceSchema, BASE_SEGMENTS, FILTER_OPS, type FilterNode } from '@retain/contracts';
import { SqlParams, audienceCondition } from '../campaigns/audience-sql.js';
import { AppException } from '../common/errors/app.exception.js';
import {
  CONTACT_FILTER_FIELDS,
  FILTER_FIELDS,
  compileFilter,
  type FieldDefinition,
} from './segment-filter.js';

/*
 * Any filter the compiler accepts becomes SQL whose user values (condition values, trait keys,
 * segment keys) are all bind parameters: what is left of the SQL once the whitelisted field
 * expressions are taken out is only placeholders, casts, operators and SQL words, never a quote,
 * a semicolon or a literal. Any filter it refuses is refused with VALIDATION_FAILED naming paths.
 */

const FIELDS: readonly FieldDefinition<string>[] = [...FILTER_FIELDS, ...CONTACT_FILTER_FIELDS];
const FIELD_TYPES = new Map(FIELDS.map((f) => [f.name, f.type]));

/** The words and symbols the compiler writes around fields and placeholders. */
const SQL_WORDS = new Set([
  'AND',
  'OR',
  'NOT',
  'COALESCE',
  'FALSE',
  'TRUE',
  'IS',
  'NULL',
  'DISTINCT',
  'FROM',
  'BETWEEN',
  'ANY',
  'strpos',
  'lower',
  'starts_with',
  'retain_to_number',
  'text',
  'numeric',
  'timestamptz',
  'date',
  'bigint',
  'a.traits',
  'c.traits',
  'field',
]);
/** And in an audience, its segment condition: EXISTS (SELECT 1 FROM custom_segment_members m ...). */
const AUDIENCE_WORDS = new Set([
  ...SQL_WORDS,
  'EXISTS',
  'SELECT',
  'WHERE',
  'custom_segment_members',
  'm',
  'm.account_id',
  'a.id',
  'm.segment_id',
  's.segment',
  '1',
]);
const TOKEN = /\s+|\$\d+|::|->>|>=|<=|\[\]|[(),=<>]|[A-Za-z_][A-Za-z0-9_.]*|\d+/y;

/** Fixed SQL that is whitelisted as a whole: field expressions, longest first. */
const FIXED_SQL = [...FIELDS.map((f) => f.sql), ') > 0'].sort((a, b) => b.length - a.length);

/** The SQL left once every fixed expression is replaced by the word "field". */
function residue(sql: string, fixed: readonly string[] = FIXED_SQL): string {
  return fixed.reduce((rest, part) => rest.split(part).join(' field '), sql);
}

/** The first token of `sql` that is not a placeholder, cast, operator or one of `words`, or null. */
function strangeToken(sql: string, words: ReadonlySet<string> = SQL_WORDS): string | null {
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < sql.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(sql);
    if (!match) return sql.slice(at, at + 20);
    const token = match[0];
    if (/^[A-Za-z_0-9]/.test(token) && !words.has(token)) return token;
  }
  return null;
}

/** Placeholders must be exactly $first .. $(first + params - 1), each used. */
function placeholderProblem(sql: string, params: readonly unknown[], first: number): string | null {
  const used = new Set([...sql.matchAll(/\$(\d+)/g)].map((m) => Number(m[1])));
  const expected = new Set(params.map((_, i) => first + i));
  const same = used.size === expected.size && [...used].every((n) => expected.has(n));
  return same ? null : `placeholders ${[...used].join(',')} for ${params.length} parameters from $${first}`;
}

/** Text a compiled filter must carry as parameters: trait keys and the values of text comparisons. */
function boundTexts(node: FilterNode): string[] {
  if ('all' in node) return node.all.flatMap(boundTexts);
  if ('any' in node) return node.any.flatMap(boundTexts);
  if ('not' in node) return boundTexts(node.not);
  const trait = /^(contact\.)?trait\./.exec(node.field);
  const texts = trait ? [node.field.slice(trait[0].length)] : [];
  if (trait || FIELD_TYPES.get(node.field) === 'text') {
    const values = Array.isArray(node.value) ? node.value : [node.value];
    texts.push(...values.filter((v): v is string => typeof v === 'string'));
  }
  return texts;
}

const flat = (values: readonly unknown[]): unknown[] =>
  values.flatMap((v) => (Array.isArray(v) ? flat(v) : [v]));

// ---------------------------------------------------------------------------------------------
// Filters, mostly well typed so that many compile, with hostile text wherever text may go
// ---------------------------------------------------------------------------------------------

const hostileText = fc.oneof(
  fc.constantFrom(
    "'; DROP TABLE accounts; --",
    "' OR '1'='1",
    "O'Brien",
    '$1',
    '$$ $$',
    '::text',
    '%_\\',
    '") OR TRUE --',
    '/* */',
    'smb',
    'a.name',
    'TRUE',
    'NULL',
    '\u0000',
    '😀',
    'x'.repeat(1_001),
  ),
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);
const traitKey = fc.oneof(
  { weight: 4, arbitrary: fc.stringMatching(/^[a-z0-9_]{1,12}$/) },
  { weight: 1, arbitrary: hostileText },
);
const field = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...FIELDS.map((f) => f.name)) },
  { weight: 2, arbitrary: traitKey.map((key) => `trait.${key}`) },
  { weight: 1, arbitrary: traitKey.map((key) => `contact.trait.${key}`) },
  { weight: 1, arbitrary: hostileText },
);
const scalarFor = (type: string | undefined): fc.Arbitrary<unknown> => {
  const typed =
    type === 'number'
      ? fc.oneof(fc.double(), fc.integer())
      : type === 'date'
        ? fc.constantFrom('2026-01-31', '2026-02-30', '0000-01-01', '2026-1-1')
        : type === 'timestamp'
          ? fc.constantFrom('2026-01-31T10:00:00Z', '2026-01-31T10:00:00+02:00', '2026-01-31', 'soon')
          : fc.oneof(hostileText, fc.boolean(), fc.integer());
  return fc.oneof(
    { weight: 4, arbitrary: typed },
    { weight: 1, arbitrary: fc.oneof(hostileText, fc.constant(null)) },
  );
};
const condition = field.chain((name) => {
  const scalar = scalarFor(FIELD_TYPES.get(name));
  return fc.record(
    {
      field: fc.constant(name),
      op: fc.constantFrom(...FILTER_OPS),
      value: fc.oneof(scalar, fc.array(scalar, { maxLength: 3 }), fc.tuple(scalar, scalar)),
    },
    { requiredKeys: ['field', 'op'] },
  );
});
const { filter } = fc.letrec<{ filter: FilterNode }>((tie) => ({
  filter: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 5, arbitrary: condition as fc.Arbitrary<FilterNode> },
    { weight: 1, arbitrary: fc.array(tie('filter'), { maxLength: 4 }).map((all) => ({ all })) },
    { weight: 1, arbitrary: fc.array(tie('filter'), { maxLength: 4 }).map((any) => ({ any })) },
    { weight: 1, arbitrary: tie('filter').map((not) => ({ not })) },
  ),
}));

type Outcome = { sql: string; params: unknown[] } | { refused: { path: string; message: string }[] };

/** Runs a compile; a refusal must be VALIDATION_FAILED naming each bad path under `root`. */
function attempt(compile: () => { sql: string; params: unknown[] }, root: string): Outcome {
  try {
    return compile();
  } catch (error) {
    if (!(error instanceof AppException) || error.code !== 'VALIDATION_FAILED') throw error;
    const fields = (error.details as { fields: { path: string; message: string }[] }).fields;
    expect(fields.length).toBeGreaterThan(0);
    for (const f of fields) {
      expect(f.path.startsWith(root)).toBe(true);
      expect(f.message).not.toBe('');
    }
    return { refused: fields };
  }
}

describe('filter compiler, on random and hostile filters', () => {
  it('binds every user value of an accepted segment filter as a parameter', () => {
    let compiled = 0;
    fc.assert(
      fc.property(filter, fc.integer({ min: 1, max: 5 }), (node, firstParam) => {
        const outcome = attempt(() => compileFilter(node, { firstParam }), 'filter');
        if ('refused' in outcome) return;
        compiled++;
        expect(placeholderProblem(outcome.sql, outcome.params, firstParam)).toBeNull();
        expect(strangeToken(residue(outcome.sql))).toBeNull();
        const params = flat(outcome.params);
        for (const text of boundTexts(node)) expect(params).toContain(text);
      }),
      { seed: 601, numRuns: 2_000 },
    );
    // Filters are drawn mostly well typed: a good share compiles, so the property checks SQL.
    expect(compiled).toBeGreaterThan(200);
  });

  it('binds every user value of an accepted campaign audience, segments and contact fields included', () => {
    const value = (input: unknown) => AudienceSchema.parse(input);
    const fixedAudienceSql = (input: unknown): string[] => {
      const sql = audienceCondition(value(input), new SqlParams());
      return sql.split('\n  AND ');
    };
    // The audience's own fixed conditions: a contact with an email, and the primary-contact rule.
    const [emailable, primary] = fixedAudienceSql({ segments: [], primaryContactOnly: true });
    const fixed = [emailable!, primary!, ...FIXED_SQL].sort((a, b) => b.length - a.length);

    const segments = fc.array(
      fc.oneof(
        fc.constantFrom(...BASE_SEGMENTS),
        fc.integer({ min: 1, max: 10 ** 9 }).map(String),
        fc.constantFrom('0', '-1', '1e3', "1'; --", '999999999999999999', '9999999999999999999'),
      ),
      { maxLength: 4 },
    );
    const audience = fc.record(
      { segments, filter, primaryContactOnly: fc.boolean() },
      { requiredKeys: ['segments'] },
    );
    let compiled = 0;
    fc.assert(
      fc.property(audience, (input) => {
        const parsed = AudienceSchema.safeParse(input);
        if (!parsed.success) return;
        const params = new SqlParams();
        const outcome = attempt(
          () => ({ sql: audienceCondition(parsed.data, params), params: params.values }),
          'audience.filter',
        );
        if ('refused' in outcome) return;
        compiled++;
        expect(placeholderProblem(outcome.sql, outcome.params, 1)).toBeNull();
        expect(strangeToken(residue(outcome.sql, fixed), AUDIENCE_WORDS)).toBeNull();
        const bound = flat(outcome.params);
        for (const key of parsed.data.segments) expect(bound).toContain(key);
        if (parsed.data.filter)
          for (const text of boundTexts(parsed.data.filter)) expect(bound).toContain(text);
      }),
      { seed: 602, numRuns: 1_000 },
    );
    expect(compiled).toBeGreaterThan(100);
  });
});
