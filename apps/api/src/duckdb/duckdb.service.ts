import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { DuckDBInstance } from '@duckdb/node-api';

/**
 * The in-process DuckDB engine. Analytics jobs open their own database files under the data dir;
 * this service owns an in-memory instance used to check the engine loads and for small queries.
 */
@Injectable()
export class DuckDbService implements OnModuleDestroy {
  private readonly logger = new Logger(DuckDbService.name);
  private instance: Promise<DuckDBInstance> | undefined;

  private getInstance(): Promise<DuckDBInstance> {
    this.instance ??= DuckDBInstance.create(':memory:');
    return this.instance;
  }

  async version(): Promise<string> {
    const connection = await (await this.getInstance()).connect();
    try {
      const reader = await connection.runAndReadAll('SELECT version() AS version');
      return String(reader.getRowObjects()[0]?.version);
    } finally {
      connection.closeSync();
    }
  }

  async onModuleDestroy(): Promise<void> {
    if (!this.instance) return;
    try {
      (await this.instance).closeSync();
    } catch (error) {
      this.logger.warn(`closing DuckDB: ${String(error)}`);
    }
  }
}
