import { SegmentKeySchema } from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

/** The builder: the fields a filter may use and the custom segments; ?segment= picks segments to start with. */
export const load: PageLoad = ({ fetch, url }) => {
  const client = createApiClient(fetch);
  const segments = url.searchParams
    .getAll('segment')
    .filter((key) => SegmentKeySchema.safeParse(key).success);
  return {
    initialSegments: [...new Set(segments)],
    fields: stream(client.campaignFields()),
    customSegments: stream(client.customSegments()),
  };
};
