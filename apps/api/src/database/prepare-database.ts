import { createDataSource } from './data-source.js';
import { runMigrations } from './migrator.js';

/** Brings the schema up to date before anything else touches the database. */
export async function prepareDatabase(url: string): Promise<string[]> {
  const dataSource = createDataSource(url);
  await dataSource.initialize();
  try {
    return await runMigrations(dataSource);
  } finally {
    await dataSource.destroy();
  }
}
