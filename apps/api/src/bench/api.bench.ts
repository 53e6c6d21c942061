import 'reflect-metadata';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { positiveInt, positiveNumber } from '../cli/cli-options.js';
import pg from 'pg';
import {
  ACCOUNT_SORT_DEFAULT_ORDER,
  AccountListSchema,
  OwnerListSchema,
  SupportCommentsSchema,
  type AccountSort,
  type AnalyticsRun,
} from '@retain/contracts';
import { runCli, type CliRun } from './analytics-cli.js';
import { checkpoint, createBenchApiToken, fmt, openBenchDatabase } from './bench-database.js';
import {
  Cleanup,
  freePort,
  machineBusySeconds,
  postgresCpuSeconds,
  processCpuSeconds,
  spawnServer,
  waitUntilUp,
  runBench,
} from './bench-process.js';

/**
 * `npm run bench:api`: the dashboard's read endpoints under load. Generates S x 10,000 accounts
 * over 180 days of demo data (about S x 10 million events) in a fresh database, runs the analytics
 * job once (both untimed), starts the built server, then sends each endpoint's request from
 * --connections concurrent clients (autocannon, in this process) for --duration seconds, after one
 * untimed request (shown as "first": it computes the run's cached aggregates when it has any) and
 * a short warm-up. Latencies are every response's, measured by autocannon from send to last byte.
 * With --json the last line of stdout is `{ endpoints: [{ path, p50Ms, p95Ms, p99Ms, rps }] }`.
 * With --database-url it measures that database as it is instead (to compare changes on the same data).
 */

const say = (message: string): void => void process.stderr.write(`${message}\n`);

const GOAL_P95_MS = 100;
/** Rows per page of the dashboard's account lists. */
const PAGE = 25;
const WARM_UP_SECONDS = 1;

