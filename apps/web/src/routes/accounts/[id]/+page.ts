import { error } from '@sveltejs/kit';
import { AccountIdParamSchema } from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

export const TICKETS_PAGE_SIZE = 10;

/** The account 360; ?tickets=2 pages its tickets. */
export const load: PageLoad = ({ fetch, params, url, depends }) => {
  depends('api:runs');
  const parsed = AccountIdParamSchema.safeParse(params);
  if (!parsed.success) error(404, `No account "${params.id}"`);
  const { id } = parsed.data;
  const client = createApiClient(fetch);
  const ticketsPage = Math.max(1, Math.floor(Number(url.searchParams.get('tickets')) || 1));
  return {
    id,
    ticketsPage,
    account: stream(client.account(id)),
    activity: stream(client.accountActivity(id, { weeks: 26 })),
    tickets: stream(
      client.accountTickets(id, { limit: TICKETS_PAGE_SIZE, offset: (ticketsPage - 1) * TICKETS_PAGE_SIZE }),
    ),
  };
};
