import { error } from '@sveltejs/kit';
import { SegmentKeySchema } from '@retain/contracts';
import { accountListQuery, readAccountListState } from '$lib/account-query';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

/** A base segment (smb-novice) or a custom segment's id; its members' filters live in the URL. */
export const load: PageLoad = ({ fetch, params, url, depends }) => {
  depends('api:runs');
  const key = SegmentKeySchema.safeParse(params.key);
  if (!key.success) error(404, `No segment "${params.key}"`);
  const client = createApiClient(fetch);
  const state = { ...readAccountListState(url.searchParams), segment: key.data };
  return {
    key: key.data,
    state,
    summary: stream(client.segmentSummary(key.data)),
    members: stream(client.accounts(accountListQuery(state))),
    owners: stream(client.owners()),
  };
};
