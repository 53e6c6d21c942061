import { error } from '@sveltejs/kit';
import { CAMPAIGN_GROUPS, type CampaignGroup } from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

export const MEMBERS_PAGE_SIZE = 25;

/** A campaign's page; ?group=contacted|holdout and ?after=<contact id> page its members. */
export const load: PageLoad = ({ fetch, params, url, depends }) => {
  depends('api:campaign');
  if (!/^[1-9][0-9]{0,15}$/.test(params.id)) error(404, `No campaign "${params.id}"`);
  const id = Number(params.id);
  const client = createApiClient(fetch);
  const groupParam = url.searchParams.get('group');
  const group = (CAMPAIGN_GROUPS as readonly string[]).includes(groupParam ?? '')
    ? (groupParam as CampaignGroup)
    : undefined;
  const after = Math.floor(Number(url.searchParams.get('after'))) || undefined;
  return {
    id,
    group,
    after,
    campaign: stream(client.campaign(id)),
    outcome: stream(client.campaignOutcome(id)),
    history: stream(client.campaignAudienceHistory(id)),
    deliveries: stream(client.campaignDeliveries(id)),
    members: stream(client.campaignMembers(id, { group, after, limit: MEMBERS_PAGE_SIZE })),
    customSegments: stream(client.customSegments()),
  };
};
