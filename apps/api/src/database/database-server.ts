import type { AppConfig } from '../config/config.js';
import { startEmbeddedPostgres } from './embedded-postgres.js';

export interface DatabaseServer {
  url: string;
  embedded: boolean;
  stop(): Promise<void>;
}

/** The server named by DATABASE_URL, or else the embedded one under the data dir. */
export async function openDatabaseServer(
  config: AppConfig,
  log: (message: string) => void,
): Promise<DatabaseServer> {
  if (config.databaseUrl) {
    return { url: config.databaseUrl, embedded: false, stop: async () => undefined };
  }
  const server = await startEmbeddedPostgres({
    dir: config.embeddedPostgres.dir,
    port: config.embeddedPostgres.port,
    log,
  });
  return { ...server, embedded: true };
}
