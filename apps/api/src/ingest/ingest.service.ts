import { Inject, Injectable } from '@nestjs/common';
import type { IngestResponse } from '@retain/contracts';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import type { RejectedItemRow } from '../rejected-items/rejected-items.sql.js';
import { SourcesService } from '../sources/sources.service.js';
import { readBody } from './ingest-body.js';
import { IngestLimiter } from './ingest-limiter.js';
import { IngestRepository, type ContactUpsert } from './ingest.repository.js';
import {
  parseMessage,
  type AliasMessage,
  type EventMessage,
  type GroupMessage,
  type IdentifyMessage,
  type MessageType,
  type ParseOptions,
} from './segment-messages.js';

/** Segment's own limits: 512 KB per request (inflated), 2,500 messages per batch. */
export const MAX_BODY_BYTES = 512 * 1024;
export const MAX_BATCH_ITEMS = 2_500;

export interface IngestRoute {
  /** Set by /v1/track, /v1/identify, ...: the body is one message of this type. */
  type?: MessageType;
  /** /v1/import: historical loads; a missing messageId is derived from the content. */
  historical?: boolean;
}

export interface IngestRequest {
  headers: Record<string, string | string[] | undefined>;
}

const header = (req: IngestRequest, name: string): string | undefined => {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The write key from `Authorization: Basic` (as username) or `X-Write-Key`; null when neither is sent. */
export function writeKeyFromHeaders(req: IngestRequest): string | null {
  const auth = header(req, 'authorization');
  if (auth && /^basic\s+/i.test(auth)) {
    const decoded = Buffer.from(auth.replace(/^basic\s+/i, '').trim(), 'base64').toString('utf8');
    const user = decoded.split(':')[0]!.trim();
    if (user) return user;
  }
  const key = header(req, 'x-write-key')?.trim();
  return key ? key : null;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function invalidBody(message: string, path = 'body'): AppException {
  return new AppException(ErrorCode.ValidationFailed, message, { fields: [{ path, message }] });
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw invalidBody('Body is empty; send a JSON object');
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw invalidBody(`Body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * The Segment HTTP tracking API: authenticates the write key, validates every message on its own,
 * stores the valid ones in one commit and keeps the refused ones with their reason.
 */
@Injectable()
export class IngestService {
  private readonly limiter: IngestLimiter;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly sources: SourcesService,
    private readonly repository: IngestRepository,
  ) {
    this.limiter = new IngestLimiter(config.ingest.concurrency, config.ingest.queueLimit);
  }

  async ingest(req: IngestRequest & NodeJS.ReadableStream, route: IngestRoute): Promise<IngestResponse> {
    const headerKey = writeKeyFromHeaders(req);
    // A key in a header is checked before the body is read, so a wrong key costs us nothing.
    const headerSource = headerKey === null ? null : await this.authenticate(headerKey);
    return this.limiter.run(async () => {
      const body = parseJson(await readBody(req as never, MAX_BODY_BYTES));
      if (!isObject(body)) throw invalidBody('Body must be a JSON object');
      const sourceId = headerSource ?? (await this.authenticate(body.writeKey));
      return this.store(sourceId, body, route);
    });
  }

  private async authenticate(key: unknown): Promise<number> {
    if (typeof key !== 'string' || key.trim() === '') {
      throw new AppException(
        ErrorCode.Unauthorized,
        'Missing write key: send it as the Basic-auth username, an X-Write-Key header or writeKey in the body',
      );
    }
    const sourceId = await this.sources.authenticate(key.trim());
    if (sourceId === null) throw new AppException(ErrorCode.Unauthorized, 'Unknown or revoked write key');
    return sourceId;
  }

  private async store(
    sourceId: number,
    body: Record<string, unknown>,
    route: IngestRoute,
  ): Promise<IngestResponse> {
    const items = route.type ? [body] : this.batchItems(body);
    const options: ParseOptions = {
      type: route.type,
      missingId: route.historical ? 'content' : 'random',
      receivedAt: new Date(),
      context: !route.type && isObject(body.context) ? body.context : undefined,
    };

    const events: EventMessage[] = [];
    const people: (IdentifyMessage | GroupMessage)[] = [];
    const groups: GroupMessage[] = [];
    const aliases: AliasMessage[] = [];
    const rejected: RejectedItemRow[] = [];
    const errors: IngestResponse['errors'] = [];
    const seen = new Set<string>();
    let repeats = 0;

    items.forEach((item, index) => {
      const { message, rejection } = parseMessage(item, index, options);
      if (rejection) {
        errors.push(rejection.error);
        rejected.push({
          kind: 'message',
          sourceId,
          importId: null,
          index,
          line: null,
          itemId: rejection.error.messageId,
          code: rejection.error.code,
          message: rejection.error.message,
          payload: rejection.payload,
        });
        return;
      }
      switch (message.type) {
        case 'identify':
          people.push(message);
          break;
        case 'group':
          groups.push(message);
          if (message.userId) people.push(message);
          break;
        case 'alias':
          aliases.push(message);
          break;
        default:
          // The same messageId twice in one batch is a duplicate too, like a retry across batches.
          if (seen.has(message.messageId)) repeats++;
          else {
            seen.add(message.messageId);
            events.push(message);
          }
      }
    });

    const inserted = await this.repository.write({
      sourceId,
      events,
      groups: mergeGroups(groups),
      contacts: mergeContacts(people),
      aliases,
      rejected,
    });
    const duplicates = repeats + events.length - inserted;
    return {
      received: items.length,
      accepted: items.length - rejected.length - duplicates,
      duplicates,
      rejected: rejected.length,
      errors,
    };
  }

  private batchItems(body: Record<string, unknown>): unknown[] {
    const batch = body.batch;
    if (!Array.isArray(batch)) throw invalidBody('batch: must be an array of messages', 'batch');
    if (batch.length > MAX_BATCH_ITEMS) {
      throw invalidBody(
        `batch: ${batch.length} messages is over the limit of ${MAX_BATCH_ITEMS} per request; split it`,
        'batch',
      );
    }
    return batch;
  }
}

const byTime = <T extends { timestamp: string; index: number }>(a: T, b: T) =>
  a.timestamp < b.timestamp ? -1 : a.timestamp > b.timestamp ? 1 : a.index - b.index;

/** Several group calls for one account in a batch become one, later values winning. */
function mergeGroups(groups: GroupMessage[]): GroupMessage[] {
  const merged = new Map<string, GroupMessage>();
  for (const g of [...groups].sort(byTime)) {
    const before = merged.get(g.groupId);
    if (!before) {
      merged.set(g.groupId, g);
      continue;
    }
    const account = { ...before.account };
    for (const [key, value] of Object.entries(g.account) as [keyof typeof account, never][])
      if (value !== null) account[key] = value;
    merged.set(g.groupId, { ...g, account, traits: { ...before.traits, ...g.traits } });
  }
  return [...merged.values()];
}

/** Identify calls (and group calls that place a user in an account) merged per contact, in time order. */
function mergeContacts(messages: (IdentifyMessage | GroupMessage)[]): ContactUpsert[] {
  const merged = new Map<string, ContactUpsert>();
  for (const m of [...messages].sort(byTime)) {
    const externalId = m.userId!;
    const c = merged.get(externalId) ?? {
      externalId,
      email: null,
      name: null,
      accountExternalId: null,
      traits: {},
      at: m.timestamp,
    };
    if (m.type === 'identify') {
      c.email = m.email ?? c.email;
      c.name = m.name ?? c.name;
      c.accountExternalId = m.groupId ?? c.accountExternalId;
      c.traits = { ...c.traits, ...m.traits };
    } else {
      c.accountExternalId = m.groupId;
    }
    c.at = m.timestamp;
    merged.set(externalId, c);
  }
  return [...merged.values()];
}
