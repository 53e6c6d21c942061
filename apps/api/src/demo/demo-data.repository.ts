import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** Demo data goes in with COPY, all tables in one transaction: a crash leaves no half data set. */
const DEMO_LOCK = 72_657_002;

/** Batches rows into ~256 KB chunks so COPY gets few, large writes. */
async function* chunked(rows: Iterable<string>): AsyncGenerator<string> {
  let buffer = '';
  for (const row of rows) {
    buffer += row;
    if (buffer.length >= 262_144) {
      yield buffer;
      buffer = '';
    }
  }
  if (buffer.length > 0) yield buffer;
}

export class DemoDataTransaction {
  constructor(private readonly client: pg.Client) {}

  /** True when any data table already has rows. */
  async hasData(): Promise<boolean> {
    const result = await this.client.query<{ found: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM contacts)
           OR EXISTS (SELECT 1 FROM events) OR EXISTS (SELECT 1 FROM tickets) AS found`,
    );
    return result.rows[0]!.found;
  }

  async truncateAll(): Promise<void> {
    await this.client.query('TRUNCATE tickets, events, contacts, accounts RESTART IDENTITY CASCADE');
    // Campaigns (their members went with the contacts) and how far contact activity was read.
    await this.client.query('TRUNCATE campaigns, contact_activity_state RESTART IDENTITY CASCADE');
  }

  /** One row's id from an INSERT ... RETURNING id. */
  async insertReturningId(sql: string, params: unknown[]): Promise<number> {
    const result = await this.client.query<{ id: string }>(sql, params);
    return Number(result.rows[0]!.id);
  }

  async markUnsubscribed(contactExternalIds: string[]): Promise<void> {
    await this.client.query(
      `UPDATE contacts SET traits = traits || '{"unsubscribed": true}'::jsonb WHERE external_id = ANY($1)`,
      [contactExternalIds],
    );
  }

  async copy(table: string, columns: string[], rows: Iterable<string>): Promise<void> {
    const sql = `COPY ${table} (${columns.join(', ')}) FROM STDIN WITH (FORMAT text)`;
    await pipeline(Readable.from(chunked(rows)), this.client.query(copyFrom(sql)));
  }

  async idsByExternalId(table: 'accounts' | 'contacts'): Promise<Map<string, number>> {
    const result = await this.client.query<{ id: string; external_id: string }>(
      `SELECT id, external_id FROM ${table}`,
    );
    return new Map(result.rows.map((row) => [row.external_id, Number(row.id)]));
  }

  async analyze(): Promise<void> {
    await this.client.query('ANALYZE accounts, contacts, events, tickets');
  }
}

export class DemoDataRepository {
  constructor(private readonly databaseUrl: string) {}

  /**
   * Runs `work` in one transaction holding the demo lock, so two processes never load demo data
   * at once and readers see all of it or none.
   */
  async inTransaction<T>(work: (tx: DemoDataTransaction) => Promise<T>): Promise<T> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'retain-demo' });
    // A lost connection rejects the running query; without a listener it would also crash the process.
    client.on('error', () => undefined);
    await client.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [DEMO_LOCK]);
      const result = await work(new DemoDataTransaction(client));
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      await client.end();
    }
  }
}
