import querystring from 'node:querystring';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import {
  ThresholdSettingsSchema,
  ThresholdsSchema,
  ACCOUNT_SORTS,
  AUDIT_ACTIONS,
  AccountActivityQuerySchema,
  AccountFiltersSchema,
  AccountListQuerySchema,
  AccountTicketsQuerySchema,
  AnalyticsRunListSchema,
  AuditLogQuerySchema,
  CampaignExportQuerySchema,
  CampaignListQuerySchema,
  CampaignMembersQuerySchema,
  CampaignPreviewRequestSchema,
  CampaignPreviewSchema,
  CreateApiTokenRequestSchema,
  CreateCampaignRequestSchema,
  CreateSegmentRequestSchema,
  CreateSourceRequestSchema,
  CreateUserRequestSchema,
  CreatedApiTokenSchema,
  CreatedCampaignSchema,
  CreatedSourceSchema,
  CreatedUserSchema,
  ErrorBodySchema,
  IMPORT_KINDS,
  ImportSchema,
  IngestResponseSchema,
  LoginRequestSchema,
  MovementsQuerySchema,
  OverviewQuerySchema,
  PROFICIENCIES,
  REJECTED_KINDS,
  RISK_BANDS,
  ROLES,
  RejectedItemPageSchema,
  RejectedItemsQuerySchema,
  RunAnalyticsRequestSchema,
  SegmentMembersQuerySchema,
  SegmentPreviewRequestSchema,
  SegmentPreviewSchema,
  SegmentSchema,
  SessionSchema,
  SupportCommentsQuerySchema,
  SupportMetricsQuerySchema,
  SupportTrendsQuerySchema,
  TICKET_CHANNELS,
  TIERS,
  TicketsWriteResponseSchema,
  TrendsQuerySchema,
  UpdateSegmentRequestSchema,
  UpdateUserRequestSchema,
  UserSchema,
  type Import,
  type ImportKind,
} from '@retain/contracts';
import { createApiToken, withToken } from '../support/auth.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from '../support/retain-process.js';
import { createTestDatabase, type TestDatabase } from '../support/test-database.js';

/*
 * Hostile and random requests to every JSON-body route, every query-string route, the CSV importer,
 * POST /api/tickets and /v1/batch. Whatever arrives, the answer is never a 5xx, every 4xx carries
 * the documented error body, and a refused request changes no row.
 *
 * Random input is sometimes valid. For JSON bodies and query strings the route's own contract (the
 * zod schema the API validates with) tells which requests it must refuse: those must get a 4xx. A
 * request the contract lets through may be answered 2xx; its answer is then parsed with the
 * documented response schema and the rows it adds are predicted from it and checked, so a 2xx is
 * never counted as a rejection. POST /api/jobs/analytics/run only gets bodies its contract refuses:
 * an accepted one would start a run that changes rows in the background.
 *
 * Row counts are checked around every request, so a counterexample names the one request that
 * changed them. audit_log and user_sessions are not counted: failed sign-ins and exports are
 * recorded there on purpose.
 */

jest.setTimeout(120_000);

// ---------------------------------------------------------------------------------------------
// Requests, answers and what a good answer looks like
// ---------------------------------------------------------------------------------------------

interface Probe {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  /** Path and query string, already encoded as they are to be sent. */
  path: string;
  contentType?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

const preview = (text: string, max = 600): string =>
  text.length <= max
    ? JSON.stringify(text)
    : `${JSON.stringify(text.slice(0, 300))}… (${text.length} characters)`;

function describeProbe(p: Probe): string {
  const body =
    p.body === undefined
      ? ''
      : typeof p.body === 'string'
        ? ` body ${preview(p.body)}`
        : ` body ${p.body.length} bytes 0x${Buffer.from(p.body.subarray(0, 400)).toString('hex')}${p.body.length > 400 ? '…' : ''}`;
  const headers = p.headers ? ` headers ${JSON.stringify(p.headers)}` : '';
  return `${p.method} ${p.path} [${p.contentType ?? 'no content-type'}]${headers}${body}`;
}

/** A probe that fast-check prints as the request it is (long bodies shortened). */
const probe = (p: Probe): Probe => Object.assign(p, { [fc.toStringMethod]: () => describeProbe(p) });

const describeAnswer = (a: Answer): string => `${a.status} ${preview(a.text, 800)}`;

class FuzzFailure extends Error {
  constructor(message: string, p: Probe, a?: Answer, serverLog = '') {
    super(
      `${message}\n  request: ${describeProbe(p)}${a ? `\n  answer: ${describeAnswer(a)}` : ''}` +
        (serverLog ? `\n  server log:\n${serverLog}` : ''),
    );
    this.name = 'FuzzFailure';
  }
}

/** Anything with a zod-like safeParse: the contract a route validates its input with. */
interface Contract {
  safeParse(value: unknown): { success: boolean };
}
/** A query contract: a zod object, whose keys are the parameters. */
interface QueryContract extends Contract {
  shape: Record<string, unknown>;
}
interface Parser<T> {
  parse(value: unknown): T;
}

/** refused: the contract refuses the input, so only a 4xx is right. open: the route may accept it. */
type Verdict = 'refused' | 'open';

/** Content types the JSON body parser leaves alone: the route sees no body at all. */
const NON_JSON_TYPES = [
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/xml',
  'application/octet-stream',
  'multipart/form-data; boundary=fuzz',
];

/**
 * The API's validation pipe deletes __proto__, prototype and constructor keys, at any depth, before
 * it validates (a guard against prototype pollution); the verdicts do the same.
 */
function withoutPrototypeKeys<T>(value: T): T {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const current = stack.pop();
    if (typeof current !== 'object' || current === null) continue;
    if (!Array.isArray(current))
      for (const key of ['__proto__', 'prototype', 'constructor'])
        if (Object.hasOwn(current, key)) delete (current as Record<string, unknown>)[key];
    stack.push(...Object.values(current));
  }
  return value;
}

/** What the contract says of a JSON body, read as the API's body parser and pipe read it. */
function bodyVerdict(contract: Contract, p: Probe): Verdict {
  if (p.contentType === undefined || NON_JSON_TYPES.includes(p.contentType)) return 'refused';
  if (p.contentType !== 'application/json' || typeof p.body !== 'string') return 'open';
  if (p.body === '') return contract.safeParse({}).success ? 'open' : 'refused';
  if (p.body.startsWith('\uFEFF')) return 'open';
  let value: unknown;
  try {
    value = JSON.parse(p.body);
  } catch {
    return 'refused';
  }
  return contract.safeParse(withoutPrototypeKeys(value)).success ? 'open' : 'refused';
}

/** What the contract says of a query string, parsed as the API parses it (Express's simple parser). */
function queryVerdict(contract: Contract, url: string): Verdict {
  const parsed = querystring.parse(new URL(url).search.slice(1));
  return contract.safeParse(withoutPrototypeKeys(parsed)).success ? 'open' : 'refused';
}

/** Percent-encodes any text, lone surrogates included (as the UTF-8 of U+FFFD, as a browser would). */
function encodeText(text: string): string {
  try {
    return encodeURIComponent(text);
  } catch {
    return Array.from(Buffer.from(text, 'utf8'), (byte) => `%${byte.toString(16).padStart(2, '0')}`).join('');
  }
}

/**
 * The checks every answer passes: no 5xx, a 4xx with the documented error body, and a 2xx only
 * when the contract lets the request through. Returns whether the request was accepted.
 */
function judge(p: Probe, a: Answer, verdict: Verdict, serverLog = ''): 'accepted' | 'refused' {
  if (a.status >= 500) throw new FuzzFailure(`server error ${a.status}`, p, a, serverLog);
  if (a.status >= 400) {
    let json: unknown;
    try {
      json = JSON.parse(a.text);
    } catch {
      throw new FuzzFailure(`${a.status} answer is not JSON`, p, a);
    }
    if (!ErrorBodySchema.safeParse(json).success)
      throw new FuzzFailure(`${a.status} answer is not the documented error body`, p, a);
    if (!a.headers.get('content-type')?.startsWith('application/json'))
      throw new FuzzFailure(`${a.status} answer is not sent as JSON`, p, a);
    return 'refused';
  }
  if (a.status >= 200 && a.status < 300) {
    if (verdict === 'refused') throw new FuzzFailure(`${a.status} to input the contract refuses`, p, a);
    return 'accepted';
  }
  throw new FuzzFailure(`unexpected status ${a.status}`, p, a);
}

