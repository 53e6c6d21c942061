import type { ItemErrorCode } from '@retain/contracts';
import type { Channel } from '../tickets/ticket.entity.js';
import { ImportFileError } from './csv-reader.js';
import type { TicketRecord, TicketUpdate } from './import-records.js';
import { normalizeChannel, parseTimestamp, RowFieldError, showValue } from './record-parsers.js';

/**
 * Reads Zendesk Support API JSON as exported: one page, a JSON array of pages, or NDJSON with one
 * page per line. Pages of /api/v2/tickets, search, the incremental ticket export (time or cursor
 * based, with `include=metric_sets`), /api/v2/ticket_metrics and /api/v2/satisfaction_ratings, or
 * the single-object answers (`ticket`, `ticket_metric`, `satisfaction_rating`).
 */

export type ZendeskItem =
  | { kind: 'ticket'; index: number; record: TicketRecord }
  | { kind: 'update'; index: number; update: TicketUpdate }
  | { kind: 'error'; index: number; externalId: string | null; code: ItemErrorCode; message: string };

/** The page keys read, in the order they are read within a page (tickets before their metrics). */
export const ZENDESK_KEYS = [
  'tickets',
  'ticket',
  'metric_sets',
  'ticket_metrics',
  'ticket_metric',
  'satisfaction_ratings',
  'satisfaction_rating',
] as const;
type ZendeskKey = (typeof ZENDESK_KEYS)[number];

type JsonObject = Record<string, unknown>;
type Converted = { kind: 'ticket'; record: TicketRecord } | { kind: 'update'; update: TicketUpdate } | null;

const isObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Items of the file, in order; `index` counts every item (skipped ratings included) from 0. */
export function* readZendesk(text: string): Generator<ZendeskItem> {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') {
    throw new ImportFileError(`The file is empty: expected Zendesk API JSON with ${keyList()}`);
  }
  let index = 0;
  let found = false;
  const otherKeys = new Set<string>();
  for (const page of readPages(body)) {
    if ('problem' in page) {
      yield { kind: 'error', index: index++, externalId: null, code: 'INVALID_JSON', message: page.problem };
      continue;
    }
    for (const key of Object.keys(page.value)) {
      if ((ZENDESK_KEYS as readonly string[]).includes(key)) found = true;
      else otherKeys.add(key);
    }
    for (const key of ZENDESK_KEYS) {
      const value = page.value[key];
      if (value === undefined || value === null) continue;
      const many = key.endsWith('s');
      if (many !== Array.isArray(value)) {
        const expected = many ? 'an array' : 'an object';
        yield {
          kind: 'error',
          index: index++,
          externalId: null,
          code: 'INVALID_FIELD',
          message: `${key}: expected ${expected}`,
        };
        continue;
      }
      for (const raw of many ? (value as unknown[]) : [value]) {
        const item = convert(key, raw, index++);
        if (item !== null) yield item;
      }
    }
  }
  if (!found) {
    const seen = otherKeys.size > 0 ? ` Keys found: ${[...otherKeys].slice(0, 12).join(', ')}.` : '';
    throw new ImportFileError(`No Zendesk data in the file: expected JSON objects with ${keyList()}.${seen}`);
  }
}

function keyList(): string {
  return `one of the keys ${ZENDESK_KEYS.join(', ')} (as the Zendesk API returns them)`;
}

