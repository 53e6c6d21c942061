import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * Tests need a real PostgreSQL server: the one named by DATABASE_URL (CI: 127.0.0.1:5432), or
 * else an embedded one started here under test-output/. Each suite makes its own database on it.
 */
export default async function globalSetup() {
  if (process.env.DATABASE_URL) return;
  const { startEmbeddedPostgres } = await import(
    path.join(root, 'apps/api/dist/database/embedded-postgres.js')
  );
  const dir = path.join(root, 'test-output/pg');
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const server = await startEmbeddedPostgres({
    dir,
    port: Number(process.env.TEST_EMBEDDED_PG_PORT ?? 54339),
  });
  globalThis.__retainTestPostgres = server;
  process.env.DATABASE_URL = server.url.replace(/\/[^/]+$/, '/postgres');
}