/** What this file uses of autocannon (it ships no types). */
interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  timeout?: number;
  headers?: Record<string, string>;
}
interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
}
interface AutocannonInstance {
  on(event: 'response', listener: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  stop(): void;
}
type Autocannon = (
  options: AutocannonOptions,
  done: (error: Error | null, result: AutocannonResult) => void,
) => AutocannonInstance;
const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

interface Options {
  scale: number;
  accounts?: number;
  days: number;
  seed?: number;
  connections: number;
  duration: number;
  only?: string;
  json?: boolean;
  databaseUrl?: string;
}

const program = new Command()
  .name('bench:api')
  .description("Latency and throughput of the dashboard's read endpoints under concurrent clients")
  .option('--scale <s>', 'demo size: S x 10,000 accounts', positiveNumber('--scale'), 1)
  .option('--accounts <n>', 'accounts (overrides --scale)', positiveInt('--accounts'))
  .option('--days <n>', 'days of history', positiveInt('--days'), 180)
  .option('--seed <n>', 'demo data seed (default: DEMO_SEED)', positiveInt('--seed'))
  .option('--connections <n>', 'concurrent clients', positiveInt('--connections'), 50)
  .option('--duration <s>', 'seconds of load per endpoint', positiveInt('--duration'), 10)
  .option('--only <text>', 'only the endpoints whose path contains this text')
  .option('--json', 'print the result as one JSON object on the last line of stdout')
  .option(
    '--database-url <url>',
    'measure this database as it is (demo data and a succeeded analytics run in it already): ' +
      'nothing is generated, and it is kept',
  );

/** One endpoint as a dashboard page requests it. */
interface Endpoint {
  page: string;
  path: string;
}

interface EndpointResult extends Endpoint {
  firstMs: number;
  responses: number;
  failed: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  rps: number;
  /** Busy CPU of processes other than the server, PostgreSQL and this bench, as a share of the machine. */
  otherShare: number | null;
}

interface DemoSummary {
  accounts: number;
  contacts: number;
  events: number;
  tickets: number;
}

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** The q-th quantile (0-1) of ascending `sorted`, by linear interpolation between ranks. */
function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = (sorted.length - 1) * q;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** Runs autocannon against one URL; resolves with every response's latency and the counts. */
function load(
  url: string,
  headers: Record<string, string>,
  connections: number,
  seconds: number,
): Promise<{ latencies: number[]; failed: number; elapsedS: number }> {
  return new Promise((resolve, reject) => {
    const latencies: number[] = [];
    let failed = 0;
    const started = performance.now();
    const instance = autocannon(
      { url, headers, connections, duration: seconds, timeout: 30 },
      (error, result) => {
        if (error) reject(error);
        else
          resolve({
            latencies,
            failed: failed + result.errors + result.timeouts,
            elapsedS: (performance.now() - started) / 1000,
          });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
      else failed++;
    });
  });
}

/** Demo data and one analytics run in the fresh database, then statistics as autovacuum would leave them. */
async function generate(
  options: Options,
  cli: (label: string, args: string[]) => Promise<CliRun>,
  db: pg.Client,
): Promise<DemoSummary> {
  const accounts = options.accounts ?? Math.max(1, Math.round(options.scale * 10_000));
  say(`Generating demo data: ${fmt(accounts)} accounts x ${options.days} days ...`);
  const demoArgs = ['demo:generate', '--accounts', String(accounts), '--days', String(options.days)];
  if (options.seed) demoArgs.push('--seed', String(options.seed));
  const demo = (await cli('demo', demoArgs)).result as DemoSummary | null;
  if (!demo || typeof demo.events !== 'number') throw new Error('demo:generate printed no summary');
  say(
    `Demo data: ${fmt(demo.accounts)} accounts, ${fmt(demo.contacts)} contacts, ${fmt(demo.events)} events, ` +
      `${fmt(demo.tickets)} tickets`,
  );
  // As autovacuum would have by the time a real install serves its dashboard.
  say('VACUUM ANALYZE (untimed) ...');
  await db.query('VACUUM ANALYZE events, tickets, contacts, accounts');
  say('Analytics run (untimed) ...');
  const analytics = (await cli('analytics', ['analytics:run'])).result as AnalyticsRun | null;
  if (analytics?.status !== 'succeeded')
    throw new Error(`The analytics run did not succeed: ${analytics?.error}`);
  await db.query(
    'VACUUM ANALYZE account_scores, account_list_keys, account_activity_weeks, account_score_history, ' +
      'support_metrics, segment_movements',
  );
  await checkpoint(db);
  return demo;
}

/** What a database given with --database-url holds; it must have been analysed already. */
async function existingData(db: pg.Client): Promise<DemoSummary> {
  const { rows } = await db.query<DemoSummary & { runs: number }>(
    `SELECT (SELECT count(*)::int FROM accounts) AS accounts, (SELECT count(*)::int FROM contacts) AS contacts,
            (SELECT count(*)::int FROM events) AS events, (SELECT count(*)::int FROM tickets) AS tickets,
            (SELECT count(*)::int FROM account_scores) AS runs`,
  );
  const { runs, ...summary } = rows[0]!;
  if (runs === 0) throw new Error('The database has no analytics results: run analytics:run first');
  say(
    `Existing data: ${fmt(summary.accounts)} accounts, ${fmt(summary.events)} events, ${fmt(summary.tickets)} tickets`,
  );
  return summary;
}

async function run(options: Options, cleanup: Cleanup): Promise<number> {
  const cores = os.availableParallelism();
  const benchUrl =
    options.databaseUrl ?? (await openBenchDatabase('retain_bench_api', cleanup, say)).benchUrl;

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-bench-api-'));
  cleanup.add(`remove ${dataDir}`, async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    say(`Removed ${dataDir}`);
  });

  const db = new pg.Client({ connectionString: benchUrl, application_name: 'retain-bench' });
  db.on('error', () => undefined);
  await db.connect();
  cleanup.add('close bench connection', () => db.end());

  const env: Record<string, string> = {
    DATABASE_URL: benchUrl,
    DATA_DIR: dataDir,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
    // No scheduled run during the measurement: a run's work would be measured as the API's.
    ANALYTICS_CRON: '0 0 1 1 *',
  };
  const cli = async (label: string, args: string[]): Promise<CliRun> => {
    const child = runCli(args, env, (line) => say(`  [${label}] ${line}`));
    cleanup.add(`stop ${label}`, () => child.stop());
    const result = await child.done;
    if (result.code !== 0)
      throw new Error(
        `${args.join(' ')} exited with ${result.code ?? result.signal}:\n${result.output.slice(-4000)}`,
      );
    return result;
  };

