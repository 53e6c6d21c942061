import 'reflect-metadata';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { positiveInt } from '../cli/cli-options.js';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { MAX_BODY_BYTES } from '../ingest/ingest.service.js';
import { COPY_COLUMNS, buildBenchEvents } from './bench-events.js';
import { runHttpLoad } from './bench-http.js';
import {
  Cleanup,
  freePort,
  machineBusySeconds,
  postgresCpuSeconds,
  procStatusKb,
  processCpuSeconds,
  spawnServer,
  waitUntilUp,
  type ServerProcess,
  runBench,
} from './bench-process.js';
import { checkpoint, createBenchApiToken, fmt, openBenchDatabase } from './bench-database.js';

/**
 * `npm run bench:ingest`: N Segment track events through `POST /v1/batch` against raw COPY of the
 * same rows into an identical table. Human output on stderr and stdout; with --json the last line
 * of stdout is `{ events, httpEventsPerSec, copyRowsPerSec, ratio }`.
 */

const say = (message: string): void => void process.stderr.write(`${message}\n`);

interface Options {
  events: number;
  batch: number;
  concurrency: number;
  serverConcurrency?: number;
  cpuProf?: string;
  json?: boolean;
}

const program = new Command()
  .name('bench:ingest')
  .description('Measures HTTP ingest (POST /v1/batch) against raw COPY of the same events')
  .option('--events <n>', 'events to load on each path', positiveInt('--events'), 1_000_000)
  .option('--batch <n>', 'events per POST /v1/batch request', positiveInt('--batch'), 500)
  .option('--concurrency <n>', 'concurrent HTTP clients', positiveInt('--concurrency'), 8)
  .option(
    '--server-concurrency <n>',
    "the server's INGEST_CONCURRENCY (default: the server's own default)",
    positiveInt('--server-concurrency'),
  )
  .option('--cpu-prof <dir>', 'run the server with node --cpu-prof, writing the profile to <dir>')
  .option('--json', 'print the result as one JSON object on the last line of stdout');

async function createSource(server: ServerProcess, token: string): Promise<{ id: number; writeKey: string }> {
  const res = await fetch(`${server.baseUrl}/api/sources`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ name: 'bench' }),
  });
  const body = (await res.json()) as { id?: unknown; writeKey?: unknown };
  if (res.status !== 201 || typeof body.writeKey !== 'string' || typeof body.id !== 'number')
    throw new Error(`POST /api/sources answered ${res.status}: ${JSON.stringify(body)}`);
  return { id: body.id, writeKey: body.writeKey };
}

interface CpuMark {
  machine: number | null;
  server: number | null;
  postgres: number;
  client: NodeJS.CpuUsage;
}

const cpuMark = (pid: number): CpuMark => ({
  machine: machineBusySeconds(),
  server: processCpuSeconds(pid),
  postgres: postgresCpuSeconds(),
  client: process.cpuUsage(),
});

