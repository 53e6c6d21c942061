import type { DataSource } from 'typeorm';

/** Advisory lock key: "retain" migrations. Two API copies starting together migrate once. */
const MIGRATION_LOCK = 72_657_001;

async function withMigrationLock<T>(dataSource: DataSource, work: () => Promise<T>): Promise<T> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      return await work();
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
  }
}

/** Applies every pending migration, each in its own transaction; returns their names. */
export async function runMigrations(dataSource: DataSource): Promise<string[]> {
  return withMigrationLock(dataSource, async () => {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    return applied.map((m) => m.name);
  });
}

/** Reverts the most recent migration; returns whether there was one. */
export async function revertLastMigration(dataSource: DataSource): Promise<boolean> {
  return withMigrationLock(dataSource, async () => {
    const before = await pendingAndApplied(dataSource);
    if (before.applied.length === 0) return false;
    await dataSource.undoLastMigration({ transaction: 'each' });
    return true;
  });
}

export async function pendingAndApplied(
  dataSource: DataSource,
): Promise<{ applied: string[]; pending: string[] }> {
  const names = dataSource.migrations.map((m) => m.name ?? m.constructor.name);
  const hasTable = await dataSource.query(`SELECT to_regclass('migrations') IS NOT NULL AS present`);
  const appliedRows: { name: string }[] = hasTable[0].present
    ? await dataSource.query('SELECT name FROM migrations ORDER BY id')
    : [];
  const applied = appliedRows.map((r) => r.name);
  return { applied, pending: names.filter((n) => !applied.includes(n)) };
}
