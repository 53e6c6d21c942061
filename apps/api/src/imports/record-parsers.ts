import { findInputProblem } from '../common/hostile-input.js';
import type { ItemErrorCode } from '@retain/contracts';
import { CHANNELS, type Channel, type CsatScale } from '../tickets/ticket.entity.js';
import type { AccountRecord, ContactRecord, RowResult, TicketRecord } from './import-records.js';

/**
 * Turns one raw row (a CSV row: all strings; or a JSON object from the API) into an import record.
 * A column absent from the row stays `undefined` in the record (the stored value is left alone);
 * an empty cell (`""` or `null`) becomes `null`. Columns the record does not know become traits.
 */

export const ACCOUNT_COLUMNS = [
  'external_id',
  'name',
  'plan',
  'mrr',
  'seats',
  'employees',
  'region',
  'owner',
  'created_at',
  'churned_at',
  'renewal_date',
] as const;
export const ACCOUNT_REQUIRED_COLUMNS = ['external_id', 'name'] as const;

export const CONTACT_COLUMNS = ['external_id', 'account_external_id', 'email', 'name'] as const;
export const CONTACT_REQUIRED_COLUMNS = ['external_id'] as const;

export const TICKET_COLUMNS = [
  'external_id',
  'account_external_id',
  'contact_external_id',
  'channel',
  'subject',
  'priority',
  'status',
  'tags',
  'created_at',
  'first_response_at',
  'solved_at',
  'first_response_minutes',
  'first_response_business_minutes',
  'csat_score',
  'csat_scale',
  'csat_comment',
  'csat_rated_at',
] as const;
export const TICKET_REQUIRED_COLUMNS = ['external_id', 'channel', 'created_at'] as const;

const MIN_YEAR = 1970;
const MAX_YEAR = 2100;
const TIMESTAMP_HINT = 'use ISO 8601, e.g. 2026-03-01T10:00:00Z';

/** A problem with one field of a row; the parsers turn it into a RowResult error. */
export class RowFieldError extends Error {
  constructor(
    readonly code: ItemErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RowFieldError';
  }
}

// ---------------------------------------------------------------------------------------------
// Channels

const CHANNEL_SYNONYMS: Readonly<Record<string, Channel>> = {
  email: 'email',
  e_mail: 'email',
  mail: 'email',
  chat: 'chat',
  live_chat: 'chat',
  livechat: 'chat',
  messaging: 'chat',
  native_messaging: 'chat',
  chat_transcript: 'chat',
  sms: 'chat',
  text: 'chat',
  phone: 'phone',
  voice: 'phone',
  call: 'phone',
  telephone: 'phone',
  voicemail: 'phone',
  web: 'web',
  web_form: 'web',
  webform: 'web',
  form: 'web',
  api: 'web',
  web_service: 'web',
  help_center: 'web',
  in_app: 'web',
  mobile: 'web',
  mobile_sdk: 'web',
  web_widget: 'web',
  widget: 'web',
  portal: 'web',
  social: 'social',
  whatsapp: 'social',
  facebook: 'social',
  facebook_messenger: 'social',
  messenger: 'social',
  twitter: 'social',
  twitter_dm: 'social',
  instagram: 'social',
  instagram_dm: 'social',
  line: 'social',
  wechat: 'social',
  any_channel: 'social',
};

/**
 * The canonical channel for a word: the channel names themselves and common synonyms, any case,
 * spaces and dashes read as underscores ("E-mail", "Live chat", "in-app"). Null when unknown.
 * SMS counts as chat; WhatsApp, Facebook, Twitter, Instagram, LINE, WeChat as social.
 */
export function normalizeChannel(word: string): Channel | null {
  const key = word
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, '_');
  return Object.hasOwn(CHANNEL_SYNONYMS, key) ? (CHANNEL_SYNONYMS[key] ?? null) : null;
}

// ---------------------------------------------------------------------------------------------
// Values

/** How a bad value is quoted in messages: strings in JSON quotes (shortened), others as JSON. */
export function showValue(raw: unknown): string {
  if (typeof raw === 'string') return JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw);
  if (Array.isArray(raw)) return 'an array';
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? 'an invalid date' : raw.toISOString();
  if (raw !== null && typeof raw === 'object') return 'an object';
  return String(raw);
}

