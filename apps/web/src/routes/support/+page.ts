import {
  BaseSegmentSchema,
  SupportCommentsQuerySchema,
  TICKET_CHANNELS,
  type SupportCommentsQuery,
  type TicketChannel,
} from '@retain/contracts';
import { createApiClient } from '$lib/api/client';
import { stream } from '$lib/api/stream';
import type { PageLoad } from './$types';

export const COMMENTS_PAGE_SIZE = 20;

export interface SupportPageState {
  /** Trends split by channel or by segment. */
  by: 'channel' | 'segment';
  channel?: TicketChannel;
  segment?: string;
  satisfied?: boolean;
  week?: string;
}

/** ?by=segment&channel=chat&segment=smb-novice&satisfied=false&week=2026-11-16 */
function readState(params: URLSearchParams): SupportPageState {
  const channel = params.get('channel');
  const segment = BaseSegmentSchema.safeParse(params.get('segment'));
  const satisfied = params.get('satisfied');
  const week = SupportCommentsQuerySchema.shape.week.safeParse(params.get('week') ?? undefined);
  return {
    by: params.get('by') === 'segment' ? 'segment' : 'channel',
    channel: (TICKET_CHANNELS as readonly string[]).includes(channel ?? '')
      ? (channel as TicketChannel)
      : undefined,
    segment: segment.success ? segment.data : undefined,
    satisfied: satisfied === 'true' ? true : satisfied === 'false' ? false : undefined,
    week: week.success ? week.data : undefined,
  };
}

export const load: PageLoad = ({ fetch, url, depends }) => {
  depends('api:runs');
  const client = createApiClient(fetch);
  const state = readState(url.searchParams);
  const comments: Partial<SupportCommentsQuery> = {
    channel: state.channel,
    segment: state.segment,
    satisfied: state.satisfied,
    week: state.week,
    limit: COMMENTS_PAGE_SIZE,
  };
  return {
    state,
    commentsQuery: comments,
    matrix: stream(client.supportMatrix()),
    trends: stream(
      client.supportTrends({
        by: state.by,
        weeks: 26,
        // A trend split by channel can be narrowed to a segment, and the other way round.
        channel: state.by === 'segment' ? state.channel : undefined,
        segment: state.by === 'channel' ? state.segment : undefined,
      }),
    ),
    comments: stream(client.supportComments(comments)),
  };
};
