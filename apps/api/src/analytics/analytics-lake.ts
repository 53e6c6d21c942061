import fs from 'node:fs';
import path from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { EVENT_COLUMNS, type ExtractSpec } from './analytics-extract.repository.js';

const sqlString = (value: string): string => `'${value.replace(/'/g, "''")}'`;
const columnsLiteral = (columns: Record<string, string>): string =>
  `{${Object.entries(columns)
    .map(([name, type]) => `${sqlString(name)}: ${sqlString(type)}`)
    .join(', ')}}`;
const readCsv = (file: string, columns: Record<string, string>): string =>
  `read_csv(${sqlString(file)}, header = false, columns = ${columnsLiteral(columns)}, auto_detect = false)`;

/**
 * The analytics job's local DuckDB database (DATA_DIR/lake/analytics.duckdb): the history of
 * events extracted so far, and the current accounts, contacts and tickets. Events are kept across
 * runs, so a normal run only moves what is new out of PostgreSQL.
 */
export class AnalyticsLake {
  private constructor(
    private readonly instance: DuckDBInstance,
    readonly connection: DuckDBConnection,
    readonly file: string,
  ) {}

  /** Opens (or creates) the lake; a file that cannot be opened is moved aside and rebuilt. */
  static async open(file: string): Promise<{ lake: AnalyticsLake; fresh: boolean }> {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    let fresh = !fs.existsSync(file);
    let instance: DuckDBInstance;
    try {
      instance = await DuckDBInstance.create(file);
    } catch {
      fs.renameSync(file, `${file}.broken-${Date.now()}`);
      fs.rmSync(`${file}.wal`, { force: true });
      instance = await DuckDBInstance.create(file);
      fresh = true;
    }
    const connection = await instance.connect();
    await connection.run(`SET TimeZone = 'UTC'`);
    // DuckDB would take most of the machine by default; it spills to disk past this instead.
    await connection.run(`SET memory_limit = '1GB'`);
    await connection.run(`SET temp_directory = ${sqlString(`${file}.tmp`)}`);
    await connection.run(`
      CREATE TABLE IF NOT EXISTS events (id BIGINT, account_id BIGINT, contact_id BIGINT, type VARCHAR,
                                         name VARCHAR, ts TIMESTAMPTZ);
      CREATE TABLE IF NOT EXISTS events_unresolved (id BIGINT, user_id VARCHAR, group_id VARCHAR, anonymous_id VARCHAR);
      CREATE TABLE IF NOT EXISTS lake_meta (key VARCHAR PRIMARY KEY, value VARCHAR);`);
    const lake = new AnalyticsLake(instance, connection, file);
    if (!fresh && (await lake.meta('max_event_id')) === null) fresh = true;
    return { lake, fresh };
  }

  async meta(key: string): Promise<string | null> {
    const reader = await this.connection.runAndReadAll(`SELECT value FROM lake_meta WHERE key = $1`, [key]);
    const row = reader.getRowObjectsJson()[0];
    return row ? String(row.value) : null;
  }

  async setMeta(key: string, value: string): Promise<void> {
    await this.connection.run(`INSERT OR REPLACE INTO lake_meta VALUES ($1, $2)`, [key, value]);
  }

  /** Replaces a small table whole (accounts, contacts, aliases) from its CSV extract. */
  async replaceTable(spec: ExtractSpec, csv: string): Promise<void> {
    await this.connection.run(
      `CREATE OR REPLACE TABLE ${spec.table} AS SELECT * FROM ${readCsv(csv, spec.columns)}`,
    );
  }

  /** Whether the lake holds the tickets as stored, so an incremental ticket extract can merge into them. */
  async hasStoredTickets(): Promise<boolean> {
    const rows = await this.rows<{ n: number }>(
      `SELECT count(*)::INTEGER AS n FROM duckdb_tables() WHERE table_name = 'tickets_stored' AND NOT temporary`,
    );
    return rows[0]!.n > 0;
  }