function isBlank(raw: unknown): boolean {
  return raw === null || raw === undefined || (typeof raw === 'string' && raw.trim() === '');
}

const ISO_TIMESTAMP =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?$/i;
const EPOCH_SECONDS = /^\d{9,10}(?:\.\d+)?$/;
const EPOCH_MILLISECONDS = /^\d{12,13}$/;

function notATimestamp(raw: unknown, column: string): RowFieldError {
  return new RowFieldError(
    'INVALID_TIMESTAMP',
    `${column}: ${showValue(raw)} is not a date or timestamp (${TIMESTAMP_HINT})`,
  );
}

function inRange(date: Date, raw: unknown, column: string): Date {
  const year = date.getUTCFullYear();
  if (Number.isNaN(date.getTime())) throw notATimestamp(raw, column);
  if (year < MIN_YEAR || year > MAX_YEAR) {
    throw new RowFieldError(
      'INVALID_TIMESTAMP',
      `${column}: ${showValue(raw)} is outside the accepted years ${MIN_YEAR} to ${MAX_YEAR}`,
    );
  }
  return date;
}

function fromEpoch(value: number, raw: unknown, column: string): Date {
  // Below 1e11 it can only be seconds (1e11 ms is 1973, 1e11 s is the year 5138).
  return inRange(new Date(Math.abs(value) < 1e11 ? Math.round(value * 1000) : value), raw, column);
}

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * A timestamp from ISO 8601 text ('2026-03-01', '2026-03-01T10:00:00Z', '2026-03-01 10:00:00+02',
 * fractions of any length; date-only and zone-less values are UTC), epoch seconds or milliseconds
 * (numbers, or strings of 9-10 / 12-13 digits), or a Date. Years 1970 to 2100 only.
 * @throws RowFieldError INVALID_TIMESTAMP, the message naming the column and the value.
 */
export function parseTimestamp(raw: unknown, column: string): Date {
  if (raw instanceof Date) return inRange(new Date(raw.getTime()), raw, column);
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw notATimestamp(raw, column);
    return fromEpoch(raw, raw, column);
  }
  if (typeof raw !== 'string') throw notATimestamp(raw, column);
  const text = raw.trim();
  if (EPOCH_SECONDS.test(text) || EPOCH_MILLISECONDS.test(text)) return fromEpoch(Number(text), raw, column);
  const m = ISO_TIMESTAMP.exec(text);
  if (!m) throw notATimestamp(raw, column);
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((part) =>
    part === undefined ? 0 : Number(part),
  ) as [number, number, number, number, number, number];
  const millis = m[7] === undefined ? 0 : Number(`${m[7]}00`.slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw notATimestamp(raw, column);
  if (hour > 23 || minute > 59 || second > 59) throw notATimestamp(raw, column);
  let offsetMinutes = 0;
  const zone = m[8]?.toUpperCase();
  if (zone !== undefined && zone !== 'Z' && zone !== 'UTC' && zone !== 'GMT') {
    const digits = zone.slice(1).replace(':', '');
    const zoneHours = Number(digits.slice(0, 2));
    const zoneMinutes = digits.length > 2 ? Number(digits.slice(2)) : 0;
    if (zoneHours > 23 || zoneMinutes > 59) throw notATimestamp(raw, column);
    offsetMinutes = (zone.startsWith('-') ? -1 : 1) * (zoneHours * 60 + zoneMinutes);
  }
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millis);
  return inRange(new Date(date.getTime() - offsetMinutes * 60_000), raw, column);
}

/** A calendar date as 'YYYY-MM-DD': the date as written, or the UTC date of a timestamp. */
export function parseDateOnly(raw: unknown, column: string): string {
  const date = parseTimestamp(raw, column);
  if (typeof raw === 'string' && /^\d{4}-\d{2}-\d{2}/.test(raw.trim())) return raw.trim().slice(0, 10);
  return date.toISOString().slice(0, 10);
}

/** Text from a string (trimmed), a number or a boolean. */
function toText(raw: unknown, column: string): string {
  if (typeof raw === 'string') return raw.trim();
  if ((typeof raw === 'number' && Number.isFinite(raw)) || typeof raw === 'boolean') return String(raw);
  throw new RowFieldError('INVALID_FIELD', `${column}: expected text, got ${showValue(raw)}`);
}

const MAX_INTEGER = 2_147_483_647;
const MAX_AMOUNT = 999_999_999_999.99;

