import { redirect } from '@sveltejs/kit';
import { ApiError, createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { LayoutLoad } from './$types';

// The dashboard is a client-side app served by the API; it has no server of its own.
export const ssr = false;
export const prerender = false;

/**
 * Every page needs someone signed in (the sign-in page aside), and shows when the numbers were
 * computed: the latest analytics run.
 */
export const load: LayoutLoad = async ({ fetch, depends, url }) => {
  depends('api:session');
  if (url.pathname === '/login') return { session: null, runs: null };
  const client = createApiClient(fetch);
  const session = await client.session().catch((error: unknown) => {
    if (error instanceof ApiError && error.status === 401)
      redirect(307, `/login?next=${encodeURIComponent(url.pathname + url.search)}`);
    throw error;
  });
  depends('api:runs');
  return { session, runs: stream(client.analyticsRuns()) };
};
