import 'reflect-metadata';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Command, Option } from 'commander';
import { positiveInt, positiveNumber } from '../cli/cli-options.js';
import pg from 'pg';
import type { AnalyticsRun } from '@retain/contracts';
import { runCli, type CliRun } from './analytics-cli.js';
import {
  CHECKED_FEATURES,
  compareFeatures,
  postgresFeaturesSql,
  type FeatureComparison,
} from './analytics-postgres-features.js';
import { Cleanup, machineBusySeconds, postgresCpuSeconds, runBench } from './bench-process.js';
import { checkpoint, fmt, openBenchDatabase } from './bench-database.js';

/**
 * `npm run bench:analytics`: the analytics job on demo data in a fresh database and DATA_DIR.
 * Generates S x 10,000 accounts over 180 days (untimed), runs the job once as a new install does
 * (untimed: it includes the one-time score-history backfill), then as a full rebuild, adds one
 * day of new events with one INSERT ... SELECT, runs it incrementally, then runs the same
 * per-account features as one plain PostgreSQL query for comparison. Each job run is the built
 * CLI (`analytics:run`) in a child process, so its peak RSS is its own. Human output on stderr and
 * stdout; with --json the last line of stdout is
 * `{ accounts, events, fullRebuildS, incrementalS, postgresOnlyS, peakRssMb }`.
 */

const say = (message: string): void => void process.stderr.write(`${message}\n`);

const GOAL_INCREMENTAL_S = 5;
const GOAL_FULL_VS_POSTGRES = 0.5;
const GOAL_PEAK_RSS_MB = 1536;

interface Options {
  scale: number;
  accounts?: number;
  days: number;
  seed?: number;
  pgRepeat: number;
  newDay: 'week-sample' | 'last';
  explain?: boolean;
  json?: boolean;
}

const program = new Command()
  .name('bench:analytics')
  .description('Times the analytics job (full rebuild, incremental) against one plain PostgreSQL query')
  .option('--scale <s>', 'demo size: S x 10,000 accounts', positiveNumber('--scale'), 1)
  .option('--accounts <n>', 'accounts (overrides --scale)', positiveInt('--accounts'))
  .option('--days <n>', 'days of history', positiveInt('--days'), 180)
  .option('--seed <n>', 'demo data seed (default: DEMO_SEED)', positiveInt('--seed'))
  .option(
    '--pg-repeat <n>',
    'run the PostgreSQL-only query n times and keep the fastest',
    positiveInt('--pg-repeat'),
    1,
  )
  .addOption(
    new Option('--new-day <how>', 'which events make the new day (see NEW_DAY_SQL)')
      .choices(['week-sample', 'last'])
      .default('week-sample'),
  )
  .option('--explain', 'print EXPLAIN (ANALYZE, BUFFERS) of the PostgreSQL-only query (untimed)')
  .option('--json', 'print the result as one JSON object on the last line of stdout');

/**
 * One day of new events, each as ONE INSERT ... SELECT: copies of stored events with new message
 * ids, received now (the column default), stamped on the day after the history ends.
 * - week-sample: one in seven (by id) of the last 7 days' events, each moved to the same time of
 *   day on the next day: an average day (the demo damps weekends to 0.3, so a single day is not).
 * - last: the last 24 hours' events shifted by +1 day (a light day when the history ends on a weekend).
 */
const NEW_DAY_SQL: Record<Options['newDay'], { describe: string; sql: string }> = {
  'week-sample': {
    describe: "1 in 7 (by id) of the last 7 days' events, moved to the day after the history",
    sql: `WITH h AS (SELECT date_trunc('day', max(timestamp), 'UTC') + interval '1 day' AS next_day FROM events)
          INSERT INTO events (message_id, source_id, account_id, contact_id, user_id, group_id, anonymous_id,
                              type, name, timestamp, properties)
          SELECT e.message_id || ':bench-new-day', e.source_id, e.account_id, e.contact_id, e.user_id, e.group_id,
                 e.anonymous_id, e.type, e.name,
                 h.next_day + (e.timestamp - date_trunc('day', e.timestamp, 'UTC')), e.properties
          FROM events e CROSS JOIN h
          WHERE e.timestamp >= h.next_day - interval '7 days' AND e.id % 7 = 0`,
  },
  last: {
    describe: "the last 24 hours' events shifted by +1 day",
    sql: `INSERT INTO events (message_id, source_id, account_id, contact_id, user_id, group_id, anonymous_id,
                              type, name, timestamp, properties)
          SELECT message_id || ':bench-new-day', source_id, account_id, contact_id, user_id, group_id, anonymous_id,
                 type, name, timestamp + interval '1 day', properties
          FROM events
          WHERE timestamp > (SELECT max(timestamp) FROM events) - interval '1 day'`,
  },
};

