import { createHash } from 'node:crypto';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { AnalyticsRun, ModelReport } from '@retain/contracts';
import { CampaignsService } from '../campaigns/campaigns.service.js';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { APP_CONFIG } from '../config/config.module.js';
import { RUNTIME, type Runtime } from '../runtime.js';
import type { AppConfig } from '../config/config.js';
import {
  ACCOUNTS_EXTRACT,
  ALIASES_EXTRACT,
  AnalyticsExtractRepository,
  CONTACTS_EXTRACT,
  eventsExtract,
  eventsFullExtract,
  TICKET_COLUMNS,
  ticketsExtract,
} from './analytics-extract.repository.js';
import { AnalyticsLake } from './analytics-lake.js';
import { AnalyticsResultsRepository } from './analytics-results.repository.js';
import { ThresholdsRepository } from './thresholds.repository.js';
import { defaultThresholds } from './thresholds.service.js';
import { AnalyticsRunsRepository, type Watermark } from './analytics-runs.repository.js';
import { computeScores, historyMondays } from './analytics-compute.js';

export type Trigger = AnalyticsRun['trigger'];

/** Where each stage's progress range starts and ends (0-100 over the whole run). */
const STAGES = { extract: [0, 45], compute: [45, 60], model: [60, 85], write: [85, 100] } as const;
type Stage = keyof typeof STAGES;

/** COPY streams out of PostgreSQL at once: one per core of a small server keeps both busy. */
const EXTRACT_STREAMS = 2;
/** A full extract's events go in this many page ranges, so loading overlaps streaming. */
const FULL_EXTRACT_CHUNKS = 8;

/**
 * The analytics run: extract what is new from PostgreSQL into DuckDB, run the analytics SQL,
 * score churn and upsell, and write the results back in one transaction. Runs never overlap
 * (a PostgreSQL advisory lock, across API copies); a failed run leaves the previous results.
 */
