import { accountListQuery, readAccountListState } from '$lib/account-query';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

/** The enterprise list by default; ?tier=all widens it to every tier. */
export const load: PageLoad = ({ fetch, url, depends }) => {
  depends('api:runs');
  const client = createApiClient(fetch);
  const state = readAccountListState(url.searchParams, { tier: 'enterprise' });
  return {
    state,
    list: stream(client.accounts(accountListQuery(state))),
    owners: stream(client.owners()),
    customSegments: stream(client.customSegments()),
  };
};
