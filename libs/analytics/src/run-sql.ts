import type { DuckDBConnection } from '@duckdb/node-api';
import { loadSqlFiles, type SqlFile } from './sql-files.js';

export interface SqlFileTiming {
  /** e.g. "01_account_features" */
  name: string;
  /** Wall-clock milliseconds the file's statements took. */
  ms: number;
}

/** A failure in one analytics SQL file, naming the file and the statement's position in it. */
export class AnalyticsSqlError extends Error {
  constructor(
    readonly file: string,
    readonly statement: number,
    cause: unknown,
  ) {
    super(`${file}.sql, statement ${statement}: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
    this.name = 'AnalyticsSqlError';
  }
}

/**
 * Runs the analytics SQL files in order on a connection whose input tables (and `params`,
 * `catalog`) are filled. Each file may hold several statements; they run one by one, so an error
 * names the file and the statement. Returns how long each file took.
 */
export async function runAnalyticsSql(
  connection: DuckDBConnection,
  files: SqlFile[] = loadSqlFiles(),
): Promise<SqlFileTiming[]> {
  const timings: SqlFileTiming[] = [];
  for (const file of files) {
    const started = performance.now();
    const statements = await connection.extractStatements(file.sql);
    for (let i = 0; i < statements.count; i++) {
      try {
        const prepared = await statements.prepare(i);
        await prepared.run();
      } catch (error) {
        throw new AnalyticsSqlError(file.name, i + 1, error);
      }
    }
    timings.push({ name: file.name, ms: Math.round((performance.now() - started) * 10) / 10 });
  }
  return timings;
}
