import { StartupError } from '../common/errors/startup.error.js';
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
  let database: DatabaseServer;
  try {
    database = await openDatabaseServer(config, say);
  } catch (error) {
    if (!(error instanceof StartupError)) throw error;
    say(error.message);
    process.exitCode = 1;
    return;
  }
  const interrupt = (signal: NodeJS.Signals): void => {
    say(`${signal}: stopping`);
    void database.stop().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    await work({ config, database });
  } finally {
    await database.stop();
  }
}
