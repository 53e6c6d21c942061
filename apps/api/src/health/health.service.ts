import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { HealthResponse } from '@retain/contracts';
import { DuckDbService } from '../duckdb/duckdb.service.js';
import { RUNTIME, type Runtime } from '../runtime.js';

const startedAt = Date.now();

@Injectable()
export class HealthService {
  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly duckdb: DuckDbService,
    @Inject(RUNTIME) private readonly runtime: Runtime,
  ) {}

  async check(): Promise<HealthResponse> {
    const [database, duckdb] = await Promise.all([this.checkDatabase(), this.checkDuckDb()]);
    return {
      status: database.status === 'up' && duckdb.status === 'up' ? 'ok' : 'degraded',
      version: this.runtime.version,
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      database,
      duckdb,
    };
  }

  private async checkDatabase(): Promise<HealthResponse['database']> {
    const embedded = this.runtime.embeddedDatabase;
    const started = performance.now();
    try {
      await this.dataSource.query('SELECT 1');
      return { status: 'up', embedded, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (error) {
      return { status: 'down', embedded, latencyMs: null, error: (error as Error).message };
    }
  }

  private async checkDuckDb(): Promise<HealthResponse['duckdb']> {
    try {
      return { status: 'up', version: await this.duckdb.version() };
    } catch (error) {
      return { status: 'down', version: null, error: (error as Error).message };
    }
  }
}
