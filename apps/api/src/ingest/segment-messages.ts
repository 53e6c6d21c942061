import { storableJson } from '../common/hostile-input.js';
import { createHash, randomUUID } from 'node:crypto';
import type { ItemError, ItemErrorCode } from '@retain/contracts';
import { RowFieldError, parseTimestamp } from '../imports/record-parsers.js';

/** Per-item limit on the serialized message, as Segment's tracking API has. */
export const MAX_ITEM_BYTES = 32 * 1024;
/** Clock skew tolerated for timestamps in the future. */
const FUTURE_SLACK_MS = 24 * 3600 * 1000;
const MAX_ID_LENGTH = 255;
const MAX_NAME_LENGTH = 512;
/**
 * JSON escapes PostgreSQL's jsonb refuses: NUL, and the unpaired UTF-16 surrogates JSON.stringify
 * escapes (it writes valid pairs as characters). A real escape follows an odd run of backslashes;
 * "\\u0000" in JSON is an escaped backslash and the text "u0000", which is fine.
 */
const JSONB_UNSAFE = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f][0-9a-f]{2})/i;

export type EventType = 'track' | 'page' | 'screen';
export type MessageType = EventType | 'identify' | 'group' | 'alias';
const TYPES = new Set<string>(['track', 'page', 'screen', 'identify', 'group', 'alias']);

interface Base {
  index: number;
  messageId: string;
  /** ISO 8601, validated. */
  timestamp: string;
}
export interface EventMessage extends Base {
  type: EventType;
  name: string;
  userId: string | null;
  anonymousId: string | null;
  groupId: string | null;
  /** The properties as JSON text, ready for jsonb. */
  properties: string;
}
export interface IdentifyMessage extends Base {
  type: 'identify';
  userId: string;
  groupId: string | null;
  email: string | null;
  name: string | null;
  traits: Record<string, unknown>;
}
/** Account columns Retain reads from group traits; other traits are kept as they are. */
export interface GroupAccount {
  name: string | null;
  plan: string | null;
  mrr: number | null;
  seats: number | null;
  employees: number | null;
  region: string | null;
  owner: string | null;
  createdAt: string | null;
  churnedAt: string | null;
}
export interface GroupMessage extends Base {
  type: 'group';
  groupId: string;
  userId: string | null;
  account: GroupAccount;
  traits: Record<string, unknown>;
}
export interface AliasMessage extends Base {
  type: 'alias';
  userId: string;
  previousId: string;
}
export type Message = EventMessage | IdentifyMessage | GroupMessage | AliasMessage;

/** A refused item: the error for the answer and the raw item to keep. */
export interface Rejection {
  error: ItemError;
  payload: string;
}

export interface ParseOptions {
  /** Forced by single-message routes (/v1/track ...); batch items carry their own. */
  type?: MessageType;
  /** Live routes make a random id; /v1/import derives one from the content so a re-import dedupes. */
  missingId: 'random' | 'content';
  receivedAt: Date;
  /** Batch-level context merged under each item's own (Segment's batch `context`). */
  context?: Record<string, unknown>;
}

