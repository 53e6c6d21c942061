import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/config.js';
import { RUNTIME, type Runtime } from '../runtime.js';

export const PG_POOL = Symbol('PG_POOL');

/** PostgreSQL errors worth one more try: a deadlock or a serialization failure. */
export function isRetryable(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '40P01' || code === '40001';
}

/** Runs `work` in one transaction on a pooled client; retries once on a deadlock. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    // A connection lost mid-transaction emits 'error' on the client; unheard, it would end the process.
    const onError = (): void => {
      broken = true;
    };
    client.on('error', onError);
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => (broken = true));
      if (attempt < 3 && isRetryable(error)) continue;
      throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

/**
 * A plain `pg` pool for the bulk paths (ingest, imports: COPY and unnest inserts), sized for the
 * ingest concurrency and kept apart from TypeORM's pool so dashboards stay served under load.
 */
@Global()
@Module({
  providers: [
    {
      provide: PG_POOL,
      inject: [APP_CONFIG, RUNTIME],
      useFactory: (config: AppConfig, runtime: Runtime): pg.Pool => {
        const logger = new Logger('Database');
        const pool = new pg.Pool({
          connectionString: runtime.databaseUrl,
          max: config.ingest.concurrency + 2,
          application_name: 'retain-ingest',
          connectionTimeoutMillis: 5_000,
          idleTimeoutMillis: 30_000,
        });
        // An idle client losing its server must not crash the process; the next query reconnects.
        pool.on('error', (error) => logger.warn(`Idle database connection lost: ${error.message}`));
        return pool;
      },
    },
  ],
  exports: [PG_POOL],
})
export class PgPoolModule implements OnApplicationShutdown {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  async onApplicationShutdown(): Promise<void> {
    await this.pool.end();
  }
}
