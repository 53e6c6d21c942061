import { copyRow, copyText } from '../database/copy-text.js';

/** Columns the COPY baseline fills: the ones a track message gives the events table. */
export const COPY_COLUMNS = [
  'message_id',
  'source_id',
  'user_id',
  'group_id',
  'type',
  'name',
  'timestamp',
  'properties',
];

export interface BenchEventsOptions {
  events: number;
  batch: number;
  sourceId: number;
  users?: number;
  accounts?: number;
  seed?: number;
}

/** Everything both load paths send, built before any clock starts. */
export interface BenchEvents {
  /** One `POST /v1/batch` body per batch. */
  bodies: Buffer[];
  /** Messages in each body. */
  sizes: number[];
  /** The same rows in COPY text format, in ~256 KB chunks. */
  copyChunks: Buffer[];
  /** Bytes of the serialized messages alone (no batch envelope). */
  messageBytes: number;
  copyBytes: number;
}

/** mulberry32: small, fast and the same numbers on every run. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PLANS = ['starter', 'growth', 'business', 'enterprise'];
const BROWSERS = ['Chrome', 'Firefox', 'Safari', 'Edge'];
const BASE_TIME = Date.UTC(2025, 5, 1);
const SPAN_MS = 90 * 24 * 3600 * 1000;

type Props = (r: () => number, pick: <T>(list: readonly T[]) => T) => Record<string, unknown>;

/** Product events a B2B SaaS tracks, each with properties of its own shape. */
const EVENTS: readonly { name: string; props: Props }[] = [
  {
    name: 'Dashboard Viewed',
    props: (r, pick) => ({
      dashboardId: `dash_${Math.floor(r() * 500)}`,
      widgets: 1 + Math.floor(r() * 12),
      path: pick(['/home', '/dashboards/overview', '/dashboards/team', '/dashboards/revenue']),
      loadMs: Math.floor(r() * 2400),
    }),
  },
  {
    name: 'Report Exported',
    props: (r, pick) => ({
      reportId: `rep_${Math.floor(r() * 2000)}`,
      format: pick(['csv', 'xlsx', 'pdf']),
      rows: Math.floor(r() * 50_000),
      durationMs: Math.floor(r() * 9000),
    }),
  },
  {
    name: 'Feature Used',
    props: (r, pick) => ({
      feature: pick(['segments', 'playbooks', 'health_scores', 'alerts', 'notes', 'timeline']),
      action: pick(['open', 'create', 'update', 'share']),
      count: 1 + Math.floor(r() * 5),
    }),
  },
  {
    name: 'Integration Connected',
    props: (r, pick) => ({
      integration: pick(['salesforce', 'hubspot', 'zendesk', 'slack', 'intercom']),
      firstTime: r() < 0.3,
      setupSeconds: Math.floor(r() * 600),
    }),
  },
  {
    name: 'Seat Invited',
    props: (r, pick) => ({
      role: pick(['admin', 'member', 'viewer']),
      invitedCount: 1 + Math.floor(r() * 4),
      via: pick(['email', 'link', 'sso']),
    }),
  },
  {
    name: 'Search Performed',
    props: (r, pick) => ({
      query: pick(['churn risk', 'renewal q3', 'nps detractors', 'expansion', 'onboarding stuck']),
      results: Math.floor(r() * 300),
      latencyMs: Math.floor(r() * 800),
    }),
  },
];

const hex = (n: number, width: number) => n.toString(16).padStart(width, '0').slice(-width);

/**
 * Segment track messages for `users` users in `accounts` accounts, the same on every run, as
 * request bodies and as COPY text of the very same rows.
 */
export function buildBenchEvents(options: BenchEventsOptions): BenchEvents {
  const users = options.users ?? 10_000;
  const accounts = options.accounts ?? 1_000;
  const r = random(options.seed ?? 42);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
  const sentAt = new Date(BASE_TIME + SPAN_MS).toISOString();
  const source = String(options.sourceId);

  const bodies: Buffer[] = [];
  const sizes: number[] = [];
  const copyChunks: Buffer[] = [];
  let copyBuffer = '';
  let messageBytes = 0;
  let copyBytes = 0;

  for (let start = 0; start < options.events; start += options.batch) {
    const count = Math.min(options.batch, options.events - start);
    const messages: string[] = new Array<string>(count);
    for (let k = 0; k < count; k++) {
      const i = start + k;
      const user = Math.floor(r() * users);
      const userId = `user_${String(user).padStart(6, '0')}`;
      const groupId = `acct_${String(user % accounts).padStart(5, '0')}`;
      const kind = pick(EVENTS);
      const messageId = `${hex(Math.floor(r() * 0xffffffff), 8)}-${hex(Math.floor(r() * 0xffff), 4)}-4${hex(
        Math.floor(r() * 0xfff),
        3,
      )}-a${hex(Math.floor(r() * 0xfff), 3)}-${hex(i, 12)}`;
      const timestamp = new Date(BASE_TIME + Math.floor(r() * SPAN_MS)).toISOString();
      const properties = { ...kind.props(r, pick), plan: pick(PLANS) };
      const json = JSON.stringify({
        type: 'track',
        messageId,
        userId,
        event: kind.name,
        timestamp,
        properties,
        context: {
          groupId,
          library: { name: 'analytics-node', version: '2.1.0' },
          userAgent: pick(BROWSERS),
        },
      });
      messages[k] = json;
      messageBytes += json.length;
      copyBuffer += copyRow([
        copyText(messageId),
        source,
        copyText(userId),
        copyText(groupId),
        'track',
        copyText(kind.name),
        timestamp,
        copyText(JSON.stringify(properties)),
      ]);
      if (copyBuffer.length >= 262_144) {
        const chunk = Buffer.from(copyBuffer);
        copyBytes += chunk.length;
        copyChunks.push(chunk);
        copyBuffer = '';
      }
    }
    bodies.push(Buffer.from(`{"batch":[${messages.join(',')}],"sentAt":"${sentAt}"}`));
    sizes.push(count);
  }
  if (copyBuffer.length > 0) {
    const chunk = Buffer.from(copyBuffer);
    copyBytes += chunk.length;
    copyChunks.push(chunk);
  }
  return { bodies, sizes, copyChunks, messageBytes, copyBytes };
}