@Injectable()
export class AnalyticsJobService {
  private readonly logger = new Logger('Analytics');
  private readonly lakeFile: string;
  private readonly scratch: string;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(RUNTIME) runtime: Runtime,
    private readonly runs: AnalyticsRunsRepository,
    private readonly extract: AnalyticsExtractRepository,
    private readonly results: AnalyticsResultsRepository,
    // Campaigns that refresh at every run take their new members after it (absent in job-only tests).
    @Optional() private readonly campaigns?: CampaignsService,
    // Saved segment thresholds; without them (job-only tests) the configured defaults.
    @Optional() private readonly thresholds?: ThresholdsRepository,
  ) {
    // One lake per database: pointing DATA_DIR at another database must never mix their histories.
    const url = new URL(runtime.databaseUrl);
    const key = createHash('sha256').update(`${url.host}${url.pathname}`).digest('hex').slice(0, 12);
    this.lakeFile = path.join(config.dataDir, 'lake', `analytics-${key}.duckdb`);
    this.scratch = path.join(config.dataDir, 'lake', `extract-${key}`);
  }

  /**
   * Starts a run and resolves when it ends. Throws CONFLICT when one is already running (here or
   * in another process); `onStart` hears the new run's id as soon as it exists.
   */
  async run(trigger: Trigger, full: boolean, onStart?: (id: number) => void): Promise<AnalyticsRun> {
    const lock = await this.runs.tryLock();
    if (!lock) {
      const running = await this.runs.running();
      throw new AppException(
        ErrorCode.Conflict,
        `An analytics run is already in progress${running ? ` (run ${running.id}, ${running.progress}%)` : ''}`,
        { runId: running?.id ?? null },
      );
    }
    let id: number;
    try {
      await this.runs.failAbandoned();
      id = await this.runs.start(trigger, full);
      onStart?.(id);
      await this.execute(id, full);
    } finally {
      await lock.release();
    }
    // After the lock, so a finished run is never reported as still going: the campaigns built on
    // the new scores take their new members (campaign refreshes take a lock of their own). Never throws.
    await this.campaigns?.refreshScheduled();
    return (await this.runs.get(id))!;
  }

  private async execute(id: number, fullRequested: boolean): Promise<void> {
    const stageMs: Record<string, number> = {};
    let current: Stage = 'extract';
    const started = Date.now();
    let stageStart = started;
    const enter = async (stage: Stage) => {
      stageMs[current] = Date.now() - stageStart;
      current = stage;
      stageStart = Date.now();
      await this.runs.progress(id, stage, STAGES[stage][0], stageMs);
    };
    const within = (share: number) =>
      this.runs.progress(
        id,
        current,
        STAGES[current][0] + (STAGES[current][1] - STAGES[current][0]) * share,
        stageMs,
      );

    let lake: AnalyticsLake | undefined;
    // The support metrics DuckDB may still be computing when the write fails: settled before the lake closes.
    let computing: Promise<unknown> = Promise.resolve();
    try {
      const opened = await AnalyticsLake.open(this.lakeFile);
      lake = opened.lake;
      const previous = await this.runs.lastWatermark();
      // Before the id range: a row committed after this instant is past the range or re-read next time.
      const changesFrom = await this.extract.changesFrom();
      const idRange = await this.extract.eventIdRange();
      const maxEventId = idRange.max;
      const lakeMax = await lake.meta('max_event_id');
      // The lake must hold exactly what the watermark says; otherwise (new file, a database reset
      // that restarted ids, a reload that died half-way) start the history over.
      const full =
        fullRequested ||
        opened.fresh ||
        !previous ||
        lakeMax !== previous.maxEventId ||
        BigInt(maxEventId) < BigInt(previous.maxEventId);
      const extractedAt = new Date().toISOString();
      await fsp.mkdir(this.scratch, { recursive: true });

      // Every extract is a COPY stream into a file, then a DuckDB load. Up to EXTRACT_STREAMS
      // streams run at once while DuckDB loads the files already complete, one at a time: the
      // export, not the maths, is the cost, so PostgreSQL never waits for DuckDB.
      const lakeRef = lake;
      const events = full
        ? eventsFullExtract(
            { minId: BigInt(idRange.min), maxId: BigInt(maxEventId), pages: await this.extract.eventPages() },
            FULL_EXTRACT_CHUNKS,
          )
        : [eventsExtract(previous)];
      if (full) await lakeRef.clearEvents();
      const allTickets = full || !(await lakeRef.hasStoredTickets(TICKET_COLUMNS));
      const tickets = ticketsExtract(allTickets ? null : previous);
      const work = [
        ...[ACCOUNTS_EXTRACT, CONTACTS_EXTRACT, ALIASES_EXTRACT].map((spec) => ({
          spec,
          load: (file: string) => lakeRef.replaceTable(spec, file),
        })),
        { spec: tickets, load: (file: string) => lakeRef.loadTickets(tickets, file, allTickets) },
        ...events.map((spec) => ({
          spec,
          load: (file: string) => (full ? lakeRef.appendEvents(file) : lakeRef.mergeEvents(file)),
        })),
      ];
      let rowsRead = 0;
      let loaded = 0;
      let loads: Promise<void> = Promise.resolve();
      let next = 0;
      const stream = async (snapshot?: string): Promise<void> => {
        while (next < work.length) {
          const i = next++;
          const item = work[i]!;
          const file = path.join(this.scratch, `${i}-${item.spec.table}.csv`);
          const rows = await this.extract.toCsv(item.spec, file, snapshot);
          rowsRead += rows;
          loads = loads.then(async () => {
            await item.load(file);
            await fsp.rm(file, { force: true });
            await within(++loaded / (work.length + 1));
          });
          // Awaited below; until then a failed load must not count as an unhandled rejection.
          loads.catch(() => undefined);
        }
      };
      // A full extract's streams read page ranges, so they must all see one snapshot (see eventsFullExtract).
      const streamAll = (snapshot?: string) =>
        Promise.allSettled(
          Array.from({ length: Math.min(EXTRACT_STREAMS, work.length) }, () => stream(snapshot)),
        );
      // A failed stream must not leave a load running on the lake when the run closes it.
      const streamed = full ? await this.extract.withSharedSnapshot(streamAll) : await streamAll();
      await loads;
      for (const s of streamed) if (s.status === 'rejected') throw s.reason;
      await lake.resolveTickets();
      await lake.resolveEvents();
      await lake.setMeta('max_event_id', maxEventId);
      await fsp.rm(this.scratch, { recursive: true, force: true });

      await enter('compute');
      const asOf = new Date();
      const computed = await computeScores(lake, this.config, asOf, {
        onModelStage: () => enter('model'),
        full,
        thresholds: (await this.thresholds?.get())?.thresholds ?? defaultThresholds(this.config),
        historyDays: await this.results.historyDays(historyMondays(asOf).at(-1)!),
      });
      computing = Promise.resolve(computed.supportMetrics).catch(() => undefined);

      await enter('write');
      const written = await this.results.replace(id, asOf, computed);
      stageMs[current] = Date.now() - stageStart;
      const watermark: Watermark = { maxEventId, extractedAt, ...(changesFrom ? { changesFrom } : {}) };
      await this.runs.succeed(id, {
        asOf,
        rowsRead,
        rowsWritten: written,
        stageMs,
        watermark,
        model: computed.model,
      });
      this.logger.log(
        `Run ${id} ${full ? '(full) ' : ''}done in ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
          `${rowsRead.toLocaleString('en-US')} rows read, ${written.toLocaleString('en-US')} written`,
      );
    } catch (error) {
      stageMs[current] = Date.now() - stageStart;
      const message = error instanceof Error ? error.message : String(error);
      this.logger.error(`Run ${id} failed in ${current}: ${message}`);
      await this.runs.fail(id, `${current}: ${message}`, stageMs).catch(() => undefined);
      throw error;
    } finally {
      await computing;
      lake?.close();
    }
  }

  /** The scheduled tick: never throws, and skips quietly when a run is already going. */
  async tick(): Promise<void> {
    try {
      await this.run('schedule', false);
    } catch (error) {
      if (error instanceof AppException && error.code === ErrorCode.Conflict) return;
      // Already recorded on the run and logged.
    }
  }

  list(limit = 50): Promise<AnalyticsRun[]> {
    return this.runs.list(limit);
  }

  async get(id: number): Promise<AnalyticsRun> {
    const run = await this.runs.get(id);
    if (!run) throw new AppException(ErrorCode.NotFound, `Analytics run ${id} does not exist`);
    return run;
  }

  /** Whether any run has succeeded, so results are being served. */
  async hasResults(): Promise<boolean> {
    return (await this.runs.lastWatermark()) !== null;
  }
}

export type { ModelReport };