  // 1. Demo data and one analytics run (untimed), unless the database given holds them already.
  const demo = options.databaseUrl ? await existingData(db) : await generate(options, cli, db);
  // 2. The server, as `npm start` runs it.
  const port = await freePort();
  const server = spawnServer(env, port, [], (line) => {
    if (/error/i.test(line)) say(`  [server] ${line}`);
  });
  cleanup.add('stop server', () => server.stop());
  await waitUntilUp(server);
  const base = server.baseUrl;
  // Every request as an admin's script sends it: the API answers 401 without a token or session.
  const headers = { authorization: `Bearer ${await createBenchApiToken(benchUrl, cleanup)}` };
  const fetchJson = async (p: string): Promise<unknown> => {
    const res = await fetch(`${base}${p}`, { headers });
    if (!res.ok) throw new Error(`${p}: ${res.status} ${await res.text()}`);
    return res.json();
  };

  // 3. What the pages request: the account page opens the riskiest enterprise account, "my accounts"
  //    is the owner with the most accounts, the comments' second page follows the first's cursor.
  const riskiest = AccountListSchema.parse(await fetchJson('/api/accounts?tier=enterprise&limit=1')).rows[0];
  if (!riskiest) throw new Error('no enterprise account to open');
  const owners = OwnerListSchema.parse(await fetchJson('/api/owners')).owners;
  const owner = [...owners].sort((a, b) => b.accounts - a.accounts)[0]?.owner;
  const cursor = SupportCommentsSchema.parse(await fetchJson('/api/support/comments?limit=20')).nextBefore;
  const { rows: events } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM events WHERE account_id = $1`,
    [riskiest.id],
  );
  say(`Account page: account ${riskiest.id} (${riskiest.name}, ${fmt(events[0]!.n)} events)`);

  const id = riskiest.id;
  // As the dashboard's lists ask: 25 rows a page, sort and order spelled out.
  const list = (filters: string, sort: AccountSort = 'churn_risk', offset = 0) =>
    `/api/accounts?${filters}&sort=${sort}&order=${ACCOUNT_SORT_DEFAULT_ORDER[sort]}` +
    `&limit=${PAGE}&offset=${offset}`;
  const endpoints: Endpoint[] = [
    { page: 'Overview', path: '/api/overview' },
    { page: 'Overview', path: '/api/trends?by=segment&weeks=12' },
    { page: 'Overview', path: '/api/support/matrix' },
    { page: 'Segment', path: '/api/segment-summary/smb-novice' },
    { page: 'Segment', path: list('segment=smb-novice') },
    { page: 'Segment', path: list('segment=smb-novice', 'days_since_last_seen', 1000) },
    { page: 'Enterprise', path: list('tier=enterprise') },
    ...(owner
      ? [{ page: 'Enterprise', path: list(`tier=enterprise&owner=${encodeURIComponent(owner)}`) }]
      : []),
    { page: 'Enterprise', path: list('tier=enterprise&riskBand=high', 'mrr') },
    { page: 'Enterprise', path: '/api/owners' },
    { page: 'Accounts', path: list('q=cloud') },
    { page: 'Account', path: `/api/accounts/${id}` },
    { page: 'Account', path: `/api/accounts/${id}/activity?weeks=26` },
    { page: 'Account', path: `/api/accounts/${id}/tickets?limit=10&offset=0` },
    { page: 'Support', path: '/api/support/trends?by=channel&weeks=26' },
    { page: 'Support', path: '/api/support/comments?limit=20' },
    ...(cursor
      ? [{ page: 'Support', path: `/api/support/comments?limit=20&before=${encodeURIComponent(cursor)}` }]
      : []),
    { page: 'Support', path: '/api/support/comments?segment=enterprise-novice&satisfied=false&limit=20' },
    { page: 'Jobs', path: '/api/jobs/analytics/runs' },
  ].filter((e) => !options.only || e.path.includes(options.only));

  // 4. Each endpoint under load.
  const results: EndpointResult[] = [];
  for (const endpoint of endpoints) {
    const url = `${base}${endpoint.path}`;
    const first = performance.now();
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${endpoint.path}: ${res.status}`);
    const firstMs = performance.now() - first;
    await load(url, headers, options.connections, WARM_UP_SECONDS);

    const machine = machineBusySeconds();
    const postgres = postgresCpuSeconds();
    const serverCpu = processCpuSeconds(server.pid);
    const bench = process.cpuUsage();
    const measured = await load(url, headers, options.connections, options.duration);
    const machineNow = machineBusySeconds();
    const serverNow = processCpuSeconds(server.pid);
    const benchUsed = process.cpuUsage(bench);
    const ours =
      (serverNow ?? 0) -
      (serverCpu ?? 0) +
      postgresCpuSeconds() -
      postgres +
      (benchUsed.user + benchUsed.system) / 1e6;
    const otherShare =
      machine === null || machineNow === null
        ? null
        : Math.max(0, machineNow - machine - ours) / (cores * measured.elapsedS);

    const sorted = measured.latencies.sort((a, b) => a - b);
    const result: EndpointResult = {
      ...endpoint,
      firstMs,
      responses: sorted.length,
      failed: measured.failed,
      p50Ms: quantile(sorted, 0.5),
      p95Ms: quantile(sorted, 0.95),
      p99Ms: quantile(sorted, 0.99),
      rps: sorted.length / measured.elapsedS,
      otherShare,
    };
    results.push(result);
    say(
      `  ${endpoint.path}: p50 ${result.p50Ms.toFixed(1)} ms, p95 ${result.p95Ms.toFixed(1)} ms, ` +
        `p99 ${result.p99Ms.toFixed(1)} ms, ${fmt(result.rps)} req/s` +
        (result.failed > 0 ? `, ${fmt(result.failed)} failed` : ''),
    );
  }

  // 5. Report.
  const width = Math.max(...results.map((r) => r.path.length), 4);
  const met = results.filter((r) => r.p95Ms <= GOAL_P95_MS && r.failed === 0).length;
  const busiest = Math.max(0, ...results.map((r) => r.otherShare ?? 0));
  const lines = [
    '',
    `bench:api: ${fmt(demo.accounts)} accounts, ${fmt(demo.events)} events, ${fmt(demo.tickets)} tickets; ` +
      `${options.connections} concurrent clients, ${options.duration} s per endpoint; ${cores} cores`,
    '',
    `${'page'.padEnd(10)} ${'path'.padEnd(width)} ${'first ms'.padStart(8)} ${'p50 ms'.padStart(7)} ` +
      `${'p95 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'req/s'.padStart(7)} ${'failed'.padStart(6)}  p95 <= ${GOAL_P95_MS} ms`,
    ...results.map(
      (r) =>
        `${r.page.padEnd(10)} ${r.path.padEnd(width)} ${r.firstMs.toFixed(0).padStart(8)} ` +
        `${r.p50Ms.toFixed(1).padStart(7)} ${r.p95Ms.toFixed(1).padStart(7)} ${r.p99Ms.toFixed(1).padStart(7)} ` +
        `${fmt(r.rps).padStart(7)} ${fmt(r.failed).padStart(6)}  ${r.p95Ms <= GOAL_P95_MS && r.failed === 0 ? 'met' : 'NOT met'}`,
    ),
    '',
    `${met} of ${results.length} endpoints met p95 <= ${GOAL_P95_MS} ms.`,
    '  "first" is one request alone before the load: the first after a run computes the aggregates',
    '  that run keeps (overview, trends, segment summaries, counts) and stores them for every later one.',
    '  The clients run in this process, on the same cores as the server and PostgreSQL.',
  ];
  if (busiest > 0.1)
    lines.push(
      `  WARNING: other processes used up to ${fmt(100 * busiest)}% of the machine during a measurement; ` +
        'figures are pessimistic by up to that much. Re-run on an idle machine.',
    );
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) {
    const endpointsJson = results.map((r) => ({
      path: r.path,
      p50Ms: round(r.p50Ms, 2),
      p95Ms: round(r.p95Ms, 2),
      p99Ms: round(r.p99Ms, 2),
      rps: round(r.rps, 1),
    }));
    process.stdout.write(`${JSON.stringify({ endpoints: endpointsJson })}\n`);
  }
  return results.every((r) => r.failed === 0) ? 0 : 1;
}

void runBench('bench:api', say, (cleanup) => run(program.parse(process.argv).opts<Options>(), cleanup));
