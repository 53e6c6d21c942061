import { Injectable } from '@nestjs/common';
import type { SegmentSummary } from '@retain/contracts';
import { addDays, periodOf, startOfUtcDay, toRiskMix } from './dashboard-sql.js';
import type { ServedRun } from './dashboard-snapshots.repository.js';
import { DashboardSnapshotsService } from './dashboard-snapshots.service.js';
import { SegmentScopes, type SegmentScope } from './segment-scope.js';
import { SegmentSummaryRepository } from './segment-summary.repository.js';
import { SupportQualityRepository } from './support-quality.repository.js';

/** Days of tickets the segment page's channel mix covers, up to the last run. */
const TICKET_DAYS = 90;
const CHURN_REASONS = 10;
const RECENT_COMMENTS = 10;

/** The segment page: size, risk distribution, reasons, ticket mix and the latest comments. */
@Injectable()
export class SegmentSummaryService {
  constructor(
    private readonly summary: SegmentSummaryRepository,
    private readonly support: SupportQualityRepository,
    private readonly scopes: SegmentScopes,
    private readonly snapshots: DashboardSnapshotsService,
  ) {}

  async get(key: string): Promise<SegmentSummary> {
    const scope = await this.scopes.resolve(key);
    const filter = SegmentScopes.filter(scope);
    // A custom segment's members change when it is edited, not only at a run.
    const version = scope.kind === 'custom' ? `:${scope.updatedAt}` : '';
    const [aggregates, comments] = await Promise.all([
      this.snapshots.get(
        `segment:${key}${version}`,
        (run) => this.compute(scope, run),
        () => this.empty(scope),
      ),
      this.support.comments({ limit: RECENT_COMMENTS, ...filter }),
    ]);
    return { ...aggregates, recentComments: comments.comments };
  }

  private async compute(
    scope: SegmentScope,
    run: ServedRun,
  ): Promise<Omit<SegmentSummary, 'recentComments'>> {
    const filter = SegmentScopes.filter(scope);
    const from = addDays(startOfUtcDay(run.asOf), -(TICKET_DAYS - 1));
    const [accounts, riskHistogram, churnReasons, upsellReasons, channels] = await Promise.all([
      this.summary.accounts(filter),
      this.summary.riskHistogram(filter),
      this.summary.churnReasons(filter, CHURN_REASONS),
      this.summary.upsellReasons(filter),
      this.summary.ticketsByChannel(filter, from, run.asOf),
    ]);
    return {
      key: scope.key,
      kind: scope.kind,
      name: scope.name,
      asOf: run.asOf.toISOString(),
      accounts: accounts.accounts,
      mrr: accounts.mrr,
      meanChurnRisk: accounts.mean_risk,
      riskMix: toRiskMix(accounts),
      riskHistogram,
      churnReasons,
      upsellReasons,
      ticketsByChannel: { period: periodOf(from, run.asOf), rows: channels },
    };
  }

  private empty(scope: SegmentScope): Omit<SegmentSummary, 'recentComments'> {
    return {
      key: scope.key,
      kind: scope.kind,
      name: scope.name,
      asOf: null,
      accounts: 0,
      mrr: 0,
      meanChurnRisk: null,
      riskMix: { low: 0, medium: 0, high: 0, unscored: 0 },
      riskHistogram: Array.from({ length: 10 }, (_, i) => ({ from: i / 10, to: (i + 1) / 10, accounts: 0 })),
      churnReasons: [],
      upsellReasons: [],
      ticketsByChannel: { period: null, rows: [] },
    };
  }
}
