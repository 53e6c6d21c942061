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

/** A pooled client checked out with an 'error' listener, and its release. */
export interface CheckedOut {
  client: pg.PoolClient;
  /** Whether the connection reported an error while out. */
  lost(): boolean;
  /** Returns the client; `broken` (or a lost connection) destroys it instead. */
  release(broken?: boolean): void;
}

/**
 * Checks a client out so that a connection lost while it is in use (a restart, a forced DROP)
 * never becomes an unhandled 'error' that ends the process. A destroyed client keeps its listener,
 * as its closing may still report; it is never reused.
 */
export async function checkOut(pool: pg.Pool): Promise<CheckedOut> {
  const client = await pool.connect();
  let lost = false;
  const onError = (): void => {
    lost = true;
  };
  client.on('error', onError);
  return {
    client,
    lost: () => lost,
    release: (broken = false) => {
      const destroy = broken || lost;
      if (!destroy) client.off('error', onError);
      client.release(destroy);
    },
  };
}

export interface AdvisoryLock {
  release(): Promise<void>;
}

/**
 * A session advisory lock held on a connection of its own, or null when another session holds it.
 * It goes with the connection if the process dies, so work a crashed process held can be resumed.
 */
export async function tryAdvisoryLock(
  pool: pg.Pool,
  key: number,
  sub?: number,
): Promise<AdvisoryLock | null> {
  const out = await checkOut(pool);
  const args = sub === undefined ? [key] : [key, sub];
  const keys = sub === undefined ? '$1' : '$1, $2::int';
  try {
    const { rows } = await out.client.query<{ locked: boolean }>(
      `SELECT pg_try_advisory_lock(${keys}) AS locked`,
      args,
    );
    if (!rows[0]!.locked) {
      out.release();
      return null;
    }
  } catch (error) {
    out.release(true);
    throw error;
  }
  return {
    release: async () => {
      const unlocked = await out.client.query(`SELECT pg_advisory_unlock(${keys})`, args).then(
        () => true,
        () => false,
      );
      out.release(!unlocked);
    },
  };
}

/** Runs `work` in one transaction on a pooled client; retries on a deadlock. */
export async function inTransaction<T>(
  pool: pg.Pool,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const out = await checkOut(pool);
    let broken = false;
    try {
      await out.client.query('BEGIN');
      const result = await work(out.client);
      await out.client.query('COMMIT');
      return result;
    } catch (error) {
      await out.client.query('ROLLBACK').catch(() => (broken = true));
      if (attempt < 3 && isRetryable(error)) continue;
      throw error;
    } finally {
      out.release(broken);
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
