import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface TestDatabase {
  url: string;
  name: string;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

function serverUrl(): string {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set; the global setup should have set it');
  return url;
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabase(serverUrl(), 'postgres') });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database of its own for one test suite, dropped at the end. */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `retain_test_${label.replace(/\W/g, '_')}_${randomBytes(4).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE "${name}"`));
  const url = withDatabase(serverUrl(), name);
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  // DROP ... WITH (FORCE) may reach a connection the pool is still closing; that is expected.
  pool.on('error', () => undefined);
  return {
    url,
    name,
    query: async <T extends pg.QueryResultRow>(sql: string, params?: unknown[]) =>
      (await pool.query<T>(sql, params)).rows,
    drop: async () => {
      await pool.end();
      await admin((c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
  };
}
