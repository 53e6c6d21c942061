import { Injectable } from '@nestjs/common';
import type {
  SupportCell,
  SupportComments,
  SupportCommentsQuery,
  SupportMatrix,
  SupportTrends,
  SupportTrendsQuery,
} from '@retain/contracts';
import { addDays, csatPct, isoDay, periodOf, startOfIsoWeek } from './dashboard-sql.js';
import { DashboardSnapshotsService } from './dashboard-snapshots.service.js';
import { SegmentScopes } from './segment-scope.js';
import { SupportQualityRepository, type SupportMetricRecord } from './support-quality.repository.js';

/** The weeks of tickets the analytics job measures (03_support_metrics.sql): this one and 25 before. */
const MEASURED_WEEKS = 26;

const toCell = (r: SupportMetricRecord): SupportCell => ({
  channel: r.channel,
  segment: r.segment,
  tickets: r.tickets,
  responded: r.responded,
  asaMeanMinutes: r.asa_mean_minutes,
  asaMedianMinutes: r.asa_median_minutes,
  asaP90Minutes: r.asa_p90_minutes,
  asaBusinessMeanMinutes: r.asa_business_mean_minutes,
  ratings: r.ratings,
  satisfied: r.satisfied,
  csatPct: csatPct(r.ratings, r.satisfied),
});

@Injectable()
export class SupportQualityService {
  constructor(
    private readonly support: SupportQualityRepository,
    private readonly snapshots: DashboardSnapshotsService,
    private readonly scopes: SegmentScopes,
  ) {}

  matrix(): Promise<SupportMatrix> {
    return this.snapshots.get<SupportMatrix>(
      'support-matrix',
      async (run) => {
        const rows = await this.support.metrics(['channel_segment', 'channel', 'segment', 'all']);
        const of = (grouping: string) => rows.filter((r) => r.grouping === grouping).map(toCell);
        const firstWeek = addDays(startOfIsoWeek(run.asOf), -7 * (MEASURED_WEEKS - 1));
        return {
          asOf: run.asOf.toISOString(),
          period: periodOf(firstWeek, run.asOf),
          cells: of('channel_segment'),
          channels: of('channel'),
          segments: of('segment'),
          total: of('all')[0] ?? null,
        };
      },
      () => ({ asOf: null, period: null, cells: [], channels: [], segments: [], total: null }),
    );
  }

  trends(query: SupportTrendsQuery): Promise<SupportTrends> {
    // One filter at most makes sense: a channel's segments, or a segment's channels.
    const channel = query.by === 'segment' ? (query.channel ?? null) : null;
    const segment = query.by === 'channel' ? (query.segment ?? null) : null;
    return this.snapshots.get<SupportTrends>(
      `support-trends:${query.by}:${query.weeks}:${channel ?? ''}:${segment ?? ''}`,
      async (run) => {
        const firstWeek = addDays(startOfIsoWeek(run.asOf), -7 * (query.weeks - 1));
        const grouping = channel || segment ? 'channel_segment_week' : `${query.by}_week`;
        const rows = (await this.support.metrics([grouping], isoDay(firstWeek))).filter(
          (r) => (!channel || r.channel === channel) && (!segment || r.segment === segment),
        );
        return {
          by: query.by,
          channel,
          segment,
          period: periodOf(firstWeek, run.asOf),
          rows: rows.map((r) => {
            const { channel: c, segment: s, ...figures } = toCell(r);
            return { week: r.week ?? '', key: (query.by === 'channel' ? c : s) ?? '', ...figures };
          }),
        };
      },
      () => ({ by: query.by, channel, segment, period: null, rows: [] }),
    );
  }

  /** Newest first; an account manager (`owner`) reads only the comments of the accounts they own. */
  async comments(query: SupportCommentsQuery, owner: string | null = null): Promise<SupportComments> {
    const { segment, ...rest } = query;
    const scope = segment ? await this.scopes.resolve(segment) : undefined;
    const page = await this.support.comments({
      ...rest,
      ...SegmentScopes.filter(scope),
      ...(owner !== null ? { owner } : {}),
    });
    return { comments: page.comments, nextBefore: page.next };
  }
}
