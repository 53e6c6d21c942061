import { REJECTED_KINDS } from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

type RejectedKind = (typeof REJECTED_KINDS)[number];

/** ?import=12 shows that import's refused rows; ?kind=ticket narrows them to one kind. */
export const load: PageLoad = ({ fetch, depends, url }) => {
  depends('api:sources', 'api:imports');
  const client = createApiClient(fetch);
  const importId = Number(url.searchParams.get('import')) || undefined;
  const kindParam = url.searchParams.get('kind');
  const kind = (REJECTED_KINDS as readonly string[]).includes(kindParam ?? '')
    ? (kindParam as RejectedKind)
    : undefined;
  return {
    importId,
    kind,
    sources: stream(client.sources()),
    imports: stream(client.imports()),
    rejected: stream(client.rejectedItems({ importId, kind, limit: 25 })),
  };
};
