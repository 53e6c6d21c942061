import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { LayoutLoad } from './$types';

// The dashboard is a client-side app served by the API; it has no server of its own.
export const ssr = false;
export const prerender = false;

/** Every page shows when the numbers were computed: the latest analytics run. */
export const load: LayoutLoad = ({ fetch, depends }) => {
  depends('api:runs');
  return { runs: stream(createApiClient(fetch).analyticsRuns()) };
};
