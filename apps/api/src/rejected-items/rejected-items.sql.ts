import type pg from 'pg';

/** Payloads are kept up to this many characters; enough to see what was wrong with an item. */
export const MAX_PAYLOAD_CHARS = 32 * 1024;

export type RejectedKind = 'message' | 'account' | 'contact' | 'ticket' | 'ticket_update';

export interface RejectedItemRow {
  kind: RejectedKind;
  sourceId: number | null;
  importId: string | null;
  index: number;
  line: number | null;
  itemId: string | null;
  code: string;
  message: string;
  payload: string | null;
}

/** Stores refused items in the caller's transaction, so they are kept exactly when the rest is. */
export async function insertRejectedItems(
  client: pg.ClientBase,
  rows: readonly RejectedItemRow[],
): Promise<void> {
  if (rows.length === 0) return;
  const payloads = rows.map((r) => r.payload?.slice(0, MAX_PAYLOAD_CHARS).replaceAll('\0', '\uFFFD') ?? null);
  await client.query(
    `INSERT INTO rejected_items (kind, source_id, import_id, item_index, line, item_id, code, message, payload, payload_truncated)
     SELECT r.kind, r.source_id, r.import_id, r.item_index, r.line, r.item_id, r.code, r.message,
            r.payload, r.truncated
     FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[],
                 $9::text[], $10::boolean[])
       AS r(kind, source_id, import_id, item_index, line, item_id, code, message, payload, truncated)`,
    [
      rows.map((r) => r.kind),
      rows.map((r) => r.sourceId),
      rows.map((r) => r.importId),
      rows.map((r) => r.index),
      rows.map((r) => r.line),
      rows.map((r) => r.itemId?.replaceAll('\0', '\uFFFD') ?? null),
      rows.map((r) => r.code),
      rows.map((r) => r.message.replaceAll('\0', '\uFFFD')),
      payloads,
      rows.map((r) => (r.payload?.length ?? 0) > MAX_PAYLOAD_CHARS),
    ],
  );
}
