import 'reflect-metadata';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import pg from 'pg';
import {
  ACCOUNT_SORT_DEFAULT_ORDER,
  AccountListSchema,
  BASE_SEGMENTS,
  IngestResponseSchema,
} from '@retain/contracts';
import { positiveInt, positiveNumber } from '../cli/cli-options.js';
import { bearer, createSource, writeKeyAuth } from './bench-auth.js';
import { createBenchApiToken, fmt, openBenchDatabase, redacted } from './bench-database.js';
import { buildBenchEvents } from './bench-events.js';
import { httpRequest, type Answer } from './bench-http.js';
import { Cleanup, freePort, procStatusKb, runBench, spawnServer, waitUntilUp } from './bench-process.js';

/**
 * `npm run bench:soak`: steady ingest and dashboard reads against one server for --minutes, to see
 * that throughput, errors, latency and memory hold over time. Starts the built server on loopback
 * against a fresh database with a small demo data set and the analytics schedule at every minute,
 * waits for the first analytics run, then paces --senders clients posting Segment batches to
 * /v1/batch at --rate events/s and --readers clients cycling through the dashboard's endpoints at
 * --read-rate requests/s. Prints one row per --interval seconds, then totals, a check of the events
 * stored against those accepted, and server memory after warm-up against the end.
 * With --json the last line of stdout is one JSON object with the totals and the series.
 * Exits 1 when an event was lost or stored twice, or a request failed other than with 429 (busy).
 */

const say = (message: string): void => void process.stderr.write(`${message}\n`);
const out = (line: string): void => void process.stdout.write(`${line}\n`);

const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432/postgres';
const ANALYTICS_CRON = '* * * * *';
/** Memory is compared from the first interval after this long (or after the first third, if sooner). */
const WARM_UP_SECONDS = 60;
/** Memory is flat when it grew by at most this share of the warm-up RSS plus a fixed margin. */
const FLAT_GROWTH_PCT = 10;
const FLAT_MARGIN_MIB = 16;
const REQUEST_TIMEOUT_MS = 30_000;
const MAX_INGEST_ATTEMPTS = 5;
const MAX_PROBLEMS = 10;
const MIB = 1024 * 1024;

/** Preloaded into the server: its heap once a second on stderr, cheap enough to leave running. */
const MEMORY_MARK = '@@retain-soak-memory';
const MEMORY_REPORT = `setInterval(() => {
  const m = process.memoryUsage();
  process.stderr.write('${MEMORY_MARK} ' + JSON.stringify({ heapUsed: m.heapUsed }) + '\\n');
}, 1000).unref();`;

interface Options {
  minutes: number;
  interval: number;
  rate: number;
  batch: number;
  senders: number;
  readRate: number;
  readers: number;
  accounts: number;
  keep?: boolean;
  json?: boolean;
}

const program = new Command()
  .name('bench:soak')
  .description('Steady ingest and dashboard reads for a few minutes: throughput, errors, latency, memory')
  .option('--minutes <n>', 'length of the load', positiveNumber('--minutes'), 3)
  .option('--interval <s>', 'seconds per row of the time series', positiveInt('--interval'), 10)
  .option('--rate <n>', 'events per second sent to /v1/batch', positiveInt('--rate'), 2_000)
  .option('--batch <n>', 'events per batch', positiveInt('--batch'), 100)
  .option('--senders <n>', 'concurrent ingest clients', positiveInt('--senders'), 4)
  .option('--read-rate <n>', 'dashboard requests per second', positiveNumber('--read-rate'), 20)
  .option('--readers <n>', 'concurrent dashboard clients', positiveInt('--readers'), 4)
  .option('--accounts <n>', 'demo accounts loaded at start', positiveInt('--accounts'), 300)
  .option('--keep', 'keep the database and the data directory afterwards')
  .option('--json', 'print the result as one JSON object on the last line of stdout');

interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Counts over one interval, or over the whole run. */
class Tally {
  eventsSent = 0;
  eventsAccepted = 0;
  duplicates = 0;
  rejected = 0;
  reads = 0;
  busy = 0;
  client = 0;
  server = 0;
  network = 0;
  readonly ingestMs: number[] = [];
  readonly readMs: number[] = [];
}

interface Sample {
  elapsedS: number;
  sentPerSec: number;
  acceptedPerSec: number;
  readsPerSec: number;
  errors: { client: number; server: number; network: number };
  ingestMs: Percentiles;
  readMs: Percentiles;
  rssMb: number | null;
  heapMb: number | null;
  analyticsRuns: number;
  analyticsFailed: number;
}