// ---------------------------------------------------------------------------------------------
// Row counts
// ---------------------------------------------------------------------------------------------

const COUNTED_TABLES = [
  'accounts',
  'contacts',
  'events',
  'tickets',
  'custom_segments',
  'campaigns',
  'campaign_members',
  'users',
  'api_tokens',
  'sources',
  'imports',
  'rejected_items',
] as const;
type Table = (typeof COUNTED_TABLES)[number];
type Counts = Record<Table, number>;
/** The expected change of a table: exactly n rows, or any number in [min, max]. */
type Change = number | [number, number];
type Changes = Partial<Record<Table, Change>>;

const COUNT_SQL = `SELECT ${COUNTED_TABLES.map((t) => `(SELECT count(*) FROM ${t})::int AS ${t}`).join(', ')}`;

function checkCounts(p: Probe, a: Answer, before: Counts, after: Counts, changes: Changes): void {
  const wrong = COUNTED_TABLES.flatMap((table) => {
    const change = changes[table] ?? 0;
    const [min, max] = typeof change === 'number' ? [change, change] : change;
    const delta = after[table] - before[table];
    return delta >= min && delta <= max
      ? []
      : [
          `${table}: ${before[table]} -> ${after[table]} (expected ${min === max ? `+${min}` : `+${min}..${max}`})`,
        ];
  });
  if (wrong.length > 0) throw new FuzzFailure(`row counts changed: ${wrong.join('; ')}`, p, a);
}

// ---------------------------------------------------------------------------------------------
// Hostile values
// ---------------------------------------------------------------------------------------------

/** A piece of JSON text sent as it is: deep nesting, numbers JSON.stringify cannot write, odd keys. */
class RawJson {
  constructor(readonly text: string) {}
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof RawJson);

/** JSON text of a value that may hold RawJson pieces. */
function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map(toJsonText).join(',')}]`;
  if (isPlainObject(value))
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`)
      .join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

/** Hostile text by kind. */
const HOSTILE_TEXT = {
  nul: ['\u0000', 'a\u0000b', 'x\u0000', '\u0000\u0000\u0000'],
  sql: [
    "'; DROP TABLE accounts; --",
    "' OR '1'='1",
    '"); DELETE FROM users; --',
    '$1',
    '$$',
    '::text',
    '%',
    '_',
    '\\',
  ],
  numeric: ['NaN', 'Infinity', '-Infinity', '1e400', '-0', '0x10', '9007199254740993', '-1', ''],
  words: ['null', 'undefined', 'true', '[]', '{}', '__proto__', 'constructor', 'toString', ' '],
  unicode: ['\uFEFF', '\uD800', '\uDFFF', '😀👍🏽', 'e\u0301', '\u202Eevil', '\r\n', '\t', '\u2028', 'İı'],
  markup: ['<script>alert(1)</script>', '${7*7}', '{{7*7}}', '=1+1', "=cmd|' /C calc'!A0", '@SUM(A1)', '+1'],
  dates: [
    '0000-01-01',
    '0000-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '+275760-09-13T00:00:00Z',
    '2026-02-30',
  ],
  domain: [
    'smb-novice',
    '12',
    'admin@retain.example',
    ' ADMIN@Retain.Example ',
    'a@b',
    'http://127.0.0.1:1/',
  ],
};
const ALL_HOSTILE_TEXT = Object.values(HOSTILE_TEXT).flat();

const hostileString: fc.Arbitrary<string> = fc.oneof(
  // NUL weighs more: PostgreSQL refuses it in text, so it is the likeliest way from input to a 500.
  { weight: 5, arbitrary: fc.constantFrom(...HOSTILE_TEXT.nul) },
  ...Object.entries(HOSTILE_TEXT)
    .filter(([kind]) => kind !== 'nul')
    .map(([, texts]) => ({ weight: 2, arbitrary: fc.constantFrom(...texts) })),
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.string({ maxLength: 8 }), fc.constantFrom(...ALL_HOSTILE_TEXT), fc.string({ maxLength: 8 }))
      .map(([a, b, c]) => `${a}${b}${c}`),
  },
  { weight: 1, arbitrary: fc.constantFrom(101, 1_001, 70_000).map((n) => 'x'.repeat(n)) },
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, -1, 0.5, 2 ** 31, 2 ** 53 + 2, -(2 ** 63), 1e308, 5e-324, Number.MAX_SAFE_INTEGER),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

const nested = (open: string, inner: string, close: string, depth: number): string =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

const rawFragment: fc.Arbitrary<RawJson> = fc
  .oneof(
    fc.constantFrom(
      '1e400',
      '-1e400',
      '-0',
      '1E-400',
      '123456789012345678901234567890',
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '{"a":1,"a":"2"}',
      '"\\u0000"',
      '"\\ud800"',
    ),
    fc.constantFrom(64, 2_000, 100_000).map((depth) => nested('[', '', ']', depth)),
    fc.constantFrom(64, 2_000, 50_000).map((depth) => nested('{"a":', 'null', '}', depth)),
  )
  .map((text) => new RawJson(text));

const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'valueOf',
    '',
    ' ',
    'a\u0000',
    '$where',
  ),
  fc.string({ maxLength: 10 }),
);

const leafValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: hostileString },
  { weight: 2, arbitrary: hostileNumber },
  { weight: 1, arbitrary: fc.constantFrom(null, true, false) },
  { weight: 2, arbitrary: rawFragment },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
);