const round = (n: number, digits: number) => Math.round(n * 10 ** digits) / 10 ** digits;

/** Where the machine's CPU went during a phase: whose, and how much was somebody else's. */
interface CpuShare {
  seconds: number;
  machine: number | null;
  child: number | null;
  postgres: number;
  bench: number;
  /** Busy CPU of other processes, as a share of what the cores could give in the phase. */
  otherShare: number | null;
}

class CpuMeter {
  private readonly machine = machineBusySeconds();
  private readonly postgres = postgresCpuSeconds();
  private readonly bench = process.cpuUsage();
  private readonly started = performance.now();

  constructor(private readonly cores: number) {}

  stop(child: number | null): CpuShare {
    const seconds = (performance.now() - this.started) / 1000;
    const machineNow = machineBusySeconds();
    const machine = machineNow === null || this.machine === null ? null : machineNow - this.machine;
    const postgres = postgresCpuSeconds() - this.postgres;
    const b = process.cpuUsage(this.bench);
    const bench = (b.user + b.system) / 1e6;
    const other = machine === null ? null : Math.max(0, machine - (child ?? 0) - postgres - bench);
    return {
      seconds,
      machine,
      child,
      postgres,
      bench,
      otherShare: other === null || seconds <= 0 ? null : other / (this.cores * seconds),
    };
  }
}

interface DemoSummary {
  accounts: number;
  contacts: number;
  events: number;
  tickets: number;
  seconds: number;
}

interface JobRun {
  label: string;
  run: AnalyticsRun;
  cli: CliRun;
  /** startedAt to finishedAt of the run record: the job alone, without process start and Nest boot. */
  jobSeconds: number;
  cpu: CpuShare;
}

function isRun(value: unknown): value is AnalyticsRun {
  return typeof value === 'object' && value !== null && 'stageMs' in value && 'status' in value;
}

function dirBytes(dir: string): number {
  let total = 0;
  if (!fs.existsSync(dir)) return 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(full) : fs.statSync(full).size;
  }
  return total;
}