const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** Nearest-rank percentiles; zeros when nothing was measured. */
function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p95: 0, p99: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
  return { p50: at(50), p95: at(95), p99: at(99) };
}

/**
 * Runs `task` `rate` times a second from `workers` clients until `endAt`: each start has its slot
 * on a fixed schedule, so a slow answer delays only its own client, and late clients catch up.
 */
async function paced(
  rate: number,
  workers: number,
  endAt: number,
  stopped: () => boolean,
  task: () => Promise<void>,
): Promise<void> {
  const step = 1000 / rate;
  const start = performance.now();
  let slot = 0;
  const worker = async () => {
    for (;;) {
      const due = start + slot++ * step;
      if (due >= endAt || stopped()) return;
      await sleep(due - performance.now());
      if (stopped()) return;
      await task();
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
}

/** A page's requests as the dashboard makes them; account pages and segments rotate per cycle. */
type ReadPath = (account: number, segment: string) => string;
const list = (filters: string) =>
  `/api/accounts?${filters}${filters ? '&' : ''}sort=churn_risk&order=${ACCOUNT_SORT_DEFAULT_ORDER.churn_risk}&limit=25&offset=0`;
const READS: readonly ReadPath[] = [
  () => '/api/overview',
  () => '/api/trends?by=segment&weeks=12',
  () => '/api/support/matrix',
  () => '/api/support/trends?by=channel&weeks=26',
  () => '/api/support/comments?limit=20',
  () => list(''),
  (_a, segment) => list(`segment=${segment}`),
  (account) => `/api/accounts/${account}`,
  (account) => `/api/accounts/${account}/activity?weeks=26`,
  (account) => `/api/accounts/${account}/tickets?limit=10&offset=0`,
  (_a, segment) => `/api/segment-summary/${segment}`,
  () => '/api/jobs/analytics/runs',
];

const pad = (text: string, width: number) => text.padStart(width);
const ms = (n: number) => (n < 10 ? n.toFixed(1) : fmt(n));
const triple = (p: Percentiles) => `${ms(p.p50)}/${ms(p.p95)}/${ms(p.p99)}`;
const mib = (n: number | null) => (n === null ? 'n/a' : n.toFixed(1));

const HEADER =
  `${pad('elapsed', 8)} ${pad('sent/s', 8)} ${pad('accepted/s', 10)} ${pad('reads/s', 7)} ` +
  `${pad('4xx', 5)} ${pad('5xx', 5)} ${pad('net', 5)} ${pad('ingest ms p50/p95/p99', 22)} ` +
  `${pad('read ms p50/p95/p99', 22)} ${pad('RSS MiB', 8)} ${pad('heap MiB', 8)}  runs`;

const row = (s: Sample) =>
  `${pad(`${fmt(s.elapsedS)} s`, 8)} ${pad(fmt(s.sentPerSec), 8)} ${pad(fmt(s.acceptedPerSec), 10)} ` +
  `${pad(s.readsPerSec.toFixed(1), 7)} ${pad(fmt(s.errors.client), 5)} ${pad(fmt(s.errors.server), 5)} ` +
  `${pad(fmt(s.errors.network), 5)} ${pad(triple(s.ingestMs), 22)} ${pad(triple(s.readMs), 22)} ` +
  `${pad(mib(s.rssMb), 8)} ${pad(mib(s.heapMb), 8)}  ${s.analyticsRuns}` +
  (s.analyticsFailed > 0 ? ` (+${s.analyticsFailed} failed)` : '');

async function analyticsRuns(db: pg.Client): Promise<{ succeeded: number; failed: number }> {
  const { rows } = await db.query<{ succeeded: number; failed: number }>(
    `SELECT count(*) FILTER (WHERE status = 'succeeded')::int AS succeeded,
            count(*) FILTER (WHERE status = 'failed')::int AS failed
     FROM analytics_runs`,
  );
  return rows[0]!;
}

/** The server's first run starts as it comes up (no results yet); the dashboards need its results. */
async function firstAnalyticsRun(db: pg.Client, timeoutMs: number): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    const { rows } = await db.query<{ status: string; error: string | null }>(
      'SELECT status, error FROM analytics_runs ORDER BY id DESC LIMIT 1',
    );
    if (rows[0]?.status === 'succeeded') return (performance.now() - started) / 1000;
    if (rows[0]?.status === 'failed') throw new Error(`The first analytics run failed: ${rows[0].error}`);
    await sleep(500);
  }
  throw new Error(`No analytics run succeeded within ${timeoutMs / 1000} s`);
}

