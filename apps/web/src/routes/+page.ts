import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

/** Periods the overview offers; the API accepts 7 to 90 days. */
export const OVERVIEW_PERIODS = [7, 30, 90] as const;
const DEFAULT_DAYS = 30;

export const load: PageLoad = ({ fetch, depends, url }) => {
  depends('api:runs');
  const client = createApiClient(fetch);
  const asked = Number(url.searchParams.get('days'));
  const days = (OVERVIEW_PERIODS as readonly number[]).includes(asked) ? asked : DEFAULT_DAYS;
  return {
    days,
    overview: stream(client.overview({ days })),
    trends: stream(client.trends({ weeks: 12 })),
    matrix: stream(client.supportMatrix()),
    movements: stream(client.movements({ limit: 12 })),
  };
};