  /**
   * Loads a tickets extract into `tickets_stored`: whole (full) or merged by id (incremental: a
   * changed ticket replaces its earlier copy).
   */
  async loadTickets(spec: ExtractSpec, csv: string, full: boolean): Promise<void> {
    const c = this.connection;
    const select = `SELECT * REPLACE (CAST(tags AS JSON)::VARCHAR[] AS tags) FROM ${readCsv(csv, spec.columns)}`;
    if (full) {
      await c.run(`CREATE OR REPLACE TABLE tickets_stored AS ${select}`);
      return;
    }
    await c.run(`CREATE OR REPLACE TEMP TABLE tickets_changed AS ${select}`);
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(`DELETE FROM tickets_stored WHERE id IN (SELECT id FROM tickets_changed)`);
      await c.run(`INSERT INTO tickets_stored SELECT * FROM tickets_changed`);
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK');
      throw error;
    }
    await c.run(`DROP TABLE tickets_changed`);
  }

  /**
   * The `tickets` table the analytics SQL reads: stored tickets without the deleted ones (support
   * demand only), each with its account, or its contact's account when it names none. Rebuilt each
   * run after contacts are loaded, so a contact that moved takes its tickets along.
   */
  async resolveTickets(): Promise<void> {
    await this.connection.run(`
      CREATE OR REPLACE TABLE tickets AS
      SELECT t.* EXCLUDE (contact_id) REPLACE (COALESCE(t.account_id, c.account_id) AS account_id)
      FROM tickets_stored t LEFT JOIN contacts c ON c.id = t.contact_id
      WHERE t.status <> 'deleted'`);
  }

  /**
   * Starts the event history over (a full extract). The lake's watermark goes first, so a run
   * that dies half-way through the reload leaves a lake the next run knows to rebuild.
   */
  async clearEvents(): Promise<void> {
    await this.connection.run(
      `DELETE FROM lake_meta WHERE key = 'max_event_id'; DELETE FROM events; DELETE FROM events_unresolved;`,
    );
  }

  /** Appends one chunk of a full extract straight from its file (ids never overlap between chunks). */
  async appendEvents(csv: string): Promise<void> {
    const c = this.connection;
    const source = readCsv(csv, EVENT_COLUMNS);
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(`INSERT INTO events SELECT id, account_id, contact_id, type, name, ts FROM ${source}`);
      await c.run(
        `INSERT INTO events_unresolved SELECT id, user_id, group_id, anonymous_id FROM ${source} WHERE account_id IS NULL`,
      );
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK');
      throw error;
    }
  }

  /**
   * Adds an incremental extract. The late-commit window re-reads some events; they replace their
   * earlier copy (same id), so nothing is counted twice.
   */
  async mergeEvents(csv: string): Promise<void> {
    const c = this.connection;
    await c.run(`CREATE OR REPLACE TEMP TABLE events_new AS SELECT * FROM ${readCsv(csv, EVENT_COLUMNS)}`);
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(`DELETE FROM events WHERE id IN (SELECT id FROM events_new)`);
      await c.run(`DELETE FROM events_unresolved WHERE id IN (SELECT id FROM events_new)`);
      await c.run(`INSERT INTO events SELECT id, account_id, contact_id, type, name, ts FROM events_new`);
      await c.run(
        `INSERT INTO events_unresolved SELECT id, user_id, group_id, anonymous_id FROM events_new WHERE account_id IS NULL`,
      );
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK');
      throw error;
    }
    await c.run(`DROP TABLE events_new`);
  }

  /**
   * Events that arrived before their account or contact carry only the ids they were sent with;
   * each run links those it can, through accounts, contacts and aliases.
   */
  async resolveEvents(): Promise<number> {
    const c = this.connection;
    await c.run(`
      CREATE OR REPLACE TEMP TABLE resolved AS
      SELECT u.id, COALESCE(a.id, ct.account_id) AS account_id, ct.id AS contact_id
      FROM events_unresolved u
      LEFT JOIN accounts a ON a.external_id = u.group_id
      LEFT JOIN identity_aliases al ON al.previous_id = COALESCE(u.user_id, u.anonymous_id)
      LEFT JOIN contacts ct ON ct.external_id = COALESCE(al.user_id, u.user_id)
      WHERE COALESCE(a.id, ct.account_id) IS NOT NULL`);
    await c.run(`
      UPDATE events SET account_id = r.account_id, contact_id = COALESCE(events.contact_id, r.contact_id)
      FROM resolved r WHERE events.id = r.id;
      DELETE FROM events_unresolved WHERE id IN (SELECT id FROM resolved);`);
    const reader = await c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM resolved`);
    await c.run(`DROP TABLE resolved`);
    return Number(reader.getRowObjectsJson()[0]!.n);
  }

  async rows<T>(sql: string): Promise<T[]> {
    return (await this.connection.runAndReadAll(sql)).getRowObjectsJson() as T[];
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
