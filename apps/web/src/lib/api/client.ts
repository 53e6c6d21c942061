import { ErrorBodySchema, HealthResponseSchema, type HealthResponse } from '@retain/contracts';
import type { z } from 'zod';

/** An error answered by the API, with its documented code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Fetch = typeof fetch;

/**
 * The one typed client for the Retain API. Pass SvelteKit's `fetch` from a load function so
 * requests are tracked as dependencies; every response is parsed with its shared zod schema.
 */
export function createApiClient(fetcher: Fetch = fetch, base = '') {
  async function get<S extends z.ZodType>(
    path: string,
    schema: S,
    okStatuses: number[] = [],
  ): Promise<z.infer<S>> {
    const response = await fetcher(`${base}${path}`, { headers: { accept: 'application/json' } });
    const body: unknown = await response.json().catch(() => null);
    if (!response.ok && !okStatuses.includes(response.status)) {
      const parsed = ErrorBodySchema.safeParse(body);
      if (parsed.success) {
        const { code, message, details } = parsed.data.error;
        throw new ApiError(response.status, code, message, details);
      }
      throw new ApiError(response.status, 'HTTP_ERROR', `${path} answered ${response.status}`);
    }
    return schema.parse(body);
  }

  return {
    /** 503 still carries a health report (a component is down), so it is not an error here. */
    health: (): Promise<HealthResponse> => get('/api/health', HealthResponseSchema, [503]),
  };
}

export type ApiClient = ReturnType<typeof createApiClient>;
