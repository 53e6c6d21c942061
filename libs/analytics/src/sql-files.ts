import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The numbered analytics SQL files, beside src/ and dist/ alike. */
export const SQL_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../sql');

export interface SqlFile {
  /** e.g. "01_account_features" */
  name: string;
  sql: string;
}

/** Every `NN_name.sql` file in order. */
export function loadSqlFiles(dir = SQL_DIR): SqlFile[] {
  return fs
    .readdirSync(dir)
    .filter((f) => /^\d{2}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ name: f.replace(/\.sql$/, ''), sql: fs.readFileSync(path.join(dir, f), 'utf8') }));
}
