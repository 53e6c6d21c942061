import { CAMPAIGN_LIST_PAGE_SIZE } from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

/** ?page=N (1-based) pages through the campaigns on the server. */
export const load: PageLoad = ({ fetch, url, depends }) => {
  depends('api:campaigns');
  const page = Math.max(1, Math.floor(Number(url.searchParams.get('page')) || 1));
  const offset = (page - 1) * CAMPAIGN_LIST_PAGE_SIZE;
  return {
    campaigns: stream(createApiClient(fetch).campaigns({ limit: CAMPAIGN_LIST_PAGE_SIZE, offset })),
  };
};