/** An object written key by key, so "__proto__" and "constructor" stay plain keys on the wire. */
const hostileObject: fc.Arbitrary<RawJson> = fc
  .array(fc.tuple(hostileKey, leafValue), { maxLength: 4 })
  .map(
    (entries) =>
      new RawJson(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`),
  );

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: leafValue },
  { weight: 1, arbitrary: fc.array(leafValue, { maxLength: 4 }) },
  { weight: 1, arbitrary: hostileObject },
);

type Path = (string | number)[];

/** Every place in a value: the value itself, each property and each array element, nested. */
function pathsOf(value: unknown, at: Path = []): Path[] {
  const found: Path[] = [at];
  if (Array.isArray(value)) value.forEach((v, i) => found.push(...pathsOf(v, [...at, i])));
  else if (isPlainObject(value))
    for (const [k, v] of Object.entries(value)) found.push(...pathsOf(v, [...at, k]));
  return found;
}

const valueAt = (value: unknown, path: Path): unknown =>
  path.reduce<unknown>((v, key) => (v as Record<string | number, unknown>)[key], value);

const REMOVE = Symbol('remove');

/** A copy of `value` with the thing at `path` replaced by what `update` returns (or removed). */
function updateAt(value: unknown, path: Path, update: (old: unknown) => unknown): unknown {
  if (path.length === 0) return update(value);
  const [head, ...rest] = path;
  if (Array.isArray(value)) {
    const copy = [...value];
    const next = updateAt(copy[head as number], rest, update);
    if (next === REMOVE) copy.splice(head as number, 1);
    else copy[head as number] = next;
    return copy;
  }
  const copy = { ...(value as Record<string, unknown>) };
  const next = updateAt(copy[head as string], rest, update);
  if (next === REMOVE) delete copy[head as string];
  else copy[head as string] = next;
  return copy;
}

type Mutation =
  | { kind: 'replace'; value: unknown }
  | { kind: 'same-type'; text: string; number: number; other: unknown }
  | { kind: 'remove' }
  | { kind: 'add'; key: string; value: unknown };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: hostileValue.map((value): Mutation => ({ kind: 'replace', value })) },
  {
    weight: 5,
    arbitrary: fc
      .record({ text: hostileString, number: hostileNumber, other: hostileValue })
      .map((r): Mutation => ({ kind: 'same-type', ...r })),
  },
  { weight: 1, arbitrary: fc.constant<Mutation>({ kind: 'remove' }) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(hostileKey, hostileValue)
      .map(([key, value]): Mutation => ({ kind: 'add', key, value })),
  },
);

/** A valid-shaped body with one thing in it (a field, a nested field, an item, the whole) made hostile. */
function mutated(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.nat(), fc.boolean(), mutation).map(([body, pick, textOnly, change]) => {
    // Half the time a text field: text is where most input ends up stored or compared.
    const all = pathsOf(body);
    const texts = all.filter((path) => typeof valueAt(body, path) === 'string');
    const paths = textOnly && texts.length > 0 ? texts : all;
    const path = paths[pick % paths.length]!;
    return updateAt(body, path, (old) => {
      if (change.kind === 'replace') return change.value;
      // Same type, hostile content: the body keeps its shape and reaches further into the code.
      if (change.kind === 'same-type')
        return typeof old === 'string' ? change.text : typeof old === 'number' ? change.number : change.other;
      if (change.kind === 'remove') return path.length === 0 ? undefined : REMOVE;
      if (!isPlainObject(old)) return change.value;
      // Written as text so that a "__proto__" key stays a key of this object.
      const entries = [...Object.entries(old), [change.key, change.value] as const];
      return new RawJson(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${toJsonText(v)}`).join(',')}}`);
    });
  });
}

const NOT_JSON: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '{',
    '{"a":',
    "{'a':1}",
    '{"a":NaN}',
    '{"a":Infinity}',
    '{"a":-Infinity}',
    '[1,]',
    '{"a":1}{"b":2}',
    'null',
    '"text"',
    '123',
    'true',
    ' ',
    '\uFEFF{}',
    '{"a":"\u0000"}',
    '\u0000',
    '{"a":"\\x41"}',
  ),
  fc.string({ unit: 'binary', maxLength: 50 }),
);

/** Over the 1 MB limit of JSON bodies. */
const OVERSIZED_JSON = `{"pad":"${'x'.repeat(1_100_000)}"}`;

/** Requests with a JSON-ish body: hostile variants of `valid`, arbitrary JSON, non-JSON, wrong types. */
function bodyProbes(
  method: Probe['method'],
  path: fc.Arbitrary<string>,
  valid: fc.Arbitrary<Record<string, unknown>>,
): fc.Arbitrary<Probe> {
  const text = fc.oneof(
    { weight: 5, arbitrary: mutated(valid).map(toJsonText) },
    { weight: 1, arbitrary: valid.map(toJsonText) },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: rawFragment.map((r) => r.text) },
    { weight: 1, arbitrary: NOT_JSON },
    { weight: 1, arbitrary: fc.constant(OVERSIZED_JSON) },
  );
  return fc
    .oneof(
      {
        weight: 10,
        arbitrary: fc.record({ path, body: text, contentType: fc.constant('application/json') }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          path,
          body: valid.map(toJsonText),
          contentType: fc.constantFrom(
            undefined,
            ...NON_JSON_TYPES,
            'application/json; charset=utf-16',
            'application/json; charset=latin1',
            'application/vnd.api+json',
          ),
        }),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          path,
          body: fc.uint8Array({ maxLength: 200 }),
          contentType: fc.constant('application/json'),
        }),
      },
    )
    .map((p) => probe({ method, ...p }));
}

const HOSTILE_IDS = [
  '0',
  '-1',
  '1.5',
  '1e3',
  'NaN',
  'abc',
  '%00',
  '%20',
  '2147483648',
  '9007199254740993',
  '99999999999999999999',
  '0x1F',
  '1%3BDROP',
  '%E2%80%AE1',
  'smb-novice',
];

/** Path ids (already URL-encoded): the good one, a missing one, and text that is no id at all. */
const idSegment = (good: number, goodWeight = 4): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: goodWeight, arbitrary: fc.constant(String(good)) },
    { weight: 1, arbitrary: fc.constant('987654') },
    { weight: 3, arbitrary: fc.constantFrom(...HOSTILE_IDS) },
    { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String) },
    { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map(encodeText) },
  );

// ---------------------------------------------------------------------------------------------
// Query strings
// ---------------------------------------------------------------------------------------------

/** Query values by kind: a parameter gets mostly values of the kind it reads. */
const QUERY_VALUES = {
  numbers: [
    '-1',
    '0',
    '1',
    '26',
    '27',
    '500',
    '501',
    '1000001',
    '1e2',
    '1e400',
    '-1e400',
    'NaN',
    'Infinity',
    '0x10',
    '0b11',
    ' 5 ',
    '1.5',
    '-0',
    '9007199254740991',
    '9007199254740993',
    '2147483647',
    '2147483648',
    '99999999999999999999',
  ],
  dates: [
    '0000-01-01',
    '0001-01-01',
    '9999-12-31',
    '2026-02-30',
    '2026-11-23',
    '+275760-09-13',
    '2026-11-23T00:00:00Z',
    '0000-01-01T00:00:00Z',
    '2026-01-01T00:00:00+99:00',
    '0000-01-01T00:00:00Z~1',
    '2026-11-23T00:00:00Z~1',
    '9999-12-31T23:59:59.999999Z~999999999999999999',
  ],
  text: [
    '',
    '\u0000',
    'a\u0000',
    '\u0000a',
    'a\u0000b',
    "' OR 1=1 --",
    '%',
    '_',
    '\\',
    'null',
    'true',
    'false',
    'TRUE',
    '😀',
    'x'.repeat(201),
    'x'.repeat(5_000),
  ],
  words: [
    'smb-novice',
    'enterprise-expert',
    '999999999999999999',
    'asc',
    'desc',
    'contacted',
    'holdout',
    'channel',
    'segment',
    'week',
    ...TICKET_CHANNELS,
    ...TIERS,
    ...PROFICIENCIES,
    ...RISK_BANDS,
    ...ACCOUNT_SORTS,
    ...REJECTED_KINDS,
    ...AUDIT_ACTIONS.slice(0, 4),
  ],
};

/** Written into the URL as they are: malformed and overlong percent escapes. */
const RAW_QUERY_VALUES = [
  '%ZZ',
  '%',
  '%00',
  '%C0%80',
  '%ED%A0%80',
  '%FF',
  '%E2%80%AE',
  '1%26limit%3D0',
  '+',
  '#',
];

const QUERY_KEYS_HOSTILE = [
  '__proto__',
  'constructor',
  'hasOwnProperty',
  'toString',
  '',
  'limit[]',
  'a[b]',
  '%00',
];

const ALL_QUERY_VALUES = Object.values(QUERY_VALUES).flat();

/**
 * Query strings for a route: up to two parameters its contract accepts, around one hostile one.
 * What a parameter takes is asked of the contract (free text, a number, a date or something else),
 * so that the hostile value is mostly of the kind the route reads: NUL in text, 2^63 in numbers,
 * the year 0 in dates.
 */
function queryStrings(contract: QueryContract): fc.Arbitrary<string> {
  const keys = Object.keys(contract.shape);
  const accepts = (key: string, value: string) => contract.safeParse({ [key]: value }).success;
  const anyValue = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...ALL_QUERY_VALUES) },
    { weight: 1, arbitrary: hostileString.filter((s) => s.length < 5_000) },
  );
  const hostileFor = (key: string): fc.Arbitrary<string> => {
    const of = (values: readonly string[]) =>
      fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...values) }, { weight: 1, arbitrary: anyValue });
    if (accepts(key, 'fuzz text'))
      return fc.oneof(
        of(QUERY_VALUES.text),
        hostileString.filter((s) => s.length < 5_000),
      );
    if (accepts(key, '5')) return of(QUERY_VALUES.numbers);
    if (accepts(key, '2026-11-23') || accepts(key, '2026-11-23T00:00:00Z')) return of(QUERY_VALUES.dates);
    return anyValue;
  };
  const goodPairs = keys.flatMap((key) => {
    const good = ALL_QUERY_VALUES.filter((value) => accepts(key, value));
    return good.length > 0 ? [fc.constantFrom(...good).map((value) => `${key}=${encodeText(value)}`)] : [];
  });
  const hostileKey = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...QUERY_KEYS_HOSTILE) },
    { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  );
  const pair = (key: fc.Arbitrary<string>, value: (key: string) => fc.Arbitrary<string>) =>
    key.chain((k) =>
      fc.oneof(
        { weight: 8, arbitrary: value(k).map((v) => `${encodeText(k)}=${encodeText(v)}`) },
        { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERY_VALUES).map((v) => `${encodeText(k)}=${v}`) },
        { weight: 1, arbitrary: fc.constant(encodeText(k)) },
        { weight: 1, arbitrary: value(k).map((v) => `${encodeText(k)}[]=${encodeText(v)}`) },
        {
          weight: 1,
          arbitrary: fc
            .tuple(value(k), value(k))
            .map(([a, b]) => `${encodeText(k)}=${encodeText(a)}&${encodeText(k)}=${encodeText(b)}`),
        },
      ),
    );
  const hostile = fc.oneof(
    { weight: 6, arbitrary: pair(fc.constantFrom(...keys), hostileFor) },
    { weight: 1, arbitrary: pair(hostileKey, () => anyValue) },
  );
  const good = goodPairs.length > 0 ? fc.array(fc.oneof(...goodPairs), { maxLength: 2 }) : fc.constant([]);
  return fc.tuple(good, fc.option(hostile, { freq: 8, nil: null }), fc.nat()).map(([pairs, bad, at]) => {
    const all = [...pairs];
    if (bad !== null) all.splice(at % (all.length + 1), 0, bad);
    return all.join('&');
  });
}

// ---------------------------------------------------------------------------------------------
// Valid-shaped bodies, the starting points of mutations
// ---------------------------------------------------------------------------------------------

const validCondition = (audience: boolean): fc.Arbitrary<Record<string, unknown>> =>
  fc.oneof(
    fc.record({ field: fc.constant('tier'), op: fc.constant('eq'), value: fc.constantFrom(...TIERS) }),
    fc.record({
      field: fc.constant('churn_risk'),
      op: fc.constantFrom('gte', 'lt'),
      value: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    fc.record({ field: fc.constant('plan'), op: fc.constant('in'), value: fc.constant(['pro', 'team']) }),
    fc.record({ field: fc.constant('mrr'), op: fc.constant('between'), value: fc.constant([100, 5000]) }),
    fc.record({
      field: fc.constant('created_at'),
      op: fc.constant('gt'),
      value: fc.constant('2025-01-01T00:00:00Z'),
    }),
    fc.record({
      field: fc.constant('renewal_date'),
      op: fc.constant('lte'),
      value: fc.constant('2027-01-31'),
    }),
    fc.record({
      field: fc.constant('trait.industry'),
      op: fc.constant('eq'),
      value: fc.constant('Software'),
    }),
    fc.record({ field: fc.constant('owner'), op: fc.constant('is_null') }),
    ...(audience
      ? [
          fc.record({
            field: fc.constant('contact.role'),
            op: fc.constant('eq'),
            value: fc.constant('admin'),
          }),
        ]
      : []),
  );

const validFilter = (audience = false): fc.Arbitrary<Record<string, unknown>> =>
  fc.oneof(
    validCondition(audience),
    fc.array(validCondition(audience), { maxLength: 3 }).map((all) => ({ all })),
    fc.tuple(validCondition(audience), validCondition(audience)).map(([a, b]) => ({ any: [a, { not: b }] })),
  );

const name = (prefix: string) => fc.nat({ max: 10_000 }).map((n) => `${prefix} ${n}`);

const validAudience = fc.record(
  {
    segments: fc.subarray(['smb-novice', 'smb-expert', 'enterprise-novice', 'mid_market-expert']),
    filter: validFilter(true),
    primaryContactOnly: fc.boolean(),
  },
  { requiredKeys: ['segments'] },
);

const validSuppression = fc.record(
  {
    unsubscribed: fc.boolean(),
    recentlyContactedDays: fc.option(fc.integer({ min: 1, max: 365 })),
    frequencyCap: fc.option(
      fc.record({ max: fc.integer({ min: 1, max: 100 }), days: fc.integer({ min: 1, max: 365 }) }),
    ),
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------------------------

interface Fixtures {
  segmentId: number;
  campaignId: number;
  accountId: number;
  viewerId: number;
  writeKey: string;
}

interface JsonRoute {
  name: string;
  method: 'POST' | 'PATCH' | 'PUT';
  path: (f: Fixtures) => fc.Arbitrary<string>;
  contract: Contract;
  valid: fc.Arbitrary<Record<string, unknown>>;
  /** Checks a 2xx answer against its documented schema and says which rows it added. */
  accepted: (json: unknown) => Changes;
  /** Only bodies the contract refuses are sent (an accepted one would start background work). */
  refusedOnly?: boolean;
  seed: number;
}

const answers =
  <T>(schema: Parser<T>, changes: (answer: T) => Changes = () => ({})) =>
  (json: unknown): Changes =>
    changes(schema.parse(json));

const fixed = (path: string) => () => fc.constant(path);

const JSON_ROUTES: JsonRoute[] = [
  {
    name: 'POST /api/segments/preview',
    method: 'POST',
    path: fixed('/api/segments/preview'),
    contract: SegmentPreviewRequestSchema,
    valid: fc.record({ filter: validFilter() }),
    accepted: answers(SegmentPreviewSchema),
    seed: 101,
  },
  {
    name: 'POST /api/segments',
    method: 'POST',
    path: fixed('/api/segments'),
    contract: CreateSegmentRequestSchema,
    valid: fc.record(
      {
        name: name('Fuzz segment'),
        description: fc.option(fc.constant('Made by fuzzing'), { freq: 4 }),
        filter: validFilter(),
      },
      { requiredKeys: ['name', 'filter'] },
    ),
    accepted: answers(SegmentSchema, () => ({ custom_segments: 1 })),
    seed: 102,
  },
  {
    name: 'PATCH /api/segments/:id',
    method: 'PATCH',
    path: (f) => idSegment(f.segmentId).map((id) => `/api/segments/${id}`),
    contract: UpdateSegmentRequestSchema,
    valid: fc.record(
      {
        name: name('Fuzz target'),
        description: fc.option(fc.constant('Renamed'), { freq: 4 }),
        filter: validFilter(),
      },
      { requiredKeys: [] },
    ),
    accepted: answers(SegmentSchema),
    seed: 103,
  },
  {
    name: 'POST /api/campaigns/preview',
    method: 'POST',
    path: fixed('/api/campaigns/preview'),
    contract: CampaignPreviewRequestSchema,
    valid: fc.record(
      { audience: validAudience, suppression: validSuppression },
      { requiredKeys: ['audience'] },
    ),
    accepted: answers(CampaignPreviewSchema),
    seed: 104,
  },
  {
    name: 'POST /api/campaigns',
    method: 'POST',
    path: fixed('/api/campaigns'),
    contract: CreateCampaignRequestSchema,
    valid: fc.record(
      {
        name: name('Fuzz campaign'),
        description: fc.option(fc.constant('Made by fuzzing'), { freq: 4 }),
        goal: fc.record({
          event: fc.constantFrom('plan_upgraded', 'onboarding_completed'),
          windowDays: fc.constant(30),
        }),
        channel: fc.constantFrom('email_export', 'in_app'),
        schedule: fc.constant('once'),
        holdoutPct: fc.integer({ min: 0, max: 50 }),
        audience: validAudience,
        suppression: validSuppression,
      },
      { requiredKeys: ['name', 'goal', 'channel', 'audience'] },
    ),
    accepted: answers(CreatedCampaignSchema, (c) => ({
      campaigns: 1,
      campaign_members: c.members.contacted + c.members.holdout,
    })),
    seed: 105,
  },
  {
    name: 'POST /api/users',
    method: 'POST',
    path: fixed('/api/users'),
    contract: CreateUserRequestSchema,
    valid: fc.record({
      email: fc.nat({ max: 10_000 }).map((n) => `fuzz-${n}@retain.test`),
      role: fc.constantFrom(...ROLES),
    }),
    accepted: answers(CreatedUserSchema, () => ({ users: 1 })),
    seed: 106,
  },
  {
    name: 'PATCH /api/users/:id',
    method: 'PATCH',
    path: (f) => idSegment(f.viewerId).map((id) => `/api/users/${id}`),
    contract: UpdateUserRequestSchema,
    valid: fc.record({ role: fc.constantFrom(...ROLES), disabled: fc.boolean() }, { requiredKeys: [] }),
    accepted: answers(UserSchema),
    seed: 107,
  },
  {
    name: 'POST /api/tokens',
    method: 'POST',
    path: fixed('/api/tokens'),
    contract: CreateApiTokenRequestSchema,
    valid: fc.record(
      {
        name: name('fuzz token'),
        role: fc.constantFrom(...ROLES),
        ownerEmail: fc.constant('ava.morgan@retain.example'),
      },
      { requiredKeys: ['name', 'role'] },
    ),
    accepted: answers(CreatedApiTokenSchema, () => ({ api_tokens: 1 })),
    seed: 108,
  },
  {
    name: 'POST /api/auth/login',
    method: 'POST',
    path: fixed('/api/auth/login'),
    contract: LoginRequestSchema,
    valid: fc.record({
      email: fc.constantFrom('admin@retain.example', 'nobody@retain.test'),
      password: fc.string({ minLength: 1, maxLength: 40 }),
    }),
    accepted: answers(SessionSchema),
    seed: 109,
  },
  {
    name: 'POST /api/sources',
    method: 'POST',
    path: fixed('/api/sources'),
    contract: CreateSourceRequestSchema,
    valid: fc.record({ name: name('fuzz source') }),
    accepted: answers(CreatedSourceSchema, () => ({ sources: 1 })),
    seed: 110,
  },
  {
    name: 'PUT /api/settings/thresholds',
    method: 'PUT',
    path: fixed('/api/settings/thresholds'),
    contract: ThresholdsSchema,
    valid: fc.record({
      enterpriseMinMrr: fc.integer({ min: 1000, max: 100_000 }),
      enterpriseMinSeats: fc.integer({ min: 1, max: 10_000 }),
      midMarketMinMrr: fc.integer({ min: 0, max: 999 }),
      expertMinScore: fc.double({ min: 0, max: 1, noNaN: true }),
    }),
    accepted: answers(ThresholdSettingsSchema),
    seed: 112,
  },
  {
    name: 'POST /api/jobs/analytics/run',
    method: 'POST',
    path: fixed('/api/jobs/analytics/run'),
    contract: RunAnalyticsRequestSchema,
    valid: fc.record({ full: fc.boolean() }),
    accepted: () => {
      throw new Error('bodies sent here are all refused by the contract');
    },
    refusedOnly: true,
    seed: 111,
  },
];

interface QueryRoute {
  name: string;
  path: (f: Fixtures) => string;
  contract: QueryContract;
  seed: number;
}

const QUERY_ROUTES: QueryRoute[] = [
  { name: 'GET /api/accounts', path: () => '/api/accounts', contract: AccountListQuerySchema, seed: 201 },
  {
    name: 'GET /api/accounts/export.csv',
    path: () => '/api/accounts/export.csv',
    contract: AccountFiltersSchema,
    seed: 202,
  },
  {
    name: 'GET /api/accounts/:id/activity',
    path: (f) => `/api/accounts/${f.accountId}/activity`,
    contract: AccountActivityQuerySchema,
    seed: 203,
  },
  {
    name: 'GET /api/accounts/:id/tickets',
    path: (f) => `/api/accounts/${f.accountId}/tickets`,
    contract: AccountTicketsQuerySchema,
    seed: 204,
  },
  { name: 'GET /api/overview', path: () => '/api/overview', contract: OverviewQuerySchema, seed: 205 },
  { name: 'GET /api/trends', path: () => '/api/trends', contract: TrendsQuerySchema, seed: 206 },
  {
    name: 'GET /api/support/trends',
    path: () => '/api/support/trends',
    contract: SupportTrendsQuerySchema,
    seed: 207,
  },
  {
    name: 'GET /api/support/comments',
    path: () => '/api/support/comments',
    contract: SupportCommentsQuerySchema,
    seed: 208,
  },
  {
    name: 'GET /api/metrics/support',
    path: () => '/api/metrics/support',
    contract: SupportMetricsQuerySchema,
    seed: 209,
  },
  { name: 'GET /api/movements', path: () => '/api/movements', contract: MovementsQuerySchema, seed: 210 },
  {
    name: 'GET /api/segments/:id/members',
    path: (f) => `/api/segments/${f.segmentId}/members`,
    contract: SegmentMembersQuerySchema,
    seed: 211,
  },
  { name: 'GET /api/campaigns', path: () => '/api/campaigns', contract: CampaignListQuerySchema, seed: 212 },
  {
    name: 'GET /api/campaigns/:id/members',
    path: (f) => `/api/campaigns/${f.campaignId}/members`,
    contract: CampaignMembersQuerySchema,
    seed: 213,
  },
  {
    name: 'GET /api/campaigns/:id/export.csv',
    path: (f) => `/api/campaigns/${f.campaignId}/export.csv`,
    contract: CampaignExportQuerySchema,
    seed: 214,
  },
  {
    name: 'GET /api/rejected-items',
    path: () => '/api/rejected-items',
    contract: RejectedItemsQuerySchema,
    seed: 215,
  },
  { name: 'GET /api/audit-log', path: () => '/api/audit-log', contract: AuditLogQuerySchema, seed: 216 },
];

/** Routes whose only input is an id in the path (no body contract). */
interface IdRoute {
  name: string;
  method: Probe['method'];
  path: (id: string) => string;
  good: (f: Fixtures) => number;
  seed: number;
}

const ID_ROUTES: IdRoute[] = [
  {
    name: 'GET /api/segments/:id',
    method: 'GET',
    path: (id) => `/api/segments/${id}`,
    good: (f) => f.segmentId,
    seed: 311,
  },
  {
    name: 'GET /api/campaigns/:id',
    method: 'GET',
    path: (id) => `/api/campaigns/${id}`,
    good: (f) => f.campaignId,
    seed: 312,
  },
  {
    name: 'GET /api/campaigns/:id/outcome',
    method: 'GET',
    path: (id) => `/api/campaigns/${id}/outcome`,
    good: (f) => f.campaignId,
    seed: 313,
  },
  {
    name: 'GET /api/campaigns/:id/audience-history',
    method: 'GET',
    path: (id) => `/api/campaigns/${id}/audience-history`,
    good: (f) => f.campaignId,
    seed: 314,
  },
  {
    name: 'GET /api/campaigns/:id/deliveries',
    method: 'GET',
    path: (id) => `/api/campaigns/${id}/deliveries`,
    good: (f) => f.campaignId,
    seed: 315,
  },
  {
    name: 'POST /api/campaigns/:id/webhook-secret',
    method: 'POST',
    path: (id) => `/api/campaigns/${id}/webhook-secret`,
    good: (f) => f.campaignId,
    seed: 316,
  },
  {
    name: 'GET /api/campaigns/:id/members',
    method: 'GET',
    path: (id) => `/api/campaigns/${id}/members`,
    good: (f) => f.campaignId,
    seed: 321,
  },
  {
    name: 'GET /api/segments/:id/members',
    method: 'GET',
    path: (id) => `/api/segments/${id}/members`,
    good: (f) => f.segmentId,
    seed: 322,
  },
  {
    name: 'GET /api/accounts/:id',
    method: 'GET',
    path: (id) => `/api/accounts/${id}`,
    good: (f) => f.accountId,
    seed: 317,
  },
  {
    name: 'GET /api/imports/:id',
    method: 'GET',
    path: (id) => `/api/imports/${id}`,
    good: () => 1,
    seed: 318,
  },
  {
    name: 'GET /api/jobs/analytics/runs/:id',
    method: 'GET',
    path: (id) => `/api/jobs/analytics/runs/${id}`,
    good: () => 1,
    seed: 319,
  },
  {
    name: 'GET /api/segment-summary/:key',
    method: 'GET',
    path: (id) => `/api/segment-summary/${id}`,
    good: (f) => f.segmentId,
    seed: 320,
  },
];

/** numRuns per property: enough to reach the odd corners with a fixed seed, small enough for < 90 s. */
const RUNS = { json: 120, query: 200, ids: 40, imports: 80, tickets: 80, ingest: 120 } as const;

describe('fuzzing the API with hostile input, on demo data', () => {
  let db: TestDatabase;
  let retain: RetainProcess;
  let api: typeof fetch;
  let fixtures: Fixtures;

  const rowCounts = async (): Promise<Counts> => (await db.query<Counts>(COUNT_SQL))[0]!;

  const send = async (p: Probe): Promise<Answer> => {
    const headers: Record<string, string> = { ...p.headers };
    if (p.contentType !== undefined) headers['content-type'] = p.contentType;
    const res = await api(`${retain.baseUrl}${p.path}`, {
      method: p.method,
      headers,
      body: p.body,
      signal: AbortSignal.timeout(30_000),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  const postJson = async <T>(path: string, body: unknown, schema: Parser<T>): Promise<T> => {
    const res = await api(`${retain.baseUrl}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`POST ${path} answered ${res.status}: ${text}`);
    return schema.parse(JSON.parse(text));
  };

  /** What the server logged since `mark` (its error and the first lines of the stack), for 5xx reports. */
  const serverLogSince = async (mark: number): Promise<string> => {
    await new Promise((r) => setTimeout(r, 100));
    return retain
      .output()
      .slice(mark)
      .split('\n')
      .filter((line) => line.trim() !== '')
      .slice(0, 8)
      .map((line) => `    ${line.slice(0, 300)}`)
      .join('\n');
  };

  /** One request with its row counts checked around it; `changes` says which rows its answer adds. */
  const exchange = async (
    p: Probe,
    verdict: Verdict,
    changes: (answer: Answer, accepted: boolean) => Changes | Promise<Changes>,
  ): Promise<Answer> => {
    const before = await rowCounts();
    const logMark = retain.output().length;
    const answer = await send(p);
    const outcome = judge(p, answer, verdict, answer.status >= 500 ? await serverLogSince(logMark) : '');
    let expected: Changes;
    try {
      expected = await changes(answer, outcome === 'accepted');
    } catch (error) {
      if (error instanceof FuzzFailure) throw error;
      throw new FuzzFailure(`answer does not match its contract: ${(error as Error).message}`, p, answer);
    }
    checkCounts(p, answer, before, await rowCounts(), expected);
    return answer;
  };

  beforeAll(async () => {
    db = await createTestDatabase('fuzz');
    retain = runRetain(
      {
        DATABASE_URL: db.url,
        DEMO_DATA: 'true',
        DEMO_ACCOUNTS: '40',
        DEMO_DAYS: '30',
        // No scheduled run during the test: a run refreshes campaigns and segments in the background.
        ANALYTICS_CRON: '0 0 1 1 *',
        LOG_LEVEL: 'warn',
      },
      await freePort(),
    );
    await waitUntilUp(retain);
    api = withToken(await createApiToken(db.url, 'admin'));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const res = await api(`${retain.baseUrl}/api/jobs/analytics/runs`);
      const { runs } = AnalyticsRunListSchema.parse(await res.json());
      if (runs.some((r) => r.status === 'succeeded') && runs.every((r) => r.status !== 'running')) break;
      if (Date.now() > deadline) throw new Error(`analytics did not finish: ${JSON.stringify(runs)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    const segment = await postJson(
      '/api/segments',
      { name: 'Fuzz target', filter: { field: 'tier', op: 'eq', value: 'smb' } },
      SegmentSchema,
    );
    const campaign = await postJson(
      '/api/campaigns',
      {
        name: 'Fuzz target',
        goal: { event: 'plan_upgraded', windowDays: 30 },
        channel: 'email_export',
        audience: { segments: [] },
      },
      CreatedCampaignSchema,
    );
    const source = await postJson('/api/sources', { name: 'fuzz' }, CreatedSourceSchema);
    const [ids] = await db.query<{ account_id: number; viewer_id: number }>(
      `SELECT (SELECT min(id) FROM accounts)::int AS account_id,
              (SELECT min(id) FROM users WHERE role = 'viewer')::int AS viewer_id`,
    );
    fixtures = {
      segmentId: segment.id,
      campaignId: campaign.id,
      accountId: ids!.account_id,
      viewerId: ids!.viewer_id,
      writeKey: source.writeKey,
    };
  });
  afterAll(async () => {
    await retain?.stop();
    await db?.drop();
  });

  describe('JSON bodies', () => {
    it.each(JSON_ROUTES)(
      '$name: never a 5xx, 4xx with the error body, no rows from refusals',
      async (route) => {
        let probes = bodyProbes(route.method, route.path(fixtures), route.valid);
        if (route.refusedOnly) probes = probes.filter((p) => bodyVerdict(route.contract, p) === 'refused');
        await fc.assert(
          fc.asyncProperty(probes, async (p) => {
            const verdict = bodyVerdict(route.contract, p);
            await exchange(p, verdict, (a, accepted) => (accepted ? route.accepted(JSON.parse(a.text)) : {}));
          }),
          { seed: route.seed, numRuns: RUNS.json },
        );
      },
    );
  });

  describe('query strings', () => {
    it.each(QUERY_ROUTES)('$name: never a 5xx, 4xx with the error body, no row changes', async (route) => {
      const probes = queryStrings(route.contract).map((qs) =>
        probe({ method: 'GET', path: `${route.path(fixtures)}${qs ? `?${qs}` : ''}` }),
      );
      await fc.assert(
        fc.asyncProperty(probes, async (p) => {
          await exchange(p, queryVerdict(route.contract, `${retain.baseUrl}${p.path}`), () => ({}));
        }),
        { seed: route.seed, numRuns: RUNS.query },
      );
    });
  });

  it.each(ID_ROUTES)(
    '$name: any id gives no 5xx, a 4xx with the error body, no row changes',
    async (route) => {
      const probes = fc
        .tuple(idSegment(route.good(fixtures), 2), fc.jsonValue({ maxDepth: 2 }))
        .map(([id, body]) =>
          probe(
            route.method === 'GET'
              ? { method: 'GET', path: route.path(id) }
              : {
                  method: route.method,
                  path: route.path(id),
                  contentType: 'application/json',
                  body: JSON.stringify(body),
                },
          ),
        );
      await fc.assert(
        fc.asyncProperty(probes, async (p) => {
          await exchange(p, 'open', () => ({}));
        }),
        { seed: route.seed, numRuns: RUNS.ids },
      );
    },
  );

  // -------------------------------------------------------------------------------------------
  // Files
  // -------------------------------------------------------------------------------------------

  describe('the CSV importer', () => {
    const COLUMNS: Record<ImportKind, readonly string[]> = {
      accounts: [
        'external_id',
        'name',
        'plan',
        'mrr',
        'seats',
        'created_at',
        'renewal_date',
        'owner',
        'Industry',
      ],
      contacts: ['external_id', 'account_external_id', 'email', 'name', 'role'],
      tickets: [
        'external_id',
        'channel',
        'created_at',
        'account_external_id',
        'subject',
        'status',
        'csat_score',
      ],
    };
    const TABLE_OF: Record<ImportKind, Table> = {
      accounts: 'accounts',
      contacts: 'contacts',
      tickets: 'tickets',
    };

    /** Plausible cells per column, so that many rows of a random file are good and get written. */
    const PLAUSIBLE: Record<string, fc.Arbitrary<string>> = {
      external_id: fc.nat({ max: 400 }).map((n) => `fz_${n}`),
      name: fc.constantFrom('Acme Corp', 'Globex, Inc.', 'Initech', ''),
      plan: fc.constantFrom('pro', 'team', ''),
      mrr: fc.constantFrom('1200.50', '$2,500.00', '0', '', 'lots', '-5', '1e400'),
      seats: fc.constantFrom('10', '', '-1', '2.5'),
      created_at: fc.constantFrom(
        '2025-01-15T10:00:00Z',
        '2025-03-01',
        '2025-03-01 08:30:00+02',
        'yesterday',
      ),
      renewal_date: fc.constantFrom('2026-06-30', '', '2026-02-30', '0000-01-01'),
      owner: fc.constantFrom('alice@retain.test', ''),
      Industry: fc.constantFrom('Software', 'Retail', ''),
      account_external_id: fc.constantFrom('acc_000001', 'acc_000002', 'fz_1', 'nope', ''),
      email: fc.constantFrom('a@b.c', 'not an email', 'ADMIN@Retain.Example', ''),
      role: fc.constantFrom('admin', 'analyst', ''),
      channel: fc.constantFrom(...TICKET_CHANNELS, 'fax', ''),
      subject: fc.constantFrom('Cannot log in', 'Billing', ''),
      status: fc.constantFrom('open', 'solved', 'weird'),
      csat_score: fc.constantFrom('5', '1', '0', '', 'x'),
    };
    const anyPlausible = fc.oneof(...Object.values(PLAUSIBLE));
    const hostileCell = fc.oneof(
      { weight: 8, arbitrary: hostileString.filter((s) => s.length < 10_000) },
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          '"',
          '""',
          'a"b',
          '"unterminated',
          'a\nb',
          'a\r\nb',
          'a,b',
          'a;b',
          '\t',
          '=HYPERLINK("http://x")',
          '+SUM(1)',
          '-2+3',
          '@cmd',
        ),
      },
      { weight: 1, arbitrary: fc.constant('y'.repeat(1_000_001)) },
    );
    const cellFor = (column: string) =>
      fc.tuple(
        fc.oneof(
          { weight: 6, arbitrary: Object.hasOwn(PLAUSIBLE, column) ? PLAUSIBLE[column]! : anyPlausible },
          { weight: 1, arbitrary: hostileCell },
        ),
        fc.boolean(),
      );
    /** A row with a cell per column, now and then one cell short or one too many. */
    const rowFor = (header: readonly string[]) =>
      fc
        .tuple(fc.tuple(...header.map(cellFor)), fc.constantFrom(0, 0, 0, 0, -1, 1), cellFor('extra'))
        .map(([cells, shift, extra]) =>
          shift < 0 ? cells.slice(0, -1) : shift > 0 ? [...cells, extra] : cells,
        );

    /** CSV-ish text: a header of real, wrong or hostile names, rows of cells, odd quoting and line ends. */
    const csvText = (kind: ImportKind): fc.Arbitrary<string> => {
      const headerCell = fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...COLUMNS[kind], 'External ID', ' NAME ', 'Created-At') },
        { weight: 1, arbitrary: hostileString.filter((s) => s.length < 200) },
      );
      const header = fc.oneof(
        { weight: 4, arbitrary: fc.constant([...COLUMNS[kind]]) },
        { weight: 2, arbitrary: fc.shuffledSubarray([...COLUMNS[kind]], { minLength: 1 }) },
        { weight: 2, arbitrary: fc.array(headerCell, { minLength: 1, maxLength: 8 }) },
      );
      const quoted = (text: string) => `"${text.replaceAll('"', '""')}"`;
      return header
        .chain((columns) =>
          fc.record({
            columns: fc.constant(columns),
            rows: fc.array(rowFor(columns), { maxLength: 12 }),
            delimiter: fc.constantFrom(',', ',', ',', ';', '\t', '|'),
            newline: fc.constantFrom('\n', '\r\n', '\r'),
            mixedNewlines: fc.boolean(),
            bom: fc.boolean(),
            trailingNewline: fc.boolean(),
          }),
        )
        .map(({ columns, rows, delimiter, newline, mixedNewlines, bom, trailingNewline }) => {
          const lines = [
            columns.join(delimiter),
            ...rows.map((row) => row.map(([text, quote]) => (quote ? quoted(text) : text)).join(delimiter)),
          ];
          const text = lines
            .map((line, i) =>
              i === lines.length - 1 ? line : `${line}${mixedNewlines && i % 2 ? '\r\n' : newline}`,
            )
            .join('');
          return `${bom ? '\uFEFF' : ''}${text}${trailingNewline ? newline : ''}`;
        });
    };

    const importQuery = fc.oneof(
      { weight: 6, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constant('format=csv&fileName=fuzz.csv') },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom('format', 'source', 'mapping', 'map', 'fileName'),
            hostileString.filter((s) => s.length < 2_000),
          )
          .map(([k, v]) => `${k}=${encodeText(v)}`),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'mapping=%7B%22external_id%22%3A%22Account%20ID%22%7D',
          'mapping=%7B%22__proto__%22%3A%22x%22%7D',
          'map=external_id%3D&map=name%3Dx',
          'map=external_id%3Da&map=external_id%3Db',
          'format=csv&format=ndjson',
        ),
      },
    );

    const importProbes = fc
      .tuple(
        fc.oneof(
          { weight: 8, arbitrary: fc.constantFrom(...IMPORT_KINDS) },
          { weight: 1, arbitrary: fc.constantFrom('users', '..%2Faccounts', '%00', 'ACCOUNTS') },
        ),
        importQuery,
      )
      .chain(([kind, qs]) =>
        fc
          .oneof(
            {
              weight: 5,
              arbitrary: csvText(
                (IMPORT_KINDS as readonly string[]).includes(kind) ? (kind as ImportKind) : 'accounts',
              ),
            },
            { weight: 2, arbitrary: fc.uint8Array({ maxLength: 3_000 }) },
            {
              weight: 1,
              arbitrary: fc.constantFrom(
                '',
                '\uFEFF',
                '\r\n\r\n',
                '{"external_id":"a"}',
                '\uFEFF\uFEFFexternal_id,name\na,b',
              ),
            },
          )
          .map((body) =>
            probe({
              method: 'POST',
              path: `/api/imports/${kind}${qs ? `?${qs}` : ''}`,
              contentType: 'text/csv',
              body,
            }),
          ),
      );

    const waitForImport = async (id: number): Promise<Import> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await api(`${retain.baseUrl}/api/imports/${id}`);
        const imp = ImportSchema.parse(await res.json());
        if (imp.status === 'succeeded' || imp.status === 'failed') return imp;
        if (Date.now() > deadline) throw new Error(`import ${id} still ${imp.status} after 30 s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };

    it('POST /api/imports/:kind: a refused file is a 4xx; an accepted one ends succeeded with its rejects listed, or failed with no rows', async () => {
      const seen = { refused: 0, succeeded: 0, failed: 0, inserted: 0, rejected: 0 };
      await fc.assert(
        fc.asyncProperty(importProbes, async (p) => {
          await exchange(p, 'open', async (a, accepted) => {
            if (!accepted) {
              seen.refused++;
              return {};
            }
            if (a.status !== 202) throw new FuzzFailure(`expected 202 for an upload, got ${a.status}`, p, a);
            const created = ImportSchema.parse(JSON.parse(a.text));
            if (a.headers.get('location') !== `/api/imports/${created.id}`)
              throw new FuzzFailure('the 202 has no Location of its import', p, a);
            const imp = await waitForImport(created.id);
            const table = TABLE_OF[imp.kind];
            if (imp.status === 'failed') {
              seen.failed++;
              if (!imp.error?.trim())
                throw new FuzzFailure(`import ${imp.id} failed without a message`, p, a);
              // A file fails as a whole only when it cannot be read: an error the importer did not
              // expect (it says "Import failed: ...") is the background job's 500.
              if (imp.error.startsWith('Import failed:'))
                throw new FuzzFailure(`import ${imp.id} failed on an unexpected error: ${imp.error}`, p, a);
              // A file that fails as a whole inserts nothing.
              return { imports: 1 };
            }
            seen.succeeded++;
            seen.inserted += imp.inserted;
            seen.rejected += imp.rejected;
            if (imp.error !== null) throw new FuzzFailure(`succeeded import ${imp.id} has an error`, p, a);
            const sum = imp.inserted + imp.updated + imp.duplicates + imp.pending + imp.rejected;
            if (sum !== imp.received)
              throw new FuzzFailure(`import ${imp.id} counts do not add up: ${JSON.stringify(imp)}`, p, a);
            const listed = await api(`${retain.baseUrl}/api/rejected-items?importId=${imp.id}&limit=500`);
            const page = RejectedItemPageSchema.parse(await listed.json());
            if (
              page.items.length !== Math.min(imp.rejected, 500) ||
              page.items.some((r) => r.importId !== imp.id || !r.message)
            )
              throw new FuzzFailure(
                `import ${imp.id} rejected ${imp.rejected} rows but lists ${page.items.length}: ${JSON.stringify(page.items.slice(0, 3))}`,
                p,
                a,
              );
            return { imports: 1, [table]: imp.inserted, rejected_items: imp.rejected };
          });
        }),
        { seed: 401, numRuns: RUNS.imports },
      );
      // The generators reach every outcome; otherwise this property would check little.
      expect(seen.refused).toBeGreaterThan(0);
      expect(seen.failed).toBeGreaterThan(0);
      expect(seen.inserted).toBeGreaterThan(0);
      expect(seen.rejected).toBeGreaterThan(0);
    });

    it('POST /api/tickets: JSON, NDJSON and bytes get 200 with every refused item listed, or a 4xx with no rows', async () => {
      const ticket = fc.record(
        {
          external_id: fc.nat({ max: 300 }).map((n) => `fzt_${n}`),
          channel: fc.constantFrom(...TICKET_CHANNELS),
          created_at: fc.constantFrom('2025-01-15T10:00:00Z', '2025-06-01T08:30:00+02:00'),
          subject: fc.constantFrom('Cannot log in', 'Billing'),
          account_external_id: fc.constantFrom('acc_000001', 'nope'),
          csat_score: fc.integer({ min: 1, max: 5 }),
        },
        { requiredKeys: ['external_id', 'channel', 'created_at'] },
      );
      const item = fc.oneof(
        { weight: 3, arbitrary: mutated(ticket) },
        { weight: 1, arbitrary: ticket },
        { weight: 1, arbitrary: hostileValue },
      );
      const body = fc.oneof(
        fc
          .array(item, { maxLength: 8 })
          .map((items) => ({ text: toJsonText(items), type: 'application/json' })),
        fc
          .array(item, { maxLength: 8 })
          .map((tickets) => ({ text: toJsonText({ tickets }), type: 'application/json' })),
        fc
          .tuple(
            fc.array(fc.oneof(item.map(toJsonText), NOT_JSON), { maxLength: 8 }),
            fc.constantFrom('\n', '\r\n'),
          )
          .map(([lines, nl]) => ({ text: lines.join(nl), type: 'application/x-ndjson' })),
        fc.jsonValue().map((v) => ({ text: JSON.stringify(v), type: 'application/json' })),
        NOT_JSON.map((text) => ({ text, type: 'application/json' })),
        rawFragment.map((r) => ({ text: r.text, type: 'application/json' })),
        fc.uint8Array({ maxLength: 500 }).map((bytes) => ({ text: bytes, type: 'application/octet-stream' })),
      );
      const source = fc.oneof(
        { weight: 5, arbitrary: fc.constant('') },
        {
          weight: 1,
          arbitrary: hostileString.filter((s) => s.length < 200).map((s) => `?source=${encodeText(s)}`),
        },
      );
      const probes = fc
        .tuple(body, source)
        .map(([b, qs]) =>
          probe({ method: 'POST', path: `/api/tickets${qs}`, contentType: b.type, body: b.text }),
        );
      await fc.assert(
        fc.asyncProperty(probes, async (p) => {
          await exchange(p, 'open', (a, accepted) => {
            if (!accepted) return {};
            const written = TicketsWriteResponseSchema.parse(JSON.parse(a.text));
            const sum =
              written.inserted + written.updated + written.duplicates + written.pending + written.rejected;
            if (sum !== written.received || written.errors.length !== Math.min(written.rejected, 1_000))
              throw new FuzzFailure('counts or listed errors do not add up', p, a);
            return { tickets: written.inserted, rejected_items: written.rejected };
          });
        }),
        { seed: 402, numRuns: RUNS.tickets },
      );
    });
  });

  it('/v1/batch with a valid write key: never a 5xx, 4xx with the error body, refused items stored as rejected only', async () => {
    const message = fc.record(
      {
        type: fc.constantFrom('track', 'identify', 'group', 'page'),
        messageId: fc.uuid(),
        userId: fc.constantFrom('fuzz-user-1', 'fuzz-user-2'),
        event: fc.constant('Fuzz Event'),
        groupId: fc.constant('acc_000001'),
        properties: fc.constant({ n: 1 }),
        traits: fc.constant({ plan: 'pro' }),
        timestamp: fc.constant('2026-01-01T00:00:00Z'),
      },
      { requiredKeys: ['type', 'messageId', 'userId'] },
    );
    const json = fc.oneof(
      { weight: 3, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
      {
        weight: 3,
        arbitrary: fc
          .array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 })
          .map((batch) => JSON.stringify({ batch })),
      },
      {
        weight: 4,
        arbitrary: fc
          .array(mutated(message), { minLength: 1, maxLength: 4 })
          .map((batch) => toJsonText({ batch })),
      },
      {
        weight: 1,
        arbitrary: mutated(fc.record({ batch: fc.array(message, { maxLength: 2 }) })).map(toJsonText),
      },
      { weight: 1, arbitrary: NOT_JSON },
      { weight: 1, arbitrary: rawFragment.map((r) => r.text) },
      { weight: 1, arbitrary: fc.constant(`{"batch":[],"pad":"${'x'.repeat(600_000)}"}`) },
    );
    const probes = fc.oneof(
      {
        weight: 8,
        arbitrary: fc
          .tuple(json, fc.constantFrom('application/json', 'text/plain', undefined))
          .map(([body, contentType]) => ({ body: body as string | Uint8Array, contentType, headers: {} })),
      },
      {
        weight: 1,
        arbitrary: json.map((body) => ({
          body: new Uint8Array(zlib.gzipSync(body)),
          contentType: 'application/json',
          headers: { 'content-encoding': 'gzip' },
        })),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(
            fc.uint8Array({ maxLength: 200 }),
            fc.constantFrom('gzip', 'deflate', 'br', 'compress', 'identity'),
          )
          .map(([body, encoding]) => ({
            body,
            contentType: 'application/json',
            headers: { 'content-encoding': encoding },
          })),
      },
    );
    await fc.assert(
      fc.asyncProperty(
        probes.map((p) =>
          probe({
            method: 'POST',
            path: '/v1/batch',
            contentType: p.contentType,
            headers: { ...p.headers, 'x-write-key': fixtures.writeKey },
            body: p.body,
          }),
        ),
        async (p) => {
          await exchange(p, 'open', (a, accepted) => {
            if (!accepted) return {};
            if (a.status !== 200) throw new FuzzFailure(`expected 200, got ${a.status}`, p, a);
            const ingested = IngestResponseSchema.parse(JSON.parse(a.text));
            if (
              ingested.accepted + ingested.duplicates + ingested.rejected !== ingested.received ||
              ingested.errors.length !== ingested.rejected
            )
              throw new FuzzFailure('counts or listed errors do not add up', p, a);
            // Stored messages may add an event, a contact and an account each; nothing else changes.
            const stored: Change = [0, ingested.accepted];
            return { events: stored, contacts: stored, accounts: stored, rejected_items: ingested.rejected };
          });
        },
      ),
      { seed: 501, numRuns: RUNS.ingest },
    );
  });
});
