import {
  CreatedSourceSchema,
  ErrorBodySchema,
  IngestResponseSchema,
  type CreatedSource,
  type ErrorBody,
  type IngestResponse,
} from '@retain/contracts';
import type { TestDatabase } from './test-database.js';
import { freePort, runRetain, waitUntilUp, type RetainProcess } from './retain-process.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Starts the built server on `databaseUrl` (default: the test database) without demo data. */
export async function startRetain(
  db: TestDatabase,
  options: { databaseUrl?: string; port?: number; env?: Record<string, string | undefined> } = {},
): Promise<RetainProcess> {
  const retain = runRetain(
    { DATABASE_URL: options.databaseUrl ?? db.url, DEMO_DATA: 'false', LOG_LEVEL: 'warn', ...options.env },
    options.port ?? (await freePort()),
  );
  await waitUntilUp(retain);
  return retain;
}

/** POST /api/sources with `api` (a fetch that authenticates): a new source and its write key. */
export async function createSource(api: typeof fetch, baseUrl: string, name: string): Promise<CreatedSource> {
  const res = await api(`${baseUrl}/api/sources`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (res.status !== 201) throw new Error(`POST /api/sources answered ${res.status}: ${await res.text()}`);
  return CreatedSourceSchema.parse(await res.json());
}

/** How a raw request carries its write key. */
export type KeyPlacement = 'basic' | 'header' | 'body' | 'none';

export interface IngestCall {
  key?: string;
  via?: KeyPlacement;
  /** A JSON value (the write key is added for via 'body'), or raw bytes sent as they are. */
  body: unknown;
  raw?: boolean;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

export interface IngestAnswer {
  status: number;
  headers: Headers;
  /** The parsed JSON body (or the text, when it is not JSON). */
  body: unknown;
}

export const basicAuth = (key: string) => `Basic ${Buffer.from(`${key}:`).toString('base64')}`;

/** One request to a /v1 route, with the write key where `via` says. */
export async function postIngest(baseUrl: string, path: string, call: IngestCall): Promise<IngestAnswer> {
  const via = call.via ?? 'header';
  const headers: Record<string, string> = { 'content-type': 'application/json', ...call.headers };
  if (call.key !== undefined && via === 'basic') headers.authorization = basicAuth(call.key);
  if (call.key !== undefined && via === 'header') headers['x-write-key'] = call.key;
  let payload: string | Uint8Array;
  if (call.raw) payload = call.body as string | Uint8Array;
  else {
    const value =
      via === 'body' && call.key !== undefined ? { ...(call.body as object), writeKey: call.key } : call.body;
    payload = JSON.stringify(value);
  }
  const res = await fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers,
    body: payload,
    signal: AbortSignal.timeout(call.timeoutMs ?? 20_000),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON; kept as text
  }
  return { status: res.status, headers: res.headers, body };
}

/** The 200 answer of a /v1 route, checked against its contract. */
export function ingestResponse(answer: IngestAnswer): IngestResponse {
  if (answer.status !== 200)
    throw new Error(`expected 200, got ${answer.status}: ${JSON.stringify(answer.body)}`);
  return IngestResponseSchema.parse(answer.body);
}

/** The error body of a failed call, checked against its contract. */
export function errorBody(answer: IngestAnswer): ErrorBody {
  return ErrorBodySchema.parse(answer.body);
}

export interface TrackItem {
  type: 'track';
  event: string;
  userId: string;
  messageId?: string;
  properties?: Record<string, unknown>;
  timestamp?: string;
}

/** A valid track message. */
export const track = (messageId: string, extra: Partial<TrackItem> = {}): TrackItem => ({
  type: 'track',
  event: 'Test Event',
  userId: 'user-1',
  messageId,
  properties: { n: 1 },
  ...extra,
});

/** Rows of a table, counted. */
export async function countRows(db: TestDatabase, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await db.query<{ n: string }>(`SELECT count(*) AS n FROM (${sql}) AS t`, params))[0]!.n);
}

/** The stored message ids, sorted. */
export async function storedMessageIds(db: TestDatabase, where = 'true', params: unknown[] = []) {
  return (
    await db.query<{ message_id: string }>(
      `SELECT message_id FROM events WHERE ${where} ORDER BY message_id COLLATE "C"`,
      params,
    )
  ).map((r) => r.message_id);
}
