import zlib from 'node:zlib';
import Rudder from '@rudderstack/rudder-sdk-node';
import { Analytics as SegmentAnalytics } from '@segment/analytics-node';
import { Analytics as SegmentAnalytics2 } from 'segment-analytics-node-2';

/**
 * The three SDKs the ingest API is tested with, behind one SDK-neutral interface:
 * Segment 3.x (Basic auth + writeKey in the body), Segment 2.x (writeKey in the body only),
 * RudderStack (Basic auth only, gzip body).
 */

/** One SDK call, in SDK-neutral terms. */
export type Call =
  | { type: 'identify'; userId: string; traits: Record<string, unknown> }
  | { type: 'group'; userId: string; groupId: string; traits: Record<string, unknown> }
  | { type: 'track'; userId: string; event: string; properties: Record<string, unknown> }
  | {
      type: 'page';
      userId: string;
      name: string;
      category: string;
      properties: Record<string, unknown>;
    }
  | { type: 'screen'; userId: string; name: string; properties: Record<string, unknown> };

export interface SdkRun {
  /** messageIds of the messages the SDK sent, as it reports them. */
  messageIds: string[];
  /** One entry per call whose delivery failed. */
  errors: string[];
  /** Requests as the SDK reports them (Segment SDKs only). */
  requests: { headers: Record<string, string>; body: string }[];
  /** Response statuses as the SDK reports them (Segment 3.x only). */
  statuses: number[];
}

export interface SdkDriver {
  label: string;
  /** Sends every call, flushes and resolves once each call's delivery callback has run. */
  send(baseUrl: string, writeKey: string, calls: Call[]): Promise<SdkRun>;
}

export const NO_MESSAGE_ID = '(none)';

type SegmentCallback = (err?: unknown, ctx?: { event: { messageId?: string } }) => void;

/** The surface both Segment SDK versions share. */
interface SegmentLike {
  identify(p: { userId: string; traits: Record<string, unknown> }, cb: SegmentCallback): void;
  group(p: { userId: string; groupId: string; traits: Record<string, unknown> }, cb: SegmentCallback): void;
  track(p: { userId: string; event: string; properties: Record<string, unknown> }, cb: SegmentCallback): void;
  page(
    p: { userId: string; name: string; category: string; properties: Record<string, unknown> },
    cb: SegmentCallback,
  ): void;
  screen(p: { userId: string; name: string; properties: Record<string, unknown> }, cb: SegmentCallback): void;
  closeAndFlush(options?: { timeout?: number }): Promise<void>;
}

async function sendWithSegment(
  analytics: SegmentLike,
  calls: Call[],
  run: SdkRun,
  closeTimeoutMs = 20_000,
): Promise<SdkRun> {
  const delivered = calls.map(
    (call) =>
      new Promise<void>((resolve) => {
        const cb: SegmentCallback = (err, ctx) => {
          run.messageIds.push(ctx?.event.messageId ?? NO_MESSAGE_ID);
          if (err) run.errors.push(String(err));
          resolve();
        };
        const { type, ...params } = call;
        switch (type) {
          case 'identify':
            return analytics.identify(params as Extract<Call, { type: 'identify' }>, cb);
          case 'group':
            return analytics.group(params as Extract<Call, { type: 'group' }>, cb);
          case 'track':
            return analytics.track(params as Extract<Call, { type: 'track' }>, cb);
          case 'page':
            return analytics.page(params as Extract<Call, { type: 'page' }>, cb);
          case 'screen':
            return analytics.screen(params as Extract<Call, { type: 'screen' }>, cb);
        }
      }),
  );
  await analytics.closeAndFlush({ timeout: closeTimeoutMs });
  await Promise.all(delivered);
  return run;
}

const emptyRun = (): SdkRun => ({ messageIds: [], errors: [], requests: [], statuses: [] });

/**
 * flushAt above the number of calls and a long flushInterval: everything goes in one batch at
 * closeAndFlush, so the group call is stored before (in the same commit as) the tracks.
 */
export const segmentCurrent: SdkDriver = {
  label: '@segment/analytics-node 3.x',
  send: (baseUrl, writeKey, calls) => {
    const analytics = new SegmentAnalytics({
      writeKey,
      host: baseUrl,
      path: '/v1/batch',
      flushAt: 100,
      flushInterval: 60_000,
      maxRetries: 2,
    });
    const run = emptyRun();
    analytics.on('http_request', (r) => run.requests.push({ headers: r.headers, body: r.body }));
    analytics.on('http_response', (r) => run.statuses.push(r.status));
    return sendWithSegment(analytics as unknown as SegmentLike, calls, run);
  },
};

/** 2.x sends the write key only as `writeKey` in the body, and retries 4xx answers (backoff 25 ms-1 s). */
export const segment2: SdkDriver = {
  label: '@segment/analytics-node 2.x',
  send: (baseUrl, writeKey, calls) => {
    const analytics = new SegmentAnalytics2({
      writeKey,
      host: baseUrl,
      path: '/v1/batch',
      flushAt: 100,
      flushInterval: 60_000,
      maxRetries: 2,
    });
    const run = emptyRun();
    analytics.on('http_request', (r) => run.requests.push({ headers: r.headers, body: r.body }));
    return sendWithSegment(analytics as unknown as SegmentLike, calls, run);
  },
};

/** The batch a Rudder callback is given: the gzip body it sent (or the object, without gzip). */
function rudderMessageIds(data: unknown): string[] {
  let batch: unknown = data;
  if (Buffer.isBuffer(data)) batch = JSON.parse(zlib.gunzipSync(data).toString('utf8'));
  const items = (batch as { batch?: { messageId?: string }[] } | undefined)?.batch ?? [];
  return items.map((m) => m.messageId ?? NO_MESSAGE_ID);
}

/**
 * Rudder sends the key as the Basic-auth username only, gzips the body, and posts it with axios
 * (Content-Type application/x-www-form-urlencoded for a Buffer). Its first call is flushed on its
 * own at once; flush() sends the rest after it, in order.
 */
export const rudder: SdkDriver = {
  label: '@rudderstack/rudder-sdk-node 3.x',
  send: async (baseUrl, writeKey, calls) => {
    const run = emptyRun();
    const client = new Rudder(writeKey, {
      dataPlaneUrl: baseUrl,
      flushAt: 100,
      flushInterval: 60_000,
      retryCount: 2,
      axiosRetryConfig: { retryDelay: () => 50 },
      logLevel: 'none',
      errorHandler: () => undefined,
    });
    const ids = new Set<string>();
    const delivered = calls.map(
      (call) =>
        new Promise<void>((resolve) => {
          const cb = (err?: Error, data?: unknown) => {
            for (const id of rudderMessageIds(data)) ids.add(id);
            if (err) run.errors.push(String(err));
            resolve();
          };
          const { type, ...params } = call;
          switch (type) {
            case 'identify':
              client.identify(params as Extract<Call, { type: 'identify' }> as Rudder.IdentifyParams, cb);
              break;
            case 'group':
              client.group(params as Extract<Call, { type: 'group' }> as Rudder.GroupParams, cb);
              break;
            case 'track':
              client.track(params as Extract<Call, { type: 'track' }> as Rudder.TrackParams, cb);
              break;
            case 'page':
              client.page(params as Extract<Call, { type: 'page' }> as Rudder.PageParams, cb);
              break;
            case 'screen':
              client.screen(params as Extract<Call, { type: 'screen' }> as Rudder.ScreenParams, cb);
              break;
          }
        }),
    );
    await client.flush();
    await Promise.all(delivered);
    run.messageIds = [...ids];
    return run;
  },
};
