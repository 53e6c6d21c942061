import { Inject, Injectable } from '@nestjs/common';
import type pg from 'pg';
import { PG_POOL, inTransaction } from '../database/pg-pool.module.js';
import { insertRejectedItems, type RejectedItemRow } from '../rejected-items/rejected-items.sql.js';
import type { AliasMessage, EventMessage, GroupMessage } from './segment-messages.js';

/** One contact's merged identify / group facts from a batch. */
export interface ContactUpsert {
  externalId: string;
  email: string | null;
  name: string | null;
  accountExternalId: string | null;
  traits: Record<string, unknown>;
  at: string;
}

export interface IngestWrite {
  sourceId: number;
  events: EventMessage[];
  groups: GroupMessage[];
  contacts: ContactUpsert[];
  aliases: AliasMessage[];
  rejected: RejectedItemRow[];
}

// A message older than what is stored only fills gaps; a newer one wins. Keeps an SDK's late retry
// of an old identify from overwriting newer traits.
const NEWER = (t: string) => `(${t}.traits_at IS NULL OR EXCLUDED.traits_at >= ${t}.traits_at)`;
const latest = (t: string, column: string) =>
  `${column} = CASE WHEN ${NEWER(t)} THEN COALESCE(EXCLUDED.${column}, ${t}.${column}) ELSE COALESCE(${t}.${column}, EXCLUDED.${column}) END`;

/** The write path of /v1: set-based statements (unnest), never one statement per event. */
@Injectable()
export class IngestRepository {
  constructor(@Inject(PG_POOL) private readonly pool: pg.Pool) {}

  /** Stores a batch; returns how many events were new. Everything commits together or not at all. */
  async write(batch: IngestWrite): Promise<number> {
    const onlyEvents =
      batch.groups.length + batch.contacts.length + batch.aliases.length + batch.rejected.length === 0;
    // The common case, a batch of track calls, is one statement: no transaction round trips.
    if (onlyEvents)
      return batch.events.length ? this.insertEvents(this.pool, batch.sourceId, batch.events) : 0;
    return inTransaction(this.pool, async (client) => {
      if (batch.groups.length) await this.upsertAccounts(client, batch.groups);
      if (batch.contacts.length) await this.upsertContacts(client, batch.contacts);
      if (batch.groups.length || batch.contacts.length)
        await linkDangling(
          client,
          batch.groups.map((g) => g.groupId),
          batch.contacts.map((c) => c.externalId),
        );
      if (batch.aliases.length) await this.upsertAliases(client, batch.aliases);
      const inserted = batch.events.length
        ? await this.insertEvents(client, batch.sourceId, batch.events)
        : 0;
      await insertRejectedItems(client, batch.rejected);
      return inserted;
    });
  }

  private async insertEvents(
    db: pg.Pool | pg.ClientBase,
    sourceId: number,
    events: EventMessage[],
  ): Promise<number> {
    const result = await db.query(
      `INSERT INTO events (message_id, source_id, account_id, contact_id, user_id, group_id, anonymous_id,
                           type, name, timestamp, properties)
       SELECT e.message_id, $1, COALESCE(a.id, c.account_id), c.id, e.user_id, e.group_id, e.anonymous_id,
              e.type, e.name, e.ts, e.props::jsonb
       FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[], $9::text[])
         AS e(message_id, user_id, group_id, anonymous_id, type, name, ts, props)
       LEFT JOIN accounts a ON a.external_id = e.group_id
       LEFT JOIN identity_aliases al ON al.previous_id = COALESCE(e.user_id, e.anonymous_id)
       LEFT JOIN contacts c ON c.external_id = COALESCE(al.user_id, e.user_id)
       ON CONFLICT (message_id) DO NOTHING`,
      [
        sourceId,
        events.map((e) => e.messageId),
        events.map((e) => e.userId),
        events.map((e) => e.groupId),
        events.map((e) => e.anonymousId),
        events.map((e) => e.type),
        events.map((e) => e.name),
        events.map((e) => e.timestamp),
        events.map((e) => e.properties),
      ],
    );
    return result.rowCount ?? 0;
  }

