import { ConfigError, loadConfig, type AppConfig } from '../config/config.js';
import { openDatabaseServer, type DatabaseServer } from '../database/database-server.js';

export interface CliContext {
  config: AppConfig;
  database: DatabaseServer;
}

/** Console output for people: messages on stderr, results on stdout (so scripts can read the last line). */
export const say = (message: string): void => void process.stderr.write(`${message}\n`);

/** Opens the configured database (starting the embedded one if needed), runs `work`, always closes. */
export async function withCliContext(work: (ctx: CliContext) => Promise<void>): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      say(error.message);
      process.exitCode = 1;
      return;
    }
    throw error;
  }
  const database = await openDatabaseServer(config, say);
  try {
    await work({ config, database });
  } finally {
    await database.stop();
  }
}
