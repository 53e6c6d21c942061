import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

export const load: PageLoad = ({ fetch, depends }) => {
  depends('api:campaigns');
  return { campaigns: stream(createApiClient(fetch).campaigns()) };
};
