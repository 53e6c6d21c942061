import { z } from 'zod';

export const IMPORT_KINDS = ['accounts', 'contacts', 'tickets'] as const;
export type ImportKind = (typeof IMPORT_KINDS)[number];
export const IMPORT_FORMATS = ['csv', 'ndjson', 'json', 'zendesk'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];
export const IMPORT_STATUSES = ['queued', 'running', 'succeeded', 'failed'] as const;

/** One refused row of an import or a POST /api/tickets body. */
export const RowErrorSchema = z
  .object({
    index: z.number().int().describe('0-based position of the row or item'),
    line: z.number().int().nullable().describe('1-based line in the file (the CSV header is line 1)'),
    externalId: z.string().nullable(),
    code: z.string(),
    message: z.string().describe('Names the column and what is wrong with it'),
  })
  .meta({ id: 'RowError' });
export type RowErrorBody = z.infer<typeof RowErrorSchema>;

/** Counts of a finished write of rows. `inserted + updated + duplicates + pending + rejected = received`. */
export const ImportCountsSchema = z.object({
  received: z.number().int().describe('Rows or items read'),
  inserted: z.number().int().describe('New rows'),
  updated: z.number().int().describe('Rows that existed (same external id) and were updated'),
  duplicates: z
    .number()
    .int()
    .describe(
      'Rows about the same record as a later row of the same input: merged into it, the later values winning',
    ),
  pending: z
    .number()
    .int()
    .describe('Ticket metrics or ratings kept until their ticket arrives (they never create a ticket)'),
  rejected: z.number().int().describe('Rows refused; each is listed with its line and reason'),
});
export type ImportCounts = z.infer<typeof ImportCountsSchema>;

export const TicketsWriteResponseSchema = ImportCountsSchema.extend({ errors: z.array(RowErrorSchema) }).meta(
  {
    id: 'TicketsWriteResponse',
  },
);
export type TicketsWriteResponse = z.infer<typeof TicketsWriteResponseSchema>;

export const ImportSchema = ImportCountsSchema.extend({
  id: z.number().int(),
  kind: z.enum(IMPORT_KINDS),
  format: z.enum(IMPORT_FORMATS),
  source: z.string().nullable().describe('Ticket source name (e.g. zendesk); tickets are unique per source'),
  fileName: z.string().nullable(),
  status: z.enum(IMPORT_STATUSES),
  progress: z.number().min(0).max(100).describe('Percent of the file processed'),
  bytesTotal: z.number().int().nullable(),
  bytesDone: z.number().int(),
  error: z.string().nullable().describe('Why the file as a whole could not be imported'),
  createdAt: z.iso.datetime(),
  startedAt: z.iso.datetime().nullable(),
  finishedAt: z.iso.datetime().nullable(),
}).meta({ id: 'Import' });
export type Import = z.infer<typeof ImportSchema>;

export const ImportListSchema = z.object({ imports: z.array(ImportSchema) }).meta({ id: 'ImportList' });
export type ImportList = z.infer<typeof ImportListSchema>;

export const REJECTED_KINDS = ['message', 'account', 'contact', 'ticket', 'ticket_update'] as const;

export const RejectedItemSchema = z
  .object({
    id: z.number().int(),
    receivedAt: z.iso.datetime(),
    kind: z.enum(REJECTED_KINDS),
    sourceId: z.number().int().nullable().describe('The /v1 source that sent it'),
    importId: z.number().int().nullable().describe('The import it came from'),
    index: z.number().int(),
    line: z.number().int().nullable(),
    itemId: z.string().nullable().describe('messageId or external id, when the item had one'),
    code: z.string(),
    message: z.string(),
    payload: z.string().nullable().describe('The item as received (first 32 KB)'),
    payloadTruncated: z.boolean(),
  })
  .meta({ id: 'RejectedItem' });
export type RejectedItem = z.infer<typeof RejectedItemSchema>;

export const RejectedItemsQuerySchema = z.object({
  kind: z.enum(REJECTED_KINDS).optional(),
  sourceId: z.coerce.number().int().positive().max(2_147_483_647).optional(),
  importId: z.coerce.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
  before: z.coerce.number().int().positive().optional().describe('Cursor: return items with a smaller id'),
});
export type RejectedItemsQuery = z.infer<typeof RejectedItemsQuerySchema>;

export const RejectedItemPageSchema = z
  .object({
    items: z.array(RejectedItemSchema),
    nextBefore: z.number().int().nullable().describe('Pass as `before` for the next page; null at the end'),
  })
  .meta({ id: 'RejectedItemPage' });
export type RejectedItemPage = z.infer<typeof RejectedItemPageSchema>;
