import { z } from 'zod';

export const CreateSourceRequestSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters'),
  })
  .meta({ id: 'CreateSourceRequest' });
export type CreateSourceRequest = z.infer<typeof CreateSourceRequestSchema>;

/** Where events come from (an app, a website, a backend). The write key itself is never listed. */
export const SourceSchema = z
  .object({
    id: z.number().int(),
    name: z.string(),
    writeKeyPrefix: z.string().describe('First characters of the write key, to tell keys apart'),
    createdAt: z.iso.datetime(),
    revokedAt: z.iso.datetime().nullable(),
  })
  .meta({ id: 'Source' });
export type Source = z.infer<typeof SourceSchema>;

/** Answer to creating a source: the only time the write key is shown. */
export const CreatedSourceSchema = SourceSchema.extend({
  writeKey: z.string().describe('Send as the Basic-auth username, X-Write-Key header or writeKey body field'),
}).meta({ id: 'CreatedSource' });
export type CreatedSource = z.infer<typeof CreatedSourceSchema>;

export const SourceListSchema = z.object({ sources: z.array(SourceSchema) }).meta({ id: 'SourceList' });
export type SourceList = z.infer<typeof SourceListSchema>;
