import { z } from 'zod';

/** Every error the API answers has this body, whatever the route. */
export const ErrorBodySchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable, machine-readable error code, e.g. VALIDATION_FAILED'),
      message: z.string().describe('What went wrong, for a human'),
      details: z.unknown().optional().describe('Structured context, e.g. the invalid fields'),
    }),
  })
  .meta({ id: 'ErrorBody' });
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** One invalid field in a VALIDATION_FAILED error's details. */
export const FieldIssueSchema = z.object({
  path: z.string().describe('Dotted path of the field, e.g. "batch.3.timestamp"'),
  message: z.string(),
});
export type FieldIssue = z.infer<typeof FieldIssueSchema>;
