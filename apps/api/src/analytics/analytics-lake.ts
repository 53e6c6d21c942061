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

/** The lake's table layout; a lake with another one rebuilds its events. */
const LAKE_LAYOUT = '3';

/**
 * The stored events: numbers only, the type and name as the id of their pair in `event_names`.
 * Text columns are what DuckDB spends its time on when it stores and checkpoints rows (measured at
 * 10 million events: 13.9 CPU-s with type and name as text, 5.7 with an id). The type and name are
 * kept as text only on rows whose pair was not yet known when they were loaded (`name_id` NULL,
 * until `resolveEvents` gives the pair an id); the identity columns only on events stored without
 * an account (until `resolveEvents` links them).
 */
const EVENT_ROWS_COLUMNS = `(id BIGINT, account_id BIGINT, contact_id BIGINT, name_id INTEGER, ts TIMESTAMPTZ,
  user_id VARCHAR, group_id VARCHAR, anonymous_id VARCHAR, type VARCHAR, name VARCHAR)`;

/** The `events` the analytics SQL reads (INPUT_SCHEMA_SQL's columns): the stored rows with their names. */
const EVENTS_VIEW_SQL = `CREATE OR REPLACE VIEW events AS
  SELECT r.id, r.account_id, r.contact_id, n.type, n.name, r.ts, r.user_id, r.group_id, r.anonymous_id
  FROM event_rows r JOIN event_names n ON n.id = r.name_id`;

/**
 * An events extract as the lake stores it: the time from seconds since 1970, rounded to the
 * microsecond; the type and name as their pair's id when `event_names` knows it, else as text.
 */
const eventsFrom = (csv: string): string =>
  `SELECT c.id, c.account_id, c.contact_id, n.id AS name_id,
          make_timestamptz(CAST(round(c.epoch * 1e6) AS BIGINT)) AS ts, c.user_id, c.group_id, c.anonymous_id,
          CASE WHEN n.id IS NULL THEN c.type END AS type, CASE WHEN n.id IS NULL THEN c.name END AS name
   FROM ${readCsv(csv, EVENT_COLUMNS)} c LEFT JOIN event_names n ON n.type = c.type AND n.name = c.name`;

