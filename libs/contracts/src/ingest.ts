import { z } from 'zod';

/** Why one item (an event, a CSV row, a ticket) was refused. Stable: scripts match on them. */
export const ITEM_ERROR_CODES = [
  'INVALID_JSON',
  'MISSING_FIELD',
  'INVALID_FIELD',
  'INVALID_TIMESTAMP',
  'MISSING_IDENTITY',
  'UNSUPPORTED_TYPE',
  'ITEM_TOO_LARGE',
] as const;
export type ItemErrorCode = (typeof ITEM_ERROR_CODES)[number];

export const ItemErrorSchema = z
  .object({
    index: z.number().int().describe('0-based position of the item in the batch or file'),
    messageId: z.string().nullable().describe('The item’s messageId, when it had one'),
    code: z.enum(ITEM_ERROR_CODES),
    message: z.string().describe('What is wrong, naming the field'),
  })
  .meta({ id: 'ItemError' });
export type ItemError = z.infer<typeof ItemErrorSchema>;

/** The answer to every /v1 call. `accepted + duplicates + rejected = received`. */
export const IngestResponseSchema = z
  .object({
    received: z.number().int().describe('Items in the request'),
    accepted: z.number().int().describe('Items stored by this request'),
    duplicates: z.number().int().describe('Events whose messageId was already stored; not stored again'),
    rejected: z
      .number()
      .int()
      .describe('Items refused; each is listed in errors and kept as a rejected item'),
    errors: z.array(ItemErrorSchema),
  })
  .meta({ id: 'IngestResponse' });
export type IngestResponse = z.infer<typeof IngestResponseSchema>;