const PLAIN_NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[+-]?\d+)?$/i;
const GROUPED_NUMBER = /^[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?$/;

function toNumber(raw: unknown, column: string, kind: { integer: boolean; currency?: boolean }): number {
  let value: number | null = null;
  if (typeof raw === 'number') {
    value = Number.isFinite(raw) ? raw : null;
  } else if (typeof raw === 'string') {
    let text = raw.trim();
    if (kind.currency) text = text.replace(/^[$€£]\s*/, '');
    if (PLAIN_NUMBER.test(text)) value = Number(text);
    else if (GROUPED_NUMBER.test(text)) value = Number(text.replace(/,/g, ''));
  }
  if (value === null) {
    throw new RowFieldError('INVALID_FIELD', `${column}: ${showValue(raw)} is not a number`);
  }
  if (value < 0 || (kind.integer && !Number.isInteger(value))) {
    const what = kind.integer ? 'a whole number >= 0' : 'a number >= 0';
    throw new RowFieldError('INVALID_FIELD', `${column}: must be ${what}, got ${showValue(raw)}`);
  }
  // The columns' own ranges: integer, and numeric(14, 2) for money.
  const max = kind.integer ? MAX_INTEGER : MAX_AMOUNT;
  if (value > max)
    throw new RowFieldError('INVALID_FIELD', `${column}: must be at most ${max}, got ${showValue(raw)}`);
  return value;
}

const TRAIT_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?$/;
/** Beyond 15 significant digits a double loses digits: keep such ids as text. */
const MAX_TRAIT_DIGITS = 15;

/**
 * A trait as stored: text trimmed; "true"/"false" (any case) as booleans; numeric text as numbers
 * ("12", "-3.5"), except with leading zeros ("007") or more than 15 digits (ids), which stay text;
 * empty text and null as `undefined` (the trait is left out). Other JSON values are kept as they are.
 */
export function typedTraitValue(raw: unknown): unknown | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (typeof raw !== 'string') return raw;
  const text = raw.trim();
  if (text === '') return undefined;
  const lower = text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (TRAIT_NUMBER.test(text) && text.replace(/[-.]/g, '').length <= MAX_TRAIT_DIGITS) return Number(text);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Row access

/** Reads the columns of one row; remembers which ones it read so the others become traits. */
class Row {
  private readonly known: ReadonlySet<string>;

  constructor(
    private readonly values: Record<string, unknown>,
    columns: readonly string[],
  ) {
    this.known = new Set(columns);
  }

  /** `undefined` when the column is absent. */
  raw(column: string): unknown {
    return Object.hasOwn(this.values, column) ? this.values[column] : undefined;
  }

  has(column: string): boolean {
    return this.raw(column) !== undefined;
  }

  requiredId(column: string): string {
    const raw = this.raw(column);
    if (isBlank(raw)) {
      throw new RowFieldError(
        'MISSING_FIELD',
        raw === undefined ? `${column}: is required` : `${column}: is required and was empty`,
      );
    }
    return toText(raw, column);
  }

  text(column: string): string | null | undefined {
    const raw = this.raw(column);
    if (raw === undefined) return undefined;
    return isBlank(raw) ? null : toText(raw, column);
  }

  number(column: string, kind: { integer: boolean; currency?: boolean }): number | null | undefined {
    const raw = this.raw(column);
    if (raw === undefined) return undefined;
    return isBlank(raw) ? null : toNumber(raw, column, kind);
  }

  time(column: string): Date | null | undefined {
    const raw = this.raw(column);
    if (raw === undefined) return undefined;
    return isBlank(raw) ? null : parseTimestamp(raw, column);
  }

  requiredTime(column: string): Date {
    const raw = this.raw(column);
    if (isBlank(raw)) throw new RowFieldError('MISSING_FIELD', `${column}: is required`);
    return parseTimestamp(raw, column);
  }

  date(column: string): string | null | undefined {
    const raw = this.raw(column);
    if (raw === undefined) return undefined;
    return isBlank(raw) ? null : parseDateOnly(raw, column);
  }

  traits(): Record<string, unknown> {
    const traits: [string, unknown][] = [];
    for (const [key, raw] of Object.entries(this.values)) {
      if (key === '' || this.known.has(key)) continue;
      const value = typedTraitValue(raw);
      if (value !== undefined) traits.push([key, value]);
    }
    // fromEntries defines own properties, so even a "__proto__" column stays a plain trait.
    return Object.fromEntries(traits);
  }
}

/** Drops the `undefined` properties, so absent columns are absent from the record. */
function compact<T extends object>(record: T): T {
  for (const key of Object.keys(record) as (keyof T)[]) {
    if (record[key] === undefined) delete record[key];
  }
  return record;
}

function parseRow<T>(
  values: Record<string, unknown>,
  columns: readonly string[],
  build: (row: Row, known: { externalId: string | null }) => T,
): RowResult<T> {
  const known: { externalId: string | null } = { externalId: null };
  const hostile = findInputProblem(values);
  if (hostile)
    return {
      ok: false,
      error: {
        externalId: null,
        code: 'INVALID_FIELD',
        message: `${hostile.path || 'row'}: ${hostile.message}`,
      },
    };
  try {
    return { ok: true, value: build(new Row(values, columns), known) };
  } catch (error) {
    if (error instanceof RowFieldError) {
      return { ok: false, error: { externalId: known.externalId, code: error.code, message: error.message } };
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Parsers

export function parseAccountRow(values: Record<string, unknown>): RowResult<AccountRecord> {
  return parseRow(values, ACCOUNT_COLUMNS, (row, known) => {
    known.externalId = row.requiredId('external_id');
    const name = row.requiredId('name');
    return compact<AccountRecord>({
      externalId: known.externalId,
      name,
      plan: row.text('plan'),
      mrr: row.number('mrr', { integer: false, currency: true }),
      seats: row.number('seats', { integer: true }),
      employees: row.number('employees', { integer: true }),
      region: row.text('region'),
      owner: row.text('owner'),
      createdAt: row.time('created_at'),
      churnedAt: row.time('churned_at'),
      renewalDate: row.date('renewal_date'),
      traits: row.traits(),
    });
  });
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@.]+$/;

export function parseContactRow(values: Record<string, unknown>): RowResult<ContactRecord> {
  return parseRow(values, CONTACT_COLUMNS, (row, known) => {
    known.externalId = row.requiredId('external_id');
    const accountExternalId = row.text('account_external_id');
    const email = row.text('email');
    if (email && !EMAIL.test(email)) {
      throw new RowFieldError('INVALID_FIELD', `email: ${showValue(email)} is not an email address`);
    }
    return compact<ContactRecord>({
      externalId: known.externalId,
      accountExternalId,
      email,
      name: row.text('name'),
      traits: row.traits(),
    });
  });
}

function parseTags(raw: unknown): string[] | undefined {
  if (raw === undefined) return undefined;
  if (raw === null) return [];
  let pieces: string[];
  if (Array.isArray(raw)) {
    pieces = raw.map((tag: unknown) => {
      if (typeof tag === 'string' || typeof tag === 'number') return String(tag).trim();
      throw new RowFieldError('INVALID_FIELD', `tags: expected text tags, got ${showValue(tag)} in the list`);
    });
  } else if (typeof raw === 'string') {
    // "a, b;c" splits on the separators; without one, on whitespace (Zendesk writes "vip billing").
    pieces = /[,;]/.test(raw) ? raw.split(/[,;]/) : raw.split(/\s+/);
    pieces = pieces.map((tag) => tag.trim());
  } else {
    throw new RowFieldError('INVALID_FIELD', `tags: expected a list or text, got ${showValue(raw)}`);
  }
  return [...new Set(pieces.filter((tag) => tag !== ''))];
}

function parseChannel(row: Row): { channel: Channel; channelDetail: string | null } {
  const raw = row.raw('channel');
  if (isBlank(raw)) {
    throw new RowFieldError('MISSING_FIELD', `channel: is required (one of ${CHANNELS.join(', ')})`);
  }
  const word = toText(raw, 'channel');
  const channel = normalizeChannel(word);
  if (channel === null) {
    throw new RowFieldError(
      'INVALID_FIELD',
      `channel: ${showValue(word)} is not a known channel (use one of ${CHANNELS.join(', ')}, ` +
        'or a synonym such as e-mail, live_chat, sms, voice, web_form, api, whatsapp)',
    );
  }
  return { channel, channelDetail: word.toLowerCase() === channel ? null : word };
}

const NO_RATING = new Set(['offered', 'unoffered']);
const SCALE_SYNONYMS: Readonly<Record<string, CsatScale>> = {
  five_point: 'five_point',
  '5_point': 'five_point',
  '1_5': 'five_point',
  good_bad: 'good_bad',
  goodbad: 'good_bad',
};

type Csat = Pick<TicketRecord, 'csatScore' | 'csatScale' | 'csatComment' | 'csatRatedAt'>;

function parseCsat(row: Row): Csat {
  const scaleText = row.text('csat_scale');
  let scale: CsatScale | null = null;
  if (scaleText) {
    const key = scaleText.toLowerCase().replace(/[\s/-]+/g, '_');
    scale = Object.hasOwn(SCALE_SYNONYMS, key) ? (SCALE_SYNONYMS[key] ?? null) : null;
    if (scale === null) {
      throw new RowFieldError(
        'INVALID_FIELD',
        `csat_scale: ${showValue(scaleText)} is not a known scale (use five_point or good_bad)`,
      );
    }
  }
  const rated = {
    csatComment: row.text('csat_comment'),
    csatRatedAt: row.time('csat_rated_at'),
  };
  const raw = row.raw('csat_score');
  if (raw === undefined) return rated;
  const text = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  if (isBlank(text) || (typeof text === 'string' && NO_RATING.has(text))) {
    return { csatScore: null, csatScale: null, ...rated };
  }
  const invalid = (hint: string): RowFieldError =>
    new RowFieldError('INVALID_FIELD', `csat_score: ${showValue(raw)} is not a rating (${hint})`);
  if (text === 'good' || text === 'bad') {
    if (scale === 'five_point') throw invalid('a five_point score is 1 to 5');
    return { csatScore: text === 'good' ? 1 : 0, csatScale: 'good_bad', ...rated };
  }
  const score =
    typeof text === 'number'
      ? text
      : typeof text === 'string' && PLAIN_NUMBER.test(text)
        ? Number(text)
        : NaN;
  if (scale === 'good_bad') {
    if (score === 0 || score === 1) return { csatScore: score, csatScale: 'good_bad', ...rated };
    throw invalid('a good_bad score is good, bad, 1 or 0');
  }
  if (Number.isInteger(score) && score >= 1 && score <= 5) {
    return { csatScore: score, csatScale: 'five_point', ...rated };
  }
  throw invalid('use 1 to 5, good or bad; offered, unoffered or empty for no rating');
}

export function parseTicketRow(values: Record<string, unknown>): RowResult<TicketRecord> {
  return parseRow(values, TICKET_COLUMNS, (row, known) => {
    known.externalId = row.requiredId('external_id');
    const accountExternalId = row.text('account_external_id');
    const contactExternalId = row.text('contact_external_id');
    const { channel, channelDetail } = parseChannel(row);
    const subject = row.text('subject');
    const priorityText = row.text('priority');
    const priority = priorityText ? priorityText.toLowerCase() : priorityText;
    const statusText = row.text('status');
    const tags = parseTags(row.raw('tags'));
    const createdAt = row.requiredTime('created_at');
    const firstResponseAt = row.time('first_response_at');
    const solvedAt = row.time('solved_at');
    let firstResponseMinutes = row.number('first_response_minutes', { integer: false });
    const firstResponseBusinessMinutes = row.number('first_response_business_minutes', { integer: false });
    if (firstResponseAt && firstResponseAt < createdAt) {
      throw new RowFieldError(
        'INVALID_FIELD',
        `first_response_at: ${showValue(row.raw('first_response_at'))} is before created_at ` +
          `${showValue(row.raw('created_at'))}`,
      );
    }
    if (firstResponseMinutes == null && firstResponseAt !== undefined) {
      firstResponseMinutes =
        firstResponseAt === null ? null : (firstResponseAt.getTime() - createdAt.getTime()) / 60_000;
    }
    return compact<TicketRecord>({
      externalId: known.externalId,
      accountExternalId,
      contactExternalId,
      channel,
      channelDetail,
      subject,
      priority,
      // Absent: a new ticket gets 'solved' or 'open' from solved_at; a stored one keeps its status.
      ...(statusText ? { status: statusText.toLowerCase() } : {}),
      tags,
      createdAt,
      firstResponseAt,
      firstResponseMinutes,
      firstResponseBusinessMinutes,
      solvedAt,
      ...parseCsat(row),
    });
  });
}