async function run(options: Options, cleanup: Cleanup): Promise<number> {
  const durationMs = options.minutes * 60_000;
  const intervalMs = options.interval * 1000;

  // The benchmark's database lives on DATABASE_URL's server, by default the local PostgreSQL.
  process.env.DATABASE_URL ??= DEFAULT_SERVER_URL;
  // With --keep the drop step goes to a list that is never run.
  const { benchUrl } = await openBenchDatabase('retain_soak', options.keep ? new Cleanup(say) : cleanup, say);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-soak-'));
  if (!options.keep)
    cleanup.add(`remove ${dataDir}`, async () => fs.rmSync(dataDir, { recursive: true, force: true }));

  const db = new pg.Client({ connectionString: benchUrl, application_name: 'retain-bench' });
  db.on('error', () => undefined);
  await db.connect();
  cleanup.add('close bench connection', () => db.end());

  // 1. The server, as `npm start` runs it, loading the demo data before it listens.
  const port = await freePort();
  let heapBytes: number | null = null;
  let serverLines = 0;
  const server = spawnServer(
    {
      DATABASE_URL: benchUrl,
      DATA_DIR: dataDir,
      DEMO_DATA: 'true',
      DEMO_ACCOUNTS: String(options.accounts),
      ANALYTICS_CRON,
      LOG_LEVEL: 'warn',
    },
    port,
    [`--import=data:text/javascript,${encodeURIComponent(MEMORY_REPORT)}`],
    (line) => {
      if (line.startsWith(MEMORY_MARK)) {
        try {
          heapBytes = (JSON.parse(line.slice(MEMORY_MARK.length + 1)) as { heapUsed: number }).heapUsed;
        } catch {
          // a line split across reads; the next one comes within a second
        }
        return;
      }
      serverLines++;
      say(`  [server] ${line}`);
    },
  );
  cleanup.add('stop server', () => server.stop());
  say(`Starting the server on ${server.baseUrl} with ${fmt(options.accounts)} demo accounts ...`);
  const bootStarted = performance.now();
  await waitUntilUp(server, 15 * 60_000);
  const bootSeconds = (performance.now() - bootStarted) / 1000;

  // 2. Credentials: an admin API token for /api, a source's write key for /v1.
  const token = await createBenchApiToken(benchUrl, cleanup);
  const source = await createSource(server.baseUrl, token, 'soak benchmark');
  const firstRunSeconds = await firstAnalyticsRun(db, 15 * 60_000);
  const baseline = await analyticsRuns(db);
  const { rows: demo } = await db.query<{ accounts: number; events: number; tickets: number }>(
    `SELECT (SELECT count(*)::int FROM accounts) AS accounts, (SELECT count(*)::int FROM events) AS events,
            (SELECT count(*)::int FROM tickets) AS tickets`,
  );
  say(
    `Server pid ${server.pid} up in ${bootSeconds.toFixed(1)} s: ${fmt(demo[0]!.accounts)} accounts, ` +
      `${fmt(demo[0]!.events)} events, ${fmt(demo[0]!.tickets)} tickets; first analytics run done ` +
      `${firstRunSeconds.toFixed(1)} s later; source ${source.id}`,
  );
  const auth = bearer(token);
  const accountsRes = await fetch(`${server.baseUrl}${list('').replace('limit=25', 'limit=50')}`, {
    headers: auth,
  });
  if (!accountsRes.ok) throw new Error(`GET /api/accounts answered ${accountsRes.status}`);
  const accountIds = AccountListSchema.parse(await accountsRes.json()).rows.map((r) => r.id);
  if (accountIds.length === 0) throw new Error('The demo data set has no scored accounts');

  // 3. The load.
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.senders + options.readers });
  let stopped = false;
  let serverDied = false;
  cleanup.add('stop the load', async () => {
    stopped = true;
    agent.destroy();
  });
  void server.exited.then(() => {
    if (!stopped) serverDied = true;
    stopped = true;
  });

  const total = new Tally();
  let window = new Tally();
  const both = (record: (t: Tally) => void) => {
    record(total);
    record(window);
  };
  const countStatus = (t: Tally, status: number) => {
    if (status >= 500) t.server++;
    else if (status >= 400) t.client++;
    if (status === 429) t.busy++;
  };
  const problems = new Map<string, number>();
  const note = (problem: string) => {
    const key = problem.slice(0, 300);
    if (problems.has(key) || problems.size < MAX_PROBLEMS) problems.set(key, (problems.get(key) ?? 0) + 1);
  };
  const writeAuth = writeKeyAuth(source.writeKey);

  let batchNumber = 0;
  const sendBatch = async (): Promise<void> => {
    // A new seed per batch: new message ids, so any duplicate the server reports is a real one.
    const seed = ++batchNumber;
    const body = buildBenchEvents({
      events: options.batch,
      batch: options.batch,
      sourceId: source.id,
      seed,
    }).bodies[0]!;
    both((t) => (t.eventsSent += options.batch));
    for (let attempt = 1; attempt <= MAX_INGEST_ATTEMPTS && !stopped; attempt++) {
      const sent = performance.now();
      let answer: Answer;
      try {
        answer = await httpRequest(agent, {
          port,
          method: 'POST',
          path: '/v1/batch',
          headers: writeAuth,
          body,
          timeoutMs: REQUEST_TIMEOUT_MS,
        });
      } catch (error) {
        if (stopped) return;
        both((t) => t.network++);
        note(`POST /v1/batch: ${(error as Error).message}`);
        await sleep(200);
        continue;
      }
      const took = performance.now() - sent;
      both((t) => {
        t.ingestMs.push(took);
        countStatus(t, answer.status);
      });
      if (answer.status === 429 || answer.status === 503) {
        const seconds = Number(answer.retryAfter);
        await sleep(Number.isFinite(seconds) && seconds > 0 ? Math.min(seconds, 5) * 1000 : 1000);
        continue;
      }
      if (answer.status !== 200) {
        note(`POST /v1/batch: HTTP ${answer.status} ${answer.text}`);
        return;
      }
      const parsed = IngestResponseSchema.safeParse(parseJson(answer.text));
      if (!parsed.success) {
        note(`POST /v1/batch: unexpected answer ${answer.text}`);
        return;
      }
      const { accepted, duplicates, rejected } = parsed.data;
      both((t) => {
        t.eventsAccepted += accepted;
        t.duplicates += duplicates;
        t.rejected += rejected;
      });
      if (rejected > 0) note(`POST /v1/batch: ${rejected} rejected: ${JSON.stringify(parsed.data.errors)}`);
      return;
    }
    if (!stopped) note(`POST /v1/batch: given up after ${MAX_INGEST_ATTEMPTS} attempts`);
  };

  let readNumber = 0;
  const readOnce = async (): Promise<void> => {
    const n = readNumber++;
    const cycle = Math.floor(n / READS.length);
    const pathname = READS[n % READS.length]!(
      accountIds[cycle % accountIds.length]!,
      BASE_SEGMENTS[cycle % BASE_SEGMENTS.length]!,
    );
    const sent = performance.now();
    let answer: Answer;
    try {
      answer = await httpRequest(agent, {
        port,
        method: 'GET',
        path: pathname,
        headers: auth,
        timeoutMs: REQUEST_TIMEOUT_MS,
      });
    } catch (error) {
      if (!stopped) {
        both((t) => t.network++);
        note(`GET ${pathname}: ${(error as Error).message}`);
      }
      return;
    }
    const took = performance.now() - sent;
    both((t) => {
      t.reads++;
      t.readMs.push(took);
      countStatus(t, answer.status);
    });
    if (answer.status !== 200) note(`GET ${pathname.split('?')[0]}: HTTP ${answer.status} ${answer.text}`);
  };

  const series: Sample[] = [];
  const start = performance.now();
  let lastSampleAt = start;
  const takeSample = async (): Promise<Sample> => {
    const now = performance.now();
    const spanS = (now - lastSampleAt) / 1000;
    lastSampleAt = now;
    const t = window;
    window = new Tally();
    const rssKb = procStatusKb(server.pid, 'VmRSS');
    const heap = heapBytes;
    const runs = await analyticsRuns(db);
    const sample: Sample = {
      elapsedS: round((now - start) / 1000),
      sentPerSec: t.eventsSent / spanS,
      acceptedPerSec: t.eventsAccepted / spanS,
      readsPerSec: t.reads / spanS,
      errors: { client: t.client, server: t.server, network: t.network },
      ingestMs: percentiles(t.ingestMs),
      readMs: percentiles(t.readMs),
      rssMb: rssKb === null ? null : rssKb / 1024,
      heapMb: heap === null ? null : heap / MIB,
      analyticsRuns: runs.succeeded - baseline.succeeded,
      analyticsFailed: runs.failed - baseline.failed,
    };
    series.push(sample);
    out(row(sample));
    return sample;
  };

  out('');
  out(
    `bench:soak: ${options.minutes} min on ${os.availableParallelism()} cores; ingest ${fmt(options.rate)} events/s ` +
      `in batches of ${options.batch} from ${options.senders} clients; ${options.readRate} dashboard reads/s ` +
      `from ${options.readers} clients over ${READS.length} endpoints`,
  );
  out(
    `Analytics: scheduled by the server every minute (ANALYTICS_CRON="${ANALYTICS_CRON}"); "runs" counts ` +
      'the runs completed since the load began.',
  );
  out('');
  out(HEADER);
  const endAt = start + durationMs;
  const load = Promise.all([
    paced(options.rate / options.batch, options.senders, endAt, () => stopped, sendBatch),
    paced(options.readRate, options.readers, endAt, () => stopped, readOnce),
  ]);
  for (let tick = 1; tick * intervalMs < durationMs && !stopped; tick++) {
    await Promise.race([sleep(start + tick * intervalMs - performance.now()), server.exited]);
    if (stopped) break;
    await takeSample();
  }
  await load;
  if (serverDied) throw new Error(`The server exited during the load:\n${server.output().slice(-4000)}`);
  await takeSample();
  const peakKb = procStatusKb(server.pid, 'VmHWM');

  // 4. Every accepted event stored, once.
  const { rows: stored } = await db.query<{ n: number; distinct: number }>(
    'SELECT count(*)::int AS n, count(DISTINCT message_id)::int AS distinct FROM events WHERE source_id = $1',
    [source.id],
  );
  const eventsStored = stored[0]!.n;
  const storedTwice = eventsStored - stored[0]!.distinct;
  const lossless = eventsStored === total.eventsAccepted && total.eventsAccepted === total.eventsSent;
  const noDuplicates = total.duplicates === 0 && storedTwice === 0;

  // 5. Memory: after warm-up against the end.
  const warmUpS = Math.min(WARM_UP_SECONDS, durationMs / 3000);
  const warm = series.find((s) => s.elapsedS >= warmUpS) ?? series[0]!;
  const last = series[series.length - 1]!;
  const growthMb = warm.rssMb !== null && last.rssMb !== null ? last.rssMb - warm.rssMb : null;
  const growthPct = growthMb !== null && warm.rssMb ? (100 * growthMb) / warm.rssMb : null;
  const allowedMb = warm.rssMb === null ? null : (FLAT_GROWTH_PCT / 100) * warm.rssMb + FLAT_MARGIN_MIB;
  const memoryFlat = growthMb === null || allowedMb === null ? null : growthMb <= allowedMb;

  const elapsedS = (performance.now() - start) / 1000;
  const ingest = percentiles(total.ingestMs);
  const read = percentiles(total.readMs);
  const runs = last.analyticsRuns;
  const failedRuns = last.analyticsFailed;
  const failedRequests = total.client - total.busy + total.server + total.network;
  const lines = [
    '',
    `Totals over ${elapsedS.toFixed(0)} s: events sent ${fmt(total.eventsSent)} (${fmt(total.eventsSent / elapsedS)}/s), ` +
      `accepted ${fmt(total.eventsAccepted)}, duplicates reported ${fmt(total.duplicates)}, ` +
      `rejected ${fmt(total.rejected)}; dashboard reads ${fmt(total.reads)} (${(total.reads / elapsedS).toFixed(1)}/s)`,
    `Errors: 4xx ${fmt(total.client)} (of which 429 busy ${fmt(total.busy)}, retried), 5xx ${fmt(total.server)}, ` +
      `network ${fmt(total.network)}`,
    `Latency, whole run: ingest p50/p95/p99 ${triple(ingest)} ms (${fmt(total.ingestMs.length)} requests), ` +
      `reads ${triple(read)} ms`,
    `Analytics runs completed during the load: ${runs}${failedRuns > 0 ? `, ${failedRuns} FAILED` : ''}`,
    `Stored: ${fmt(eventsStored)} rows in events from this source for ${fmt(total.eventsAccepted)} accepted ` +
      `(${fmt(storedTwice)} message ids twice): ${lossless ? 'no loss' : 'EVENTS LOST OR NOT SENT'}, ` +
      `${noDuplicates ? 'no duplicates' : 'DUPLICATES'}`,
    '',
    `Memory (server RSS, sampled at each row's end): ${mib(warm.rssMb)} MiB after warm-up (at ${fmt(warm.elapsedS)} s) ` +
      `-> ${mib(last.rssMb)} MiB at the end (${fmt(last.elapsedS)} s): ` +
      (growthMb === null || growthPct === null
        ? 'n/a'
        : `${growthMb >= 0 ? '+' : ''}${growthMb.toFixed(1)} MiB (${growthPct >= 0 ? '+' : ''}${growthPct.toFixed(1)}%)`) +
      `; peak ${peakKb === null ? 'n/a' : `${(peakKb / 1024).toFixed(1)} MiB`}; ` +
      `heap used ${mib(warm.heapMb)} -> ${mib(last.heapMb)} MiB`,
    `  Rule: flat when the growth is at most ${FLAT_GROWTH_PCT}% of the warm-up RSS + ${FLAT_MARGIN_MIB} MiB` +
      (allowedMb === null ? '' : ` (here ${allowedMb.toFixed(1)} MiB)`) +
      `; warm-up is the first row at or after ${fmt(warmUpS)} s (${WARM_UP_SECONDS} s, or a third of the run if shorter).`,
    `  Verdict: memory ${memoryFlat === null ? 'not measured (no /proc)' : memoryFlat ? 'FLAT' : 'GROWING'}` +
      (warm === last
        ? ' (the run is too short to compare two rows)'
        : warmUpS < WARM_UP_SECONDS
          ? ` (a run under ${(3 * WARM_UP_SECONDS) / 60} minutes compares before the heap may have settled; ` +
            'use more --minutes for a verdict to rely on)'
          : ''),
  ];
  if (serverLines > 0)
    lines.push(`Server warnings and errors logged: ${fmt(serverLines)} lines (shown above).`);
  for (const [problem, count] of problems) lines.push(`  problem (x${fmt(count)}): ${problem}`);
  if (options.keep) lines.push(`Kept: database ${redacted(benchUrl)}, data directory ${dataDir}`);
  const ok = lossless && noDuplicates && failedRequests === 0;
  if (!ok) lines.push('FAILED: events were lost or stored twice, or requests failed; see above.');
  for (const line of lines) out(line);

  if (options.json) {
    const result = {
      minutes: options.minutes,
      rate: options.rate,
      readRate: options.readRate,
      eventsSent: total.eventsSent,
      eventsAccepted: total.eventsAccepted,
      eventsStored,
      duplicates: total.duplicates + storedTwice,
      reads: total.reads,
      errors: { client: total.client, server: total.server, network: total.network, busy: total.busy },
      ingestP50Ms: round(ingest.p50, 2),
      ingestP95Ms: round(ingest.p95, 2),
      ingestP99Ms: round(ingest.p99, 2),
      readP50Ms: round(read.p50, 2),
      readP95Ms: round(read.p95, 2),
      readP99Ms: round(read.p99, 2),
      analyticsRuns: runs,
      analyticsFailed: failedRuns,
      rssStartMb: warm.rssMb === null ? null : round(warm.rssMb),
      rssEndMb: last.rssMb === null ? null : round(last.rssMb),
      rssGrowthMb: growthMb === null ? null : round(growthMb),
      rssGrowthPct: growthPct === null ? null : round(growthPct),
      rssPeakMb: peakKb === null ? null : round(peakKb / 1024),
      memoryFlat,
      series: series.map((s) => ({
        elapsedS: s.elapsedS,
        sentPerSec: round(s.sentPerSec),
        acceptedPerSec: round(s.acceptedPerSec),
        readsPerSec: round(s.readsPerSec),
        errors: s.errors,
        ingestP50Ms: round(s.ingestMs.p50, 2),
        ingestP95Ms: round(s.ingestMs.p95, 2),
        ingestP99Ms: round(s.ingestMs.p99, 2),
        readP50Ms: round(s.readMs.p50, 2),
        readP95Ms: round(s.readMs.p95, 2),
        readP99Ms: round(s.readMs.p99, 2),
        rssMb: s.rssMb === null ? null : round(s.rssMb),
        heapMb: s.heapMb === null ? null : round(s.heapMb),
        analyticsRuns: s.analyticsRuns,
      })),
    };
    out(JSON.stringify(result));
  }
  return ok ? 0 : 1;
}

void runBench('bench:soak', say, (cleanup) => run(program.parse(process.argv).opts<Options>(), cleanup));
