import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from './app.factory.js';
import { StartupError } from './common/errors/startup.error.js';
import { ConfigError, loadConfig } from './config/config.js';
import { openDatabaseServer } from './database/database-server.js';
import { prepareDatabase } from './database/prepare-database.js';
import { DemoDataService } from './demo/demo-data.service.js';
import { ImportsService } from './imports/imports.service.js';
import { AnalyticsScheduler } from './analytics/analytics.scheduler.js';
import { AuthService } from './auth/auth.service.js';
import { productVersion } from './runtime.js';

async function main(): Promise<void> {
  const logger = new Logger('Retain');
  const config = loadConfig();
  const database = await openDatabaseServer(config, (message) => logger.log(message));
  let app: NestExpressApplication | undefined;

  // Installed before migrations and demo seeding, so Ctrl+C during a first start still stops the
  // embedded PostgreSQL (an interrupted seed rolls back with its connection).
  let closing = false;
  const close = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.log(`${signal}: shutting down`);
    try {
      await app?.close();
    } finally {
      await database.stop();
    }
    process.exit(0);
  };
  process.once('SIGINT', () => void close('SIGINT'));
  process.once('SIGTERM', () => void close('SIGTERM'));

  try {
    const migrations = await prepareDatabase(database.url);
    if (migrations.length > 0) logger.log(`Applied migrations: ${migrations.join(', ')}`);

    app = await createApp(config, {
      version: productVersion(),
      databaseUrl: database.url,
      embeddedDatabase: database.embedded,
    });
    if (config.demo.enabled) await app.get(DemoDataService).seedIfEmpty();
    await app.get(AuthService).bootstrap(config.demo.enabled);

    await app.listen(config.port, config.host);
    await app.get(ImportsService).resumeUnfinished();
    app.get(AnalyticsScheduler).start();
    const shown = config.host === '0.0.0.0' ? 'localhost' : config.host;
    logger.log(
      `Retain is up: dashboard http://${shown}:${config.port}/  API http://${shown}:${config.port}/api/docs`,
    );
  } catch (error) {
    if (closing) return;
    await database.stop();
    throw error;
  }
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    console.error(error.message);
  } else {
    console.error('Retain failed to start:', error instanceof Error ? (error.stack ?? error.message) : error);
  }
  process.exit(1);
});