async function run(options: Options, cleanup: Cleanup): Promise<number> {
  let exitCode = 0;
  const cores = os.availableParallelism();

  // A fresh database on DATABASE_URL's server, or on the embedded one the server itself would start.
  const { benchUrl, config } = await openBenchDatabase('retain_bench', cleanup, say);

  const db = new pg.Client({ connectionString: benchUrl, application_name: 'retain-bench' });
  db.on('error', () => undefined);
  await db.connect();
  cleanup.add('close bench connection', () => db.end());
  await db.query('CREATE TABLE events_copy (LIKE events INCLUDING ALL)');
  const { rows: pgVersion } = await db.query<{ v: string }>("SELECT current_setting('server_version') AS v");

  // The server, as `npm start` runs it, on its own port.
  const port = await freePort();
  const nodeArgs = options.cpuProf ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProf] : [];
  const serverEnv: Record<string, string> = {
    DATABASE_URL: benchUrl,
    DEMO_DATA: 'false',
    LOG_LEVEL: 'warn',
  };
  if (options.serverConcurrency) serverEnv.INGEST_CONCURRENCY = String(options.serverConcurrency);
  const serverConcurrency = options.serverConcurrency ?? config.ingest.concurrency;
  const server = spawnServer(serverEnv, port, nodeArgs, (line) => say(`[server] ${line}`));
  cleanup.add('stop server', () => server.stop());
  await waitUntilUp(server);
  const source = await createSource(server, await createBenchApiToken(benchUrl, cleanup));
  say(`Server pid ${server.pid} on ${server.baseUrl}; source ${source.id}`);

  // Everything sent is built before the clocks start.
  say(`Generating ${fmt(options.events)} events (batch ${options.batch}) ...`);
  const genStart = performance.now();
  const data = buildBenchEvents({ events: options.events, batch: options.batch, sourceId: source.id });
  const genSeconds = (performance.now() - genStart) / 1000;
  const largest = Math.max(...data.bodies.map((b) => b.length));
  if (largest > MAX_BODY_BYTES)
    throw new Error(
      `A batch of ${options.batch} is ${fmt(largest / 1024)} KB, over the server's ${MAX_BODY_BYTES / 1024} KB limit; use a smaller --batch`,
    );
  const avgMessage = data.messageBytes / options.events;
  say(
    `Generated in ${genSeconds.toFixed(1)} s: ${data.bodies.length} bodies, ${fmt(avgMessage)} B/message, ` +
      `${fmt(data.copyBytes / 1e6, 1)} MB of COPY text`,
  );

  // (a) HTTP.
  await checkpoint(db);
  say(`HTTP: ${fmt(options.events)} events, ${options.concurrency} clients ...`);
  const before = cpuMark(server.pid);
  const abort = new AbortController();
  cleanup.add('stop HTTP clients', async () => abort.abort());
  const http = await runHttpLoad({
    signal: abort.signal,
    port,
    path: '/v1/batch',
    writeKey: source.writeKey,
    bodies: data.bodies,
    sizes: data.sizes,
    concurrency: options.concurrency,
    onProgress: (events, ms) =>
      say(`  ${fmt(events)} events in ${(ms / 1000).toFixed(1)} s (${fmt((events / ms) * 1000)}/s)`),
  });
  const after = cpuMark(server.pid);
  const serverHwmKb = procStatusKb(server.pid, 'VmHWM');
  const httpSeconds = http.elapsedMs / 1000;
  const httpRate = options.events / httpSeconds;
  const { rows: httpCount } = await db.query<{ n: string }>('SELECT count(*) AS n FROM events');
  const httpStored = Number(httpCount[0]!.n);
  if (http.failedBatches > 0 || httpStored !== options.events) exitCode = 1;
  data.bodies.length = 0;

  // The server stays out of the COPY phase; autovacuum of `events` too.
  await server.stop();
  say('Between phases (untimed): VACUUM ANALYZE events, CHECKPOINT');
  await db.query('VACUUM ANALYZE events');
  const checkpointed = await checkpoint(db);

  // (b) Raw COPY, one connection, the same rows.
  say(`COPY: ${fmt(options.events)} rows ...`);
  const copyCpuBefore = { machine: machineBusySeconds(), postgres: postgresCpuSeconds() };
  const copyStart = performance.now();
  await pipeline(
    Readable.from(data.copyChunks),
    db.query(copyFrom(`COPY events_copy (${COPY_COLUMNS.join(', ')}) FROM STDIN WITH (FORMAT text)`)),
  );
  const copySeconds = (performance.now() - copyStart) / 1000;
  const copyRate = options.events / copySeconds;
  const copyCpuAfter = { machine: machineBusySeconds(), postgres: postgresCpuSeconds() };
  const { rows: copyCount } = await db.query<{ n: string }>('SELECT count(*) AS n FROM events_copy');
  const copyStored = Number(copyCount[0]!.n);
  if (copyStored !== options.events) exitCode = 1;
  const ratio = httpRate / copyRate;

  // Summary.
  const cpu = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
  const machineCpu = cpu(before.machine, after.machine);
  const serverCpu = cpu(before.server, after.server);
  const clientUsage = process.cpuUsage(before.client);
  const clientCpu = (clientUsage.user + clientUsage.system) / 1e6;
  const row = (label: string, n: number, s: number, rate: number, unit: string) =>
    `  ${label.padEnd(30)}${fmt(n).padStart(12)}${s.toFixed(2).padStart(10)}${fmt(rate).padStart(12)} ${unit}`;
  const lines = [
    '',
    `Ingest benchmark: ${fmt(options.events)} track events, ${fmt(avgMessage)} B/message (JSON), ` +
      `${cores} cores, PostgreSQL ${pgVersion[0]!.v}`,
    `  HTTP: batch ${options.batch} events/request (${fmt(data.messageBytes / data.sizes.length / 1024)} KB), ` +
      `${options.concurrency} keep-alive clients, server INGEST_CONCURRENCY ${serverConcurrency}`,
    `  ${'path'.padEnd(30)}${'events'.padStart(12)}${'seconds'.padStart(10)}${'per second'.padStart(12)}`,
    row('HTTP POST /v1/batch', httpStored, httpSeconds, httpRate, 'events/s'),
    row('raw COPY (1 connection)', copyStored, copySeconds, copyRate, 'rows/s'),
    `  ratio HTTP / COPY: ${ratio.toFixed(3)} (goal >= 0.5: ${ratio >= 0.5 ? 'met' : 'NOT met'})`,
    `  HTTP requests ${fmt(http.requests)}, retried 429/503 ${http.retries}, failed batches ${http.failedBatches}, ` +
      `network errors ${http.networkErrors}; latency p50 ${fmt(http.latencyMs.p50)} ms, ` +
      `p90 ${fmt(http.latencyMs.p90)} ms, p99 ${fmt(http.latencyMs.p99)} ms, max ${fmt(http.latencyMs.max)} ms`,
    `  Verified: events ${fmt(httpStored)}/${fmt(options.events)}, events_copy ${fmt(copyStored)}/${fmt(options.events)}`,
    `  Server peak RSS (VmHWM): ${serverHwmKb === null ? 'n/a' : `${fmt(serverHwmKb / 1024)} MB`}`,
  ];
  if (machineCpu !== null && serverCpu !== null) {
    const postgresCpu = after.postgres - before.postgres;
    const other = machineCpu - serverCpu - clientCpu - postgresCpu;
    const perEvent = (seconds: number) => fmt((seconds * 1e6) / options.events, 1);
    lines.push(
      `  CPU during HTTP phase (${fmt(cores * httpSeconds, 1)} core-s available): machine ${fmt(machineCpu, 1)} s = ` +
        `server ${fmt(serverCpu, 1)} + PostgreSQL ${fmt(postgresCpu, 1)} + bench client ${fmt(clientCpu, 1)} + ` +
        `other ${fmt(other, 1)}; per event: server ${perEvent(serverCpu)} µs, PostgreSQL ${perEvent(postgresCpu)} µs`,
    );
    if (other > 0.1 * cores * httpSeconds)
      lines.push(
        `  WARNING: other processes used ${fmt((100 * other) / (cores * httpSeconds))}% of the machine during ` +
          'the HTTP phase; the HTTP figure is low by about that much. Re-run on an idle machine.',
      );
  }
  if (copyCpuBefore.machine !== null && copyCpuAfter.machine !== null) {
    const postgresCpu = copyCpuAfter.postgres - copyCpuBefore.postgres;
    lines.push(
      `  CPU during COPY phase (${fmt(cores * copySeconds, 1)} core-s available): machine ` +
        `${fmt(copyCpuAfter.machine - copyCpuBefore.machine, 1)} s, PostgreSQL ${fmt(postgresCpu, 1)} s ` +
        `(${fmt((postgresCpu * 1e6) / options.events, 1)} µs/row)`,
    );
  }
  lines.push(
    `  Not timed: generating events, request bodies and COPY text (${genSeconds.toFixed(1)} s), server start,` +
      ` count checks, VACUUM ANALYZE + CHECKPOINT${checkpointed ? '' : ' (CHECKPOINT not permitted)'} between phases`,
  );
  for (const problem of http.problems) lines.push(`  problem: ${problem}`);
  if (exitCode !== 0) lines.push('  FAILED: not every event was stored; see above');
  process.stdout.write(`${lines.join('\n')}\n`);
  if (options.json) {
    const result = {
      events: options.events,
      httpEventsPerSec: Math.round(httpRate * 10) / 10,
      copyRowsPerSec: Math.round(copyRate * 10) / 10,
      ratio: Math.round(ratio * 10_000) / 10_000,
    };
    process.stdout.write(`${JSON.stringify(result)}\n`);
  }
  return exitCode;
}

void runBench('bench:ingest', say, (cleanup) => run(program.parse(process.argv).opts<Options>(), cleanup));
