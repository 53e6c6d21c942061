import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ fetch, depends }) => {
  depends('api:runs', 'api:thresholds');
  const client = createApiClient(fetch);
  return { runs: stream(client.analyticsRuns()), thresholds: stream(client.thresholds()) };
};
