import { z } from 'zod';

export const ComponentStatusSchema = z.enum(['up', 'down']);

export const HealthResponseSchema = z
  .object({
    status: z.enum(['ok', 'degraded']).describe('ok when every component is up'),
    version: z.string(),
    uptimeSeconds: z.number(),
    database: z.object({
      status: ComponentStatusSchema,
      embedded: z.boolean().describe('true when Retain runs its own embedded PostgreSQL'),
      latencyMs: z.number().nullable(),
      error: z.string().optional(),
    }),
    duckdb: z.object({
      status: ComponentStatusSchema,
      version: z.string().nullable(),
      error: z.string().optional(),
    }),
  })
  .meta({ id: 'HealthResponse' });
export type HealthResponse = z.infer<typeof HealthResponseSchema>;