class ItemProblem extends Error {
  constructor(
    readonly code: ItemErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function optionalObject(item: Record<string, unknown>, field: string): Record<string, unknown> {
  const value = item[field];
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw new ItemProblem('INVALID_FIELD', `${field}: must be an object`);
  return value;
}

/** userId, groupId, ...: strings or numbers (SDKs send both), not empty, no NUL. */
function identifier(value: unknown, field: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string')
    throw new ItemProblem('INVALID_FIELD', `${field}: must be a string or a number`);
  const trimmed = value.trim();
  if (trimmed.length === 0) return null;
  if (trimmed.length > MAX_ID_LENGTH)
    throw new ItemProblem('INVALID_FIELD', `${field}: must be at most ${MAX_ID_LENGTH} characters`);
  if (trimmed.includes('\0'))
    throw new ItemProblem('INVALID_FIELD', `${field}: must not contain NUL characters`);
  return trimmed;
}

function text(value: unknown, field: string, max = MAX_NAME_LENGTH): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new ItemProblem('INVALID_FIELD', `${field}: must be a string`);
  if (value.length > max)
    throw new ItemProblem('INVALID_FIELD', `${field}: must be at most ${max} characters`);
  if (value.includes('\0'))
    throw new ItemProblem('INVALID_FIELD', `${field}: must not contain NUL characters`);
  return value;
}

const CANONICAL_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function timestamp(value: unknown, receivedAt: Date, field = 'timestamp'): string {
  // SDKs send Date#toISOString(): when it reads back the same, it is a real instant; keep the string.
  if (typeof value === 'string' && value.length === 24 && CANONICAL_ISO.test(value)) {
    const time = Date.parse(value);
    if (time <= receivedAt.getTime() + FUTURE_SLACK_MS && new Date(time).toISOString() === value && time >= 0)
      return value;
  }
  if (value === undefined || value === null) return receivedAt.toISOString();
  let time: number;
  try {
    // The same strict reading as file imports: 2026-02-30 is an error, not 2 March.
    time = parseTimestamp(value, field).getTime();
  } catch (error) {
    if (!(error instanceof RowFieldError)) throw error;
    throw new ItemProblem('INVALID_TIMESTAMP', error.message);
  }
  if (time > receivedAt.getTime() + FUTURE_SLACK_MS) {
    throw new ItemProblem(
      'INVALID_TIMESTAMP',
      `${field}: ${JSON.stringify(value)} is more than a day ahead of the server clock`,
    );
  }
  return new Date(time).toISOString();
}

/**
 * The JSON Retain stores for properties or traits. The 32 KB limit per message is counted on it:
 * it is what a message costs to keep, and checking it needs no second serialization.
 */
function jsonText(value: Record<string, unknown>, field: string): string {
  const json = JSON.stringify(value);
  if (json.length * 3 > MAX_ITEM_BYTES) {
    const bytes = Buffer.byteLength(json);
    if (bytes > MAX_ITEM_BYTES)
      throw new ItemProblem(
        'ITEM_TOO_LARGE',
        `${field}: ${Math.ceil(bytes / 1024)} KB is over the ${MAX_ITEM_BYTES / 1024} KB limit per message`,
      );
  }
  if (JSONB_UNSAFE.test(json))
    throw new ItemProblem('INVALID_FIELD', `${field}: contains a NUL character or invalid Unicode`);
  return json;
}

function contentId(item: Record<string, unknown>): string {
  const { messageId: _m, sentAt: _s, receivedAt: _r, writeKey: _w, ...content } = item;
  return `h-${createHash('sha256').update(JSON.stringify(content)).digest('hex').slice(0, 32)}`;
}

/** Checks one Segment message and turns it into what Retain stores; never throws. */
export function parseMessage(
  raw: unknown,
  index: number,
  options: ParseOptions,
): { message: Message; rejection?: undefined } | { message?: undefined; rejection: Rejection } {
  let messageId: string | null = null;
  try {
    if (!isObject(raw)) throw new ItemProblem('INVALID_FIELD', 'item: must be a JSON object');
    messageId = identifier(raw.messageId, 'messageId');
    const type = options.type ?? raw.type;
    if (typeof type !== 'string' || !TYPES.has(type)) {
      throw new ItemProblem(
        'UNSUPPORTED_TYPE',
        `type: ${JSON.stringify(type ?? null)} is not one of track, page, screen, identify, group, alias`,
      );
    }
    const id = messageId ?? (options.missingId === 'content' ? contentId(raw) : `gen-${randomUUID()}`);
    return { message: toMessage(raw, type as MessageType, id, index, options) };
  } catch (error) {
    // A value nested deep enough to overflow JSON.stringify is this item's fault, not the server's.
    const problem =
      error instanceof RangeError ? new ItemProblem('INVALID_FIELD', 'item: nested too deeply') : error;
    if (!(problem instanceof ItemProblem)) throw error;
    const payload = storableJson(raw) ?? 'undefined';
    return {
      rejection: { error: { index, messageId, code: problem.code, message: problem.message }, payload },
    };
  }
}

function toMessage(
  item: Record<string, unknown>,
  type: MessageType,
  messageId: string,
  index: number,
  options: ParseOptions,
): Message {
  const context = { ...options.context, ...optionalObject(item, 'context') };
  const userId = identifier(item.userId, 'userId');
  const anonymousId = identifier(item.anonymousId, 'anonymousId');
  const at = timestamp(item.timestamp ?? item.originalTimestamp, options.receivedAt);

  switch (type) {
    case 'alias': {
      const previousId = identifier(item.previousId, 'previousId');
      if (!userId || !previousId)
        throw new ItemProblem('MISSING_IDENTITY', 'alias: needs both userId and previousId');
      return { index, messageId, timestamp: at, type, userId, previousId };
    }
    case 'group': {
      const groupId = identifier(item.groupId, 'groupId');
      if (!groupId) throw new ItemProblem('MISSING_FIELD', 'groupId: required for group');
      if (!userId && !anonymousId)
        throw new ItemProblem('MISSING_IDENTITY', 'userId or anonymousId: one is required');
      const traits = optionalObject(item, 'traits');
      jsonText(traits, 'traits');
      return {
        index,
        messageId,
        timestamp: at,
        type,
        groupId,
        userId,
        ...groupAccount(traits, options.receivedAt),
      };
    }
    case 'identify': {
      if (!userId) {
        throw new ItemProblem(
          'MISSING_IDENTITY',
          anonymousId
            ? 'userId: identify needs a userId; traits of anonymous visitors are not stored'
            : 'userId or anonymousId: one is required',
        );
      }
      const traits = { ...optionalObject(context, 'traits'), ...optionalObject(item, 'traits') };
      jsonText(traits, 'traits');
      const email = typeof traits.email === 'string' ? text(traits.email, 'traits.email', 320) : null;
      const fullName =
        typeof traits.name === 'string'
          ? traits.name
          : [traits.firstName, traits.lastName].filter((p) => typeof p === 'string' && p).join(' ') || null;
      return {
        index,
        messageId,
        timestamp: at,
        type,
        userId,
        groupId: identifier(context.groupId ?? traits.groupId ?? traits.company_id, 'context.groupId'),
        email,
        name: text(fullName, 'traits.name'),
        traits,
      };
    }
    default: {
      if (!userId && !anonymousId)
        throw new ItemProblem('MISSING_IDENTITY', 'userId or anonymousId: one is required');
      const properties = optionalObject(item, 'properties');
      let name: string | null;
      if (type === 'track') {
        name = text(item.event, 'event');
        if (!name || !name.trim()) throw new ItemProblem('MISSING_FIELD', 'event: required for track');
      } else {
        name = text(item.name ?? properties.name ?? properties.path ?? '', 'name') ?? '';
      }
      const props =
        type !== 'track' && typeof item.category === 'string' && properties.category === undefined
          ? { ...properties, category: item.category }
          : properties;
      const groupId = identifier(
        context.groupId ??
          properties.groupId ??
          properties.accountId ??
          properties.account_id ??
          item.groupId,
        'context.groupId',
      );
      return {
        index,
        messageId,
        timestamp: at,
        type,
        name,
        userId,
        anonymousId,
        groupId,
        properties: jsonText(props, 'properties'),
      };
    }
  }
}

/** Takes a trait out of `rest` under any of its spellings (Segment's camelCase, CSV-style snake_case). */
function take(rest: Record<string, unknown>, ...keys: string[]): unknown {
  let found: unknown = undefined;
  for (const key of keys) {
    if (key in rest) {
      found ??= rest[key];
      delete rest[key];
    }
  }
  return found;
}

function amount(value: unknown, field: string, integer: boolean): number | null {
  if (value === undefined || value === null || value === '') return null;
  const n = typeof value === 'string' ? Number(value.trim()) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
    throw new ItemProblem(
      'INVALID_FIELD',
      `${field}: must be ${integer ? 'a whole number' : 'a number'} of 0 or more`,
    );
  if (integer && n > 2_147_483_647) throw new ItemProblem('INVALID_FIELD', `${field}: is too large`);
  if (!integer && n >= 1e12) throw new ItemProblem('INVALID_FIELD', `${field}: is too large`);
  return n;
}

function optionalTime(value: unknown, field: string, receivedAt: Date): string | null {
  if (value === undefined || value === null || value === '') return null;
  try {
    return timestamp(value, receivedAt);
  } catch {
    throw new ItemProblem(
      'INVALID_TIMESTAMP',
      `${field}: ${JSON.stringify(value)} is not an ISO 8601 date-time`,
    );
  }
}

function groupAccount(
  traits: Record<string, unknown>,
  receivedAt: Date,
): { account: GroupAccount; traits: Record<string, unknown> } {
  const rest = { ...traits };
  const str = (field: string, ...keys: string[]) => {
    const value = take(rest, ...keys);
    if (typeof value === 'number') return String(value);
    return text(value === '' ? null : value, `traits.${field}`);
  };
  const account: GroupAccount = {
    name: str('name', 'name', 'company_name'),
    plan: str('plan', 'plan'),
    mrr: amount(take(rest, 'mrr', 'monthlySpend', 'monthly_spend'), 'traits.mrr', false),
    seats: amount(take(rest, 'seats'), 'traits.seats', true),
    employees: amount(take(rest, 'employees'), 'traits.employees', true),
    region: str('region', 'region'),
    owner: str('owner', 'owner', 'accountManager', 'account_manager'),
    createdAt: optionalTime(take(rest, 'createdAt', 'created_at'), 'traits.createdAt', receivedAt),
    churnedAt: optionalTime(take(rest, 'churnedAt', 'churned_at'), 'traits.churnedAt', receivedAt),
  };
  return { account, traits: rest };
}