/** The pages of the file: the whole text as JSON, else one JSON object per line. */
function* readPages(body: string): Generator<{ value: JsonObject } | { problem: string }> {
  let whole: unknown;
  let wholeError: Error | null = null;
  try {
    whole = JSON.parse(body);
  } catch (error) {
    wholeError = error as Error;
  }
  if (wholeError === null) {
    if (isObject(whole)) {
      yield { value: whole };
      return;
    }
    if (Array.isArray(whole)) {
      for (const [position, page] of whole.entries()) {
        if (!isObject(page)) {
          throw new ImportFileError(
            `Item ${position} of the JSON array is ${showValue(page)}, not an object: expected Zendesk API pages`,
          );
        }
        yield { value: page };
      }
      return;
    }
    throw new ImportFileError(
      `The file is JSON ${showValue(whole)}, not an object: expected Zendesk API pages`,
    );
  }
  const lines = body.split(/\r?\n/);
  const filled = lines.filter((line) => line.trim() !== '').length;
  let first = true;
  for (const [lineIndex, line] of lines.entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    let problem: string | null = null;
    try {
      value = JSON.parse(line);
      if (!isObject(value))
        problem = `line ${lineIndex + 1}: expected a JSON object (one Zendesk API page per line)`;
    } catch (error) {
      problem = `line ${lineIndex + 1}: not valid JSON (${jsonProblem(error)})`;
    }
    if (problem !== null && (first || filled === 1)) {
      throw new ImportFileError(`The file is not valid JSON or NDJSON (${jsonProblem(wholeError)})`);
    }
    first = false;
    yield problem === null ? { value: value as JsonObject } : { problem };
  }
}