/** DuckDB writes a non-finite double as a bare Infinity or NaN, which JSON has no word for. */
function parseJsonRow(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return JSON.parse(text.replace(/([:,[])-?(?:Infinity|NaN)(?=[,}\]])/g, '$1null'));
  }
}

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
    await connection.run(`CREATE TABLE IF NOT EXISTS lake_meta (key VARCHAR PRIMARY KEY, value VARCHAR)`);
    const lake = new AnalyticsLake(instance, connection, file);
    // A lake laid out by another version starts its event history over (a full extract).
    if ((await lake.meta('layout')) !== LAKE_LAYOUT) {
      await connection.run(`DELETE FROM lake_meta WHERE key = 'max_event_id'`);
      // Layout 2 kept the events as a table named events (now a view over event_rows).
      const old = await lake.rows<{ kind: string }>(
        `SELECT 'table' AS kind FROM duckdb_tables() WHERE table_name = 'events' AND schema_name = 'main'
         UNION ALL SELECT 'view' FROM duckdb_views() WHERE view_name = 'events' AND schema_name = 'main'`,
      );
      for (const { kind } of old) await connection.run(`DROP ${kind === 'view' ? 'VIEW' : 'TABLE'} events`);
      await connection.run(`DROP TABLE IF EXISTS events_unresolved; DROP TABLE IF EXISTS event_rows;`);
      await lake.setMeta('layout', LAKE_LAYOUT);
    }
    await connection.run(`CREATE TABLE IF NOT EXISTS event_names (id INTEGER, type VARCHAR, name VARCHAR)`);
    await connection.run(`CREATE TABLE IF NOT EXISTS event_rows ${EVENT_ROWS_COLUMNS}`);
    await connection.run(EVENTS_VIEW_SQL);
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

  /**
   * Whether the lake holds the tickets as stored with these columns, so an incremental ticket
   * extract can merge into them (a lake from a version that extracted other columns reloads them).
   */
  async hasStoredTickets(columns: Record<string, string>): Promise<boolean> {
    const rows = await this.rows<{ column_name: string }>(
      `SELECT column_name FROM duckdb_columns()
       WHERE table_name = 'tickets_stored' AND schema_name = 'main' AND database_name = current_database()
       ORDER BY column_index`,
    );
    return rows.map((r) => r.column_name).join() === Object.keys(columns).join();
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
    // A new table, not DELETE: dropping the old rows costs nothing, deleting them row by row does.
    await this.connection.run(`DELETE FROM lake_meta WHERE key = 'max_event_id'`);
    await this.connection.run(`CREATE OR REPLACE TABLE event_rows ${EVENT_ROWS_COLUMNS}`);
    await this.connection.run(EVENTS_VIEW_SQL);
  }

  /**
   * Gives every (type, name) pair in `csv` an id, when `event_names` is still empty (a new lake), so
   * the first load stores ids and not text. Later loads store text only for pairs never seen before.
   */
  private async seedEventNames(csv: string): Promise<void> {
    const [{ n }] = await this.rows<{ n: number }>(`SELECT count(*)::INTEGER AS n FROM event_names`);
    if (n > 0) return;
    await this.connection.run(`
      INSERT INTO event_names
      SELECT row_number() OVER (ORDER BY type, name), type, name
      FROM (SELECT DISTINCT type, name FROM ${readCsv(csv, EVENT_COLUMNS)})`);
  }

  /** Appends one chunk of a full extract straight from its file (ids never overlap between chunks). */
  async appendEvents(csv: string): Promise<void> {
    await this.seedEventNames(csv);
    await this.connection.run(`INSERT INTO event_rows ${eventsFrom(csv)}`);
  }

  /**
   * Adds an incremental extract. The late-commit window re-reads some events; they replace their
   * earlier copy (same id), so nothing is counted twice.
   */
  async mergeEvents(csv: string): Promise<void> {
    const c = this.connection;
    await this.seedEventNames(csv);
    await c.run(`CREATE OR REPLACE TEMP TABLE events_new AS ${eventsFrom(csv)}`);
    await c.run('BEGIN TRANSACTION');
    try {
      await c.run(`DELETE FROM event_rows WHERE id IN (SELECT id FROM events_new)`);
      await c.run(`INSERT INTO event_rows SELECT * FROM events_new`);
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK');
      throw error;
    }
    await c.run(`DROP TABLE events_new`);
  }

  /**
   * After loading: event (type, name) pairs seen for the first time get an id, and events that
   * arrived before their account or contact, which carry only the ids they were sent with, are
   * linked where they can be, through accounts, contacts and aliases. Returns how many were linked.
   */
  async resolveEvents(): Promise<number> {
    const c = this.connection;
    await c.run(`
      INSERT INTO event_names
      SELECT COALESCE((SELECT max(id) FROM event_names), 0) + row_number() OVER (ORDER BY type, name), type, name
      FROM (SELECT DISTINCT type, name FROM event_rows WHERE name_id IS NULL)`);
    await c.run(`
      UPDATE event_rows SET name_id = n.id, type = NULL, name = NULL
      FROM event_names n
      WHERE event_rows.name_id IS NULL AND n.type = event_rows.type AND n.name = event_rows.name`);
    await c.run(`
      CREATE OR REPLACE TEMP TABLE resolved AS
      SELECT u.id, COALESCE(a.id, ct.account_id) AS account_id, ct.id AS contact_id
      FROM event_rows u
      LEFT JOIN accounts a ON a.external_id = u.group_id
      LEFT JOIN identity_aliases al ON al.previous_id = COALESCE(u.user_id, u.anonymous_id)
      LEFT JOIN contacts ct ON ct.external_id = COALESCE(al.user_id, u.user_id)
      WHERE u.account_id IS NULL AND COALESCE(a.id, ct.account_id) IS NOT NULL`);
    await c.run(`
      UPDATE event_rows SET account_id = r.account_id, contact_id = COALESCE(event_rows.contact_id, r.contact_id),
                            user_id = NULL, group_id = NULL, anonymous_id = NULL
      FROM resolved r WHERE event_rows.id = r.id`);
    const reader = await c.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM resolved`);
    await c.run(`DROP TABLE resolved`);
    return Number(reader.getRowObjectsJson()[0]!.n);
  }

  async rows<T>(sql: string): Promise<T[]> {
    return (await this.connection.runAndReadAll(sql)).getRowObjectsJson() as T[];
  }

  /**
   * Like rows(), for wide results read whole (features of every account): DuckDB writes each row as
   * JSON text and V8 parses it, several times faster than converting value by value (measured: 10,000
   * rows x 50 columns in 0.2 s instead of 0.33 s). Whole numbers arrive as numbers (rows() gives
   * BIGINT as text), and a non-finite double as null.
   */
  async jsonRows<T>(sql: string): Promise<T[]> {
    const reader = await this.connection.runAndReadAll(`SELECT to_json(q)::VARCHAR AS row FROM (${sql}) q`);
    // No rows: DuckDB answers no columns at all.
    return (reader.getColumns()[0] ?? []).map((value) => parseJsonRow(String(value)) as T);
  }

  close(): void {
    this.connection.closeSync();
    this.instance.closeSync();
  }
}
