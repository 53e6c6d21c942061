import { Injectable } from '@nestjs/common';
import { DashboardSnapshotsRepository, type ServedRun } from './dashboard-snapshots.repository.js';

/** How many snapshots one API copy keeps in memory (a few per page and parameter). */
const MEMORY_LIMIT = 200;

/**
 * Aggregates over the served run's results, computed once per run and key: kept in PostgreSQL for
 * every API copy and in memory for this one. Both are keyed by run id, and a run's results never
 * change, so copies can never disagree; a new run simply starts new keys.
 */
@Injectable()
export class DashboardSnapshotsService {
  private readonly memory = new Map<string, unknown>();
  private memoryRunId: number | null = null;
  private readonly computing = new Map<string, Promise<unknown>>();

  constructor(private readonly snapshots: DashboardSnapshotsRepository) {}

  servedRun(): Promise<ServedRun | null> {
    return this.snapshots.servedRun();
  }

  /** The snapshot `key` of the served run: from memory, the table, or `compute` (once at a time). */
  async get<T>(key: string, compute: (run: ServedRun) => Promise<T>, empty: () => T): Promise<T> {
    const run = await this.snapshots.servedRun();
    return run ? this.getFor(run, key, compute) : empty();
  }

  /** The same, for a served run the caller already looked up. */
  async getFor<T>(run: ServedRun, key: string, compute: (run: ServedRun) => Promise<T>): Promise<T> {
    if (run.runId !== this.memoryRunId) {
      this.memory.clear();
      this.memoryRunId = run.runId;
    }
    const id = `${run.runId}:${key}`;
    if (this.memory.has(id)) return this.memory.get(id) as T;
    let pending = this.computing.get(id);
    if (!pending) {
      pending = this.load(run, key, compute).finally(() => this.computing.delete(id));
      this.computing.set(id, pending);
    }
    const body = (await pending) as T;
    this.remember(id, body);
    return body;
  }

  private async load<T>(run: ServedRun, key: string, compute: (run: ServedRun) => Promise<T>): Promise<T> {
    const stored = await this.snapshots.find(run.runId, key);
    if (stored !== undefined) return stored as T;
    const body = await compute(run);
    await this.snapshots.store(run.runId, key, body);
    return body;
  }

  private remember(id: string, body: unknown): void {
    if (this.memory.has(id)) return;
    if (this.memory.size >= MEMORY_LIMIT) this.memory.delete(this.memory.keys().next().value as string);
    this.memory.set(id, body);
  }
}
