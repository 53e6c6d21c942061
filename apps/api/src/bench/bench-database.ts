import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { TOKEN_PREFIX } from '../auth/auth.service.js';
import { newSecret, sha256 } from '../auth/secrets.js';
import { loadConfig, type AppConfig } from '../config/config.js';
import { openDatabaseServer } from '../database/database-server.js';
import { prepareDatabase } from '../database/prepare-database.js';
import type { Cleanup } from './bench-process.js';

/** Database helpers shared by the benchmarks. */

export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** The same server URL with another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The URL as it may be shown: without its password. */
export function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** One statement on a connection of its own. */
export async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: url, application_name: 'retain-bench' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await client.query<T>(sql, params);
  } finally {
    await client.end();
  }
}

/** CHECKPOINT needs superuser (or pg_checkpoint); without it the phases just start less even. */
export async function checkpoint(client: pg.Client): Promise<boolean> {
  try {
    await client.query('CHECKPOINT');
    return true;
  } catch {
    return false;
  }
}

/**
 * A fresh database for one benchmark run on DATABASE_URL's server (or the embedded PostgreSQL),
 * migrated, and dropped (with the embedded server stopped) by `cleanup`, even on failure or Ctrl+C.
 */
export async function openBenchDatabase(
  prefix: string,
  cleanup: Cleanup,
  say: (message: string) => void,
): Promise<{ benchUrl: string; embedded: boolean; config: AppConfig }> {
  const config = loadConfig();
  const database = await openDatabaseServer(config, say);
  if (database.embedded) cleanup.add('stop embedded PostgreSQL', () => database.stop());
  const benchDb = `${prefix}_${randomBytes(4).toString('hex')}`;
  const benchUrl = withDatabase(database.url, benchDb);
  say(`Database: ${redacted(benchUrl)}${database.embedded ? ' (embedded PostgreSQL)' : ''}`);
  await query(database.url, `CREATE DATABASE "${benchDb}"`);
  cleanup.add(`drop database ${benchDb}`, async () => {
    try {
      await query(database.url, `DROP DATABASE IF EXISTS "${benchDb}" WITH (FORCE)`);
    } catch {
      // Before PostgreSQL 13: end the other sessions by hand, then drop.
      await query(
        database.url,
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${benchDb}' AND pid <> pg_backend_pid()`,
      );
      await query(database.url, `DROP DATABASE IF EXISTS "${benchDb}"`);
    }
    say(`Dropped database ${benchDb}`);
  });
  await prepareDatabase(benchUrl);
  return { benchUrl, embedded: database.embedded, config };
}

/**
 * An admin API token in a migrated database, made as `token:create` makes one (only its SHA-256 is
 * stored), and revoked by `cleanup`, so a database measured as it is keeps no usable token.
 */
export async function createBenchApiToken(url: string, cleanup: Cleanup): Promise<string> {
  const token = newSecret(TOKEN_PREFIX);
  const hash = sha256(token);
  await query(
    url,
    `INSERT INTO api_tokens (name, role, token_hash, prefix, created_by) VALUES ('bench', 'admin', $1, $2, 'bench')`,
    [hash, token.slice(0, 8)],
  );
  cleanup.add('revoke bench API token', async () => {
    await query(url, `UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1`, [hash]);
  });
  return token;
}
