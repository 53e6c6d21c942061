import { SegmentKeySchema } from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

/**
 * The builder: the fields a filter may use, the custom segments and the event names to suggest as
 * goals; ?segment= picks segments to start with.
 */
export const load: PageLoad = ({ fetch, url }) => {
  const client = createApiClient(fetch);
  const segments = url.searchParams
    .getAll('segment')
    .filter((key) => SegmentKeySchema.safeParse(key).success);
  return {
    initialSegments: [...new Set(segments)],
    fields: stream(client.campaignFields()),
    goalEvents: stream(client.goalEvents()),
    customSegments: stream(client.customSegments()),
  };
};