  private async upsertAccounts(client: pg.ClientBase, groups: GroupMessage[]): Promise<void> {
    const sorted = [...groups].sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
    const col = <T>(pick: (g: GroupMessage) => T) => sorted.map(pick);
    const params = [
      col((g) => g.groupId),
      col((g) => g.account.name),
      col((g) => g.account.plan),
      col((g) => g.account.mrr),
      col((g) => g.account.seats),
      col((g) => g.account.employees),
      col((g) => g.account.region),
      col((g) => g.account.owner),
      col((g) => g.account.createdAt),
      col((g) => g.account.churnedAt),
      col((g) => JSON.stringify(g.traits)),
      col((g) => g.timestamp),
    ];
    const source = `unnest($1::text[], $2::text[], $3::text[], $4::numeric[], $5::int[], $6::int[], $7::text[],
                           $8::text[], $9::timestamptz[], $10::timestamptz[], $11::text[], $12::timestamptz[])
      AS g(external_id, name, plan, mrr, seats, employees, region, owner, created_at, churned_at, traits, at)`;
    // New accounts first (an account without a name is named by its id until a group call names it),
    // then every account in the batch gets the traits the messages carry.
    await client.query(
      `INSERT INTO accounts (external_id, name, created_at, traits_at)
       SELECT g.external_id, COALESCE(g.name, g.external_id), COALESCE(g.created_at, g.at), g.at FROM ${source}
       ON CONFLICT (external_id) DO NOTHING`,
      params,
    );
    const newer = '(t.traits_at IS NULL OR g.at >= t.traits_at)';
    const merge = (c: string) =>
      `${c} = CASE WHEN ${newer} THEN COALESCE(g.${c}, t.${c}) ELSE COALESCE(t.${c}, g.${c}) END`;
    await client.query(
      `UPDATE accounts t SET
         ${['name', 'plan', 'mrr', 'seats', 'employees', 'region', 'owner', 'created_at', 'churned_at'].map(merge).join(',\n         ')},
         traits = CASE WHEN ${newer} THEN t.traits || g.traits::jsonb ELSE g.traits::jsonb || t.traits END,
         traits_at = GREATEST(t.traits_at, g.at)
       FROM ${source}
       WHERE t.external_id = g.external_id`,
      params,
    );
  }

  private async upsertContacts(client: pg.ClientBase, contacts: ContactUpsert[]): Promise<void> {
    const sorted = [...contacts].sort((a, b) => (a.externalId < b.externalId ? -1 : 1));
    await client.query(
      `INSERT INTO contacts AS t (external_id, email, name, traits, account_external_id, account_id, traits_at)
       SELECT i.external_id, i.email, i.name, i.traits::jsonb, i.account_external_id, acc.id, i.at
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
         AS i(external_id, email, name, traits, account_external_id, at)
       LEFT JOIN accounts acc ON acc.external_id = i.account_external_id
       ON CONFLICT (external_id) DO UPDATE SET
         ${['email', 'name', 'account_external_id'].map((c) => latest('t', c)).join(',\n         ')},
         account_id = CASE WHEN ${NEWER('t')} AND EXCLUDED.account_external_id IS NOT NULL THEN EXCLUDED.account_id
                           ELSE COALESCE(t.account_id, EXCLUDED.account_id) END,
         traits = CASE WHEN ${NEWER('t')} THEN t.traits || EXCLUDED.traits ELSE EXCLUDED.traits || t.traits END,
         traits_at = GREATEST(t.traits_at, EXCLUDED.traits_at)`,
      [
        sorted.map((c) => c.externalId),
        sorted.map((c) => c.email),
        sorted.map((c) => c.name),
        sorted.map((c) => JSON.stringify(c.traits)),
        sorted.map((c) => c.accountExternalId),
        sorted.map((c) => c.at),
      ],
    );
  }

  private async upsertAliases(client: pg.ClientBase, aliases: AliasMessage[]): Promise<void> {
    const latestByPrevious = new Map(aliases.map((a) => [a.previousId, a.userId]));
    await client.query(
      `INSERT INTO identity_aliases (previous_id, user_id)
       SELECT * FROM unnest($1::text[], $2::text[])
       ON CONFLICT (previous_id) DO UPDATE SET user_id = EXCLUDED.user_id`,
      [[...latestByPrevious.keys()], [...latestByPrevious.values()]],
    );
  }
}

/**
 * Contacts and tickets keep the external ids of their account and contact; when those arrive
 * later (a group call, an account import), this links what was waiting for them.
 */
export async function linkDangling(
  client: pg.ClientBase,
  accountExternalIds: readonly string[],
  contactExternalIds: readonly string[],
): Promise<void> {
  if (accountExternalIds.length) {
    await client.query(
      `UPDATE contacts c SET account_id = a.id FROM accounts a
       WHERE c.account_id IS NULL AND c.account_external_id = a.external_id AND a.external_id = ANY($1::text[])`,
      [accountExternalIds],
    );
    await client.query(
      `UPDATE tickets t SET account_id = a.id FROM accounts a
       WHERE t.account_id IS NULL AND t.account_external_id = a.external_id AND a.external_id = ANY($1::text[])`,
      [accountExternalIds],
    );
  }
  if (contactExternalIds.length) {
    await client.query(
      `UPDATE tickets t SET contact_id = c.id, account_id = COALESCE(t.account_id, c.account_id) FROM contacts c
       WHERE t.contact_id IS NULL AND t.contact_external_id = c.external_id AND c.external_id = ANY($1::text[])`,
      [contactExternalIds],
    );
  }
}