async function run(options: Options, cleanup: Cleanup): Promise<number> {
  const cores = os.availableParallelism();
  const accounts = options.accounts ?? Math.max(1, Math.round(options.scale * 10_000));

  // A fresh database on DATABASE_URL's server, or on the embedded one the server itself would start.
  const { benchUrl, embedded } = await openBenchDatabase('retain_bench_an', cleanup, say);

  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'retain-bench-an-'));
  cleanup.add(`remove ${dataDir}`, async () => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    say(`Removed ${dataDir}`);
  });
  say(`DATA_DIR: ${dataDir}`);

  const db = new pg.Client({ connectionString: benchUrl, application_name: 'retain-bench' });
  db.on('error', () => undefined);
  await db.connect();
  cleanup.add('close bench connection', () => db.end());
  const { rows: settings } = await db.query<{ v: string; wm: string; sb: string; pw: string; jit: string }>(
    `SELECT current_setting('server_version') AS v, current_setting('work_mem') AS wm,
            current_setting('shared_buffers') AS sb, current_setting('max_parallel_workers_per_gather') AS pw,
            current_setting('jit') AS jit`,
  );
  const pgInfo = settings[0]!;

  const childEnv: Record<string, string> = {
    DATABASE_URL: benchUrl,
    DATA_DIR: dataDir,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
  };
  const cli = async (label: string, args: string[]): Promise<CliRun> => {
    const child = runCli(args, childEnv, (line) => say(`  [${label}] ${line}`));
    cleanup.add(`stop ${label}`, () => child.stop());
    const result = await child.done;
    if (result.code !== 0)
      throw new Error(
        `${args.join(' ')} exited with ${result.code ?? result.signal}:\n${result.output.slice(-4000)}`,
      );
    return result;
  };

  // 1. Demo data (untimed).
  say(`Generating demo data: ${fmt(accounts)} accounts x ${options.days} days ...`);
  const demoArgs = ['demo:generate', '--accounts', String(accounts), '--days', String(options.days)];
  if (options.seed) demoArgs.push('--seed', String(options.seed));
  const demoCli = await cli('demo', demoArgs);
  const demo = demoCli.result as DemoSummary | null;
  if (!demo || typeof demo.events !== 'number') throw new Error('demo:generate printed no summary');
  say(
    `Demo data: ${fmt(demo.accounts)} accounts, ${fmt(demo.contacts)} contacts, ${fmt(demo.events)} events, ` +
      `${fmt(demo.tickets)} tickets in ${(demoCli.wallMs / 1000).toFixed(1)} s (untimed)`,
  );
  // As autovacuum would have by the time a real install runs the job: hint bits and statistics set.
  say('VACUUM ANALYZE, CHECKPOINT (untimed) ...');
  const vacuumStart = performance.now();
  await db.query('VACUUM ANALYZE events, tickets, contacts, accounts');
  const vacuumSeconds = (performance.now() - vacuumStart) / 1000;
  const checkpointed = await checkpoint(db);

  const job = async (label: string, full: boolean): Promise<JobRun> => {
    say(`Analytics ${label} ...`);
    const meter = new CpuMeter(cores);
    const result = await cli(label, full ? ['analytics:run', '--full'] : ['analytics:run']);
    const cpu = meter.stop(result.cpuSeconds);
    if (!isRun(result.result))
      throw new Error(`analytics:run printed no run:\n${result.output.slice(-4000)}`);
    const r = result.result;
    if (r.status !== 'succeeded') throw new Error(`The ${label} run ${r.status}: ${r.error ?? ''}`);
    const jobSeconds = (Date.parse(r.finishedAt ?? r.startedAt) - Date.parse(r.startedAt)) / 1000;
    say(
      `  ${label}: ${jobSeconds.toFixed(2)} s in the job (${(result.wallMs / 1000).toFixed(2)} s process), ` +
        `${fmt(r.rowsRead)} rows read, stages ${JSON.stringify(r.stageMs)}`,
    );
    return { label, run: r, cli: result, jobSeconds, cpu };
  };

  // 2. Full rebuild.
  // A new install's first run also backfills 12 weeks of score history, once; a full rebuild of
  // an install (what --full is for) does not repeat it. So the first run is shown, not the goal.
  const first = await job('first run', false);
  await checkpoint(db);
  const full = await job('full rebuild', true);

  // 3. One day of new events, with one INSERT ... SELECT.
  const newDay = NEW_DAY_SQL[options.newDay];
  say(`Adding one day of events: ${newDay.describe} (one INSERT ... SELECT) ...`);
  const insertStart = performance.now();
  const inserted = await db.query(newDay.sql);
  const insertSeconds = (performance.now() - insertStart) / 1000;
  const newEvents = inserted.rowCount ?? 0;
  await checkpoint(db);

  // 4. Incremental run.
  const incremental = await job('incremental', false);
  const asOf = incremental.run.asOf ?? new Date().toISOString();

  // 5. The same features as one plain PostgreSQL query, as of the incremental run's instant.
  const sql = postgresFeaturesSql();
  let pgSeconds = Infinity;
  let pgRows: Record<string, unknown>[] = [];
  let pgCpu: CpuShare | null = null;
  for (let i = 0; i < options.pgRepeat; i++) {
    say(`PostgreSQL-only feature query${options.pgRepeat > 1 ? ` (${i + 1}/${options.pgRepeat})` : ''} ...`);
    const meter = new CpuMeter(cores);
    const started = performance.now();
    const result = await db.query<Record<string, unknown>>(sql, [asOf]);
    const seconds = (performance.now() - started) / 1000;
    const cpu = meter.stop(null);
    say(`  ${seconds.toFixed(2)} s, ${fmt(result.rows.length)} accounts`);
    if (seconds < pgSeconds) {
      pgSeconds = seconds;
      pgRows = result.rows;
      pgCpu = cpu;
    }
  }
  let plan: string | null = null;
  if (options.explain) {
    const explained = await db.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, [asOf]);
    plan = explained.rows.map((r) => r['QUERY PLAN']).join('\n');
  }

  // Untimed checks: the query computes what the job stored, and the runs read what they should.
  const { rows: stored } = await db.query<{ id: string; features: Record<string, unknown> }>(
    `SELECT account_id::text AS id, features FROM account_scores`,
  );
  const comparison: FeatureComparison = compareFeatures(
    new Map(stored.map((r) => [r.id, r.features])),
    pgRows,
  );
  const { rows: counts } = await db.query<{ events: string }>(`SELECT count(*)::text AS events FROM events`);
  const totalEvents = Number(counts[0]!.events);
  const lakeBytes = dirBytes(path.join(dataDir, 'lake'));

  // Summary.
  const fullS = full.jobSeconds;
  const incS = incremental.jobSeconds;
  const peakKb = Math.max(first.cli.peakRssKb ?? 0, full.cli.peakRssKb ?? 0, incremental.cli.peakRssKb ?? 0);
  const peakMb = peakKb / 1024;
  const mb = (kb: number | null) => (kb === null ? 'n/a' : `${fmt(kb / 1024)} MiB`);
  const stages = (r: AnalyticsRun) =>
    Object.entries(r.stageMs)
      .map(([name, ms]) => `${name} ${(ms / 1000).toFixed(2)} s`)
      .join(', ');
  const cpuLine = (c: CpuShare | null) =>
    c === null || c.machine === null
      ? 'n/a'
      : `machine ${fmt(c.machine, 1)} s = ${c.child === null ? '' : `job ${fmt(c.child, 1)} + `}PostgreSQL ` +
        `${fmt(c.postgres, 1)} + bench ${fmt(c.bench, 1)} + other ${fmt(
          Math.max(0, c.machine - (c.child ?? 0) - c.postgres - c.bench),
          1,
        )} (of ${fmt(cores * c.seconds, 1)} core-s)`;
  const row = (label: string, seconds: string, extra: string) =>
    `  ${label.padEnd(40)}${seconds.padStart(10)}  ${extra}`;
  const met = (ok: boolean) => (ok ? 'met' : 'NOT met');

  const lines = [
    '',
    `Analytics benchmark: ${fmt(demo.accounts)} accounts x ${options.days} days: ${fmt(demo.events)} events ` +
      `(+${fmt(newEvents)} new = ${fmt(totalEvents)}), ${fmt(demo.tickets)} tickets, ${fmt(demo.contacts)} contacts; ` +
      `${cores} cores, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB RAM`,
    `  PostgreSQL ${pgInfo.v}${embedded ? ' (embedded)' : ''}: work_mem ${pgInfo.wm}, shared_buffers ` +
      `${pgInfo.sb}, max_parallel_workers_per_gather ${pgInfo.pw}, jit ${pgInfo.jit}`,
    `  ${'step'.padEnd(40)}${'seconds'.padStart(10)}  details`,
    row(
      'demo:generate (untimed)',
      (demoCli.wallMs / 1000).toFixed(1),
      `peak RSS ${mb(demoCli.peakRssKb)}; then VACUUM ANALYZE ${vacuumSeconds.toFixed(1)} s` +
        `${checkpointed ? ' + CHECKPOINT' : ' (CHECKPOINT not permitted)'}`,
    ),
    row(
      'first run of a new install (untimed)',
      first.jobSeconds.toFixed(2),
      `the first extract, plus the one-time score-history backfill; stages: ${stages(first.run)}`,
    ),
    row(
      'full rebuild (analytics:run --full)',
      fullS.toFixed(2),
      `${fmt(full.run.rowsRead)} rows read, ${fmt(full.run.rowsWritten)} written, peak RSS ${mb(full.cli.peakRssKb)}`,
    ),
    row('', '', `stages: ${stages(full.run)}`),
    row(
      '',
      '',
      `process ${(full.cli.wallMs / 1000).toFixed(2)} s incl. Node start + Nest boot; CPU: ${cpuLine(full.cpu)}`,
    ),
    row(
      '+1 day of events (one INSERT ... SELECT)',
      insertSeconds.toFixed(2),
      `${fmt(newEvents)} events = 1/${fmt(demo.events / Math.max(1, newEvents))} of the history (untimed): ${newDay.describe}`,
    ),
    row(
      'incremental (analytics:run)',
      incS.toFixed(2),
      `${fmt(incremental.run.rowsRead)} rows read, ${fmt(incremental.run.rowsWritten)} written, ` +
        `peak RSS ${mb(incremental.cli.peakRssKb)}`,
    ),
    row('', '', `stages: ${stages(incremental.run)}`),
    row(
      '',
      '',
      `process ${(incremental.cli.wallMs / 1000).toFixed(2)} s incl. Node start + Nest boot; CPU: ${cpuLine(incremental.cpu)}`,
    ),
    row(
      'PostgreSQL-only feature query',
      pgSeconds.toFixed(2),
      `${fmt(pgRows.length)} accounts, one GROUP BY query${options.pgRepeat > 1 ? `, best of ${options.pgRepeat}` : ''}; CPU: ${cpuLine(pgCpu)}`,
    ),
    `  Check: PostgreSQL-only features vs the job's stored features on ${fmt(comparison.accounts)} accounts ` +
      `(${comparison.unmatched} unmatched): ${
        comparison.mismatches.length === 0
          ? `all ${CHECKED_FEATURES.length} checked features agree`
          : comparison.mismatches.map((m) => `${m.feature} differs on ${m.count} (${m.example})`).join('; ')
      }`,
    `  Lake (DuckDB) on disk after the runs: ${fmt(lakeBytes / 2 ** 20)} MiB`,
    'Goals',
    `  incremental <= ${GOAL_INCREMENTAL_S} s: ${incS.toFixed(2)} s: ${met(incS <= GOAL_INCREMENTAL_S)}`,
    `  full rebuild <= ${GOAL_FULL_VS_POSTGRES} x PostgreSQL-only: ${fullS.toFixed(2)} s vs ${GOAL_FULL_VS_POSTGRES} x ` +
      `${pgSeconds.toFixed(2)} = ${(GOAL_FULL_VS_POSTGRES * pgSeconds).toFixed(2)} s (ratio ${(fullS / pgSeconds).toFixed(2)}): ` +
      `${met(fullS <= GOAL_FULL_VS_POSTGRES * pgSeconds)}`,
    `  peak RSS <= 1.5 GiB: ${fmt(peakMb)} MiB: ${met(peakMb <= GOAL_PEAK_RSS_MB)}`,
    '  Job seconds are the run record (startedAt to finishedAt): the job as the scheduler runs it, without the',
    "  CLI process's start and Nest boot (shown as 'process'). New events have new message ids and received_at",
    '  = now(); those stamped after the run instant are extracted and stored but not yet counted in features.',
    `  "events" in --json is the generated history (${fmt(demo.events)}), which the full rebuild read.`,
  ];
  for (const c of [full.cpu, incremental.cpu, pgCpu])
    if (c && c.otherShare !== null && c.otherShare > 0.1) {
      lines.push(
        `  WARNING: other processes used ${fmt(100 * c.otherShare)}% of the machine during a timed phase ` +
          '(see CPU above); its figure is pessimistic by up to that much. Re-run on an idle machine.',
      );
      break;
    }
  if (plan) lines.push('', 'EXPLAIN (ANALYZE, BUFFERS) of the PostgreSQL-only query:', plan);
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) {
    const result = {
      accounts: demo.accounts,
      events: demo.events,
      fullRebuildS: round(fullS, 3),
      incrementalS: round(incS, 3),
      postgresOnlyS: round(pgSeconds, 3),
      peakRssMb: round(peakMb, 1),
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  return 0;
}

void runBench('bench:analytics', say, (cleanup) => run(program.parse(process.argv).opts<Options>(), cleanup));