/** JSON.parse's message on one line, not too long (V8 quotes the text it choked on). */
function jsonProblem(error: unknown): string {
  const message = (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
  return message.length > 160 ? `${message.slice(0, 157)}...` : message;
}

function convert(key: ZendeskKey, raw: unknown, index: number): ZendeskItem | null {
  const singular = key === 'metric_sets' ? 'metric_set' : key.replace(/s$/, '');
  if (!isObject(raw)) {
    const message = `${singular}: expected an object, got ${raw === null ? 'null' : showValue(raw)}`;
    return { kind: 'error', index, externalId: null, code: 'INVALID_FIELD', message };
  }
  const isTicket = key === 'tickets' || key === 'ticket';
  const idField = isTicket ? 'id' : 'ticket_id';
  const externalId = idOf(raw[idField]);
  if (externalId === null) {
    const missing = raw[idField] === undefined || raw[idField] === null;
    return {
      kind: 'error',
      index,
      externalId: null,
      code: missing ? 'MISSING_FIELD' : 'INVALID_FIELD',
      message: missing
        ? `${idField}: is required`
        : `${idField}: ${showValue(raw[idField])} is not a ticket id`,
    };
  }
  let converted: Converted;
  try {
    if (isTicket) converted = { kind: 'ticket', record: ticketRecord(externalId, raw) };
    else if (key === 'satisfaction_ratings' || key === 'satisfaction_rating')
      converted = ratingUpdate(externalId, raw);
    else converted = { kind: 'update', update: metricUpdate(externalId, raw) };
  } catch (error) {
    if (!(error instanceof RowFieldError)) throw error;
    return { kind: 'error', index, externalId, code: error.code, message: error.message };
  }
  if (converted === null) return null;
  return converted.kind === 'ticket'
    ? { kind: 'ticket', index, record: converted.record }
    : { kind: 'update', index, update: converted.update };
}

/** Zendesk ids are numbers; strings are taken too (some exports quote them). */
function idOf(raw: unknown): string | null {
  if (typeof raw === 'number' && Number.isFinite(raw)) return String(raw);
  if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
  return null;
}

function optionalText(raw: unknown): string | null {
  if (typeof raw === 'string') return raw.trim() === '' ? null : raw;
  if (typeof raw === 'number') return String(raw);
  return null;
}

function ticketRecord(externalId: string, raw: JsonObject): TicketRecord {
  const via = isObject(raw.via) ? raw.via : {};
  const word = typeof via.channel === 'string' && via.channel.trim() !== '' ? via.channel.trim() : null;
  // Zendesk's own kinds (rule, sample_ticket, closed_ticket, side_conversation, ...) count as web.
  const channel: Channel = (word !== null ? normalizeChannel(word) : null) ?? 'web';
  if (raw.created_at === undefined || raw.created_at === null) {
    throw new RowFieldError('MISSING_FIELD', 'created_at: is required');
  }
  const record: TicketRecord = {
    externalId,
    accountExternalId: raw.organization_id != null ? String(raw.organization_id) : null,
    contactExternalId: raw.requester_id != null ? String(raw.requester_id) : null,
    channel,
    channelDetail: word !== null && word.toLowerCase() !== channel ? word : null,
    subject: optionalText(raw.subject) ?? optionalText(raw.raw_subject),
    priority: optionalText(raw.priority),
    status: optionalText(raw.status)?.toLowerCase() ?? 'open',
    createdAt: parseTimestamp(raw.created_at, 'created_at'),
  };
  const tags: unknown = raw.tags;
  if (Array.isArray(tags))
    record.tags = tags.filter((tag): tag is string => typeof tag === 'string' && tag !== '');
  else if (tags === null) record.tags = [];
  // An embedded rating Zendesk does not document is ignored rather than refusing the ticket.
  const rating = isObject(raw.satisfaction_rating)
    ? readRating(raw.satisfaction_rating, 'satisfaction_rating.', false)
    : null;
  return rating === null ? record : { ...record, ...rating };
}

type Rating = Required<Pick<TicketUpdate, 'csatScore' | 'csatScale' | 'csatComment'>> &
  Pick<TicketUpdate, 'csatRatedAt'>;

/**
 * A rating: good = 1 and bad = 0 on the good_bad scale. Null for offered/unoffered (no rating:
 * the survey was sent, or not), so the caller leaves any stored rating alone.
 */
function readRating(raw: JsonObject, prefix: string, strict: boolean): Rating | null {
  const score = typeof raw.score === 'string' ? raw.score.trim().toLowerCase() : raw.score;
  // The ratings API filters on good_with_comment / bad_with_comment; take them if an export has them.
  const good = score === 'good' || score === 'good_with_comment';
  const bad = score === 'bad' || score === 'bad_with_comment';
  if (!good && !bad) {
    if (score === 'offered' || score === 'unoffered' || score === undefined || score === null || !strict) {
      return null;
    }
    throw new RowFieldError(
      'INVALID_FIELD',
      `${prefix}score: ${showValue(raw.score)} is not a Zendesk rating (good, bad, offered or unoffered)`,
    );
  }
  const ratedAtField = raw.updated_at != null ? 'updated_at' : raw.created_at != null ? 'created_at' : null;
  const rating: Rating = {
    csatScore: good ? 1 : 0,
    csatScale: 'good_bad',
    csatComment: optionalText(raw.comment),
  };
  if (ratedAtField !== null)
    rating.csatRatedAt = parseTimestamp(raw[ratedAtField], `${prefix}${ratedAtField}`);
  return rating;
}

function ratingUpdate(externalId: string, raw: JsonObject): Converted {
  const rating = readRating(raw, '', true);
  return rating === null ? null : { kind: 'update', update: { externalId, ...rating } };
}

function minutes(raw: unknown, field: string): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return raw;
  throw new RowFieldError('INVALID_FIELD', `${field}: must be a number >= 0, got ${showValue(raw)}`);
}

/** ticket_metrics / metric_sets: first reply time (absent or null: no reply yet) and solved_at. */
function metricUpdate(externalId: string, raw: JsonObject): TicketUpdate {
  const reply = isObject(raw.reply_time_in_minutes) ? raw.reply_time_in_minutes : {};
  const update: TicketUpdate = { externalId };
  const calendar = minutes(reply.calendar, 'reply_time_in_minutes.calendar');
  const business = minutes(reply.business, 'reply_time_in_minutes.business');
  if (calendar !== undefined) update.firstResponseMinutes = calendar;
  if (business !== undefined) update.firstResponseBusinessMinutes = business;
  if (raw.solved_at === null) update.solvedAt = null;
  else if (raw.solved_at !== undefined) update.solvedAt = parseTimestamp(raw.solved_at, 'solved_at');
  return update;
}
