import { Injectable } from '@nestjs/common';
import {
  PROFICIENCIES,
  RISK_BAND_RANGES,
  TIERS,
  type Overview,
  type OverviewQuery,
  type OverviewTotals,
  type TrendRow,
  type Trends,
  type TrendsQuery,
} from '@retain/contracts';
import {
  EMPTY_SUPPORT_FIGURES,
  addDays,
  csatPct,
  isoDay,
  periodOf,
  startOfIsoWeek,
  startOfUtcDay,
  toRiskMix,
  toSupportFigures,
} from './dashboard-sql.js';
import type { ServedRun } from './dashboard-snapshots.repository.js';
import { DashboardSnapshotsService } from './dashboard-snapshots.service.js';
import {
  OverviewRepository,
  type CellAccountsRow,
  type CellHistoryRow,
  type CellSupportRow,
} from './overview.repository.js';

/** The part of the overview that depends only on the served run (everything but lastRun). */
type OverviewSnapshot = Omit<Overview, 'lastRun'>;

const EMPTY_MIX = { low: 0, medium: 0, high: 0, unscored: 0 };

const difference = (now: number | null, before: number | null | undefined): number | null =>
  now === null || before === null || before === undefined ? null : now - before;

@Injectable()
export class OverviewService {
  constructor(
    private readonly overview: OverviewRepository,
    private readonly snapshots: DashboardSnapshotsService,
  ) {}

  async get(query: OverviewQuery): Promise<Overview> {
    const [lastRun, snapshot] = await Promise.all([
      this.overview.lastRun(),
      this.snapshots.get(
        `overview:${query.days}`,
        (run) => this.compute(run, query.days),
        () => this.empty(),
      ),
    ]);
    return { ...snapshot, lastRun };
  }

  async trends(query: TrendsQuery): Promise<Trends> {
    return this.snapshots.get(
      `trends:${query.by}:${query.weeks}`,
      (run) => this.computeTrends(run, query),
      () => ({ by: query.by, period: null, rows: [] }),
    );
  }

  private async compute(run: ServedRun, days: number): Promise<OverviewSnapshot> {
    const today = startOfUtcDay(run.asOf);
    const from = addDays(today, -(days - 1));
    const [accounts, support, comparedTo, movements] = await Promise.all([
      this.overview.cellAccounts(),
      this.overview.cellSupport(addDays(from, -days), from, run.asOf),
      this.overview.historyDayOnOrBefore(isoDay(addDays(today, -days))),
      this.overview.latestMovements(),
    ]);
    const history = comparedTo ? await this.overview.cellHistory(comparedTo) : null;

    const key = (tier: string | null, proficiency: string | null) => `${tier}|${proficiency}`;
    const accountsBy = new Map(accounts.map((r) => [key(r.tier, r.proficiency), r]));
    const historyBy = history && new Map(history.map((r) => [key(r.tier, r.proficiency), r]));
    const supportBy = new Map(support.map((r) => [`${key(r.tier, r.proficiency)}|${r.current}`, r]));
    const figures = (tier: string | null, proficiency: string | null): OverviewTotals =>
      this.figures(
        accountsBy.get(key(tier, proficiency)),
        supportBy.get(`${key(tier, proficiency)}|true`),
        supportBy.get(`${key(tier, proficiency)}|false`),
        historyBy ? (historyBy.get(key(tier, proficiency)) ?? null) : undefined,
      );

    return {
      asOf: run.asOf.toISOString(),
      period: periodOf(from, run.asOf),
      comparedTo,
      riskBands: [...RISK_BAND_RANGES],
      cells: TIERS.flatMap((tier) =>
        PROFICIENCIES.map((proficiency) => ({
          tier,
          proficiency,
          segment: `${tier}-${proficiency}`,
          ...figures(tier, proficiency),
        })),
      ),
      totals: figures(null, null),
      movements,
    };
  }

  /**
   * One cell's figures. `before` is the history row at the comparison day: undefined when there
   * is no comparison day at all, null when the cell had no accounts then.
   */
  private figures(
    now: CellAccountsRow | undefined,
    current: CellSupportRow | undefined,
    previous: CellSupportRow | undefined,
    before: CellHistoryRow | null | undefined,
  ): OverviewTotals {
    const accounts = now?.accounts ?? 0;
    const mrr = now?.mrr ?? 0;
    const highRiskAccounts = now?.risk_high ?? 0;
    const highRiskShare = accounts > 0 ? highRiskAccounts / accounts : null;
    const support = current ? toSupportFigures(current) : EMPTY_SUPPORT_FIGURES;
    const earlier = previous ? toSupportFigures(previous) : EMPTY_SUPPORT_FIGURES;
    const then = before === undefined ? undefined : (before ?? { accounts: 0, mrr: 0, high_risk: 0 });
    return {
      accounts,
      mrr,
      highRiskAccounts,
      highRiskShare,
      riskMix: now ? toRiskMix(now) : EMPTY_MIX,
      tickets: support.tickets,
      responded: support.responded,
      asaMedianMinutes: support.asaMedianMinutes,
      ratings: support.ratings,
      csatPct: csatPct(support.ratings, support.satisfied),
      change: {
        accounts: then ? accounts - then.accounts : null,
        mrr: then ? mrr - then.mrr : null,
        highRiskShare: then
          ? difference(highRiskShare, then.accounts > 0 ? then.high_risk / then.accounts : null)
          : null,
        csatPct: difference(support.csatPct, earlier.csatPct),
        asaMedianMinutes: difference(support.asaMedianMinutes, earlier.asaMedianMinutes),
      },
    };
  }

  private empty(): OverviewSnapshot {
    const zero = this.figures(undefined, undefined, undefined, undefined);
    return {
      asOf: null,
      period: null,
      comparedTo: null,
      riskBands: [...RISK_BAND_RANGES],
      cells: TIERS.flatMap((tier) =>
        PROFICIENCIES.map((proficiency) => ({
          tier,
          proficiency,
          segment: `${tier}-${proficiency}`,
          ...zero,
        })),
      ),
      totals: zero,
      movements: { runId: null, movedAt: null, accounts: 0, summary: [] },
    };
  }

  private async computeTrends(run: ServedRun, query: TrendsQuery): Promise<Trends> {
    const firstWeek = addDays(startOfIsoWeek(run.asOf), -7 * (query.weeks - 1));
    const [risk, support] = await Promise.all([
      this.overview.trendRisk(isoDay(firstWeek)),
      this.overview.trendSupport(isoDay(firstWeek)),
    ]);
    const rows = new Map<string, TrendRow>();
    const row = (week: string, segment: string): TrendRow => {
      const id = `${week}|${segment}`;
      let found = rows.get(id);
      if (!found) {
        found = {
          week,
          key: segment,
          accounts: 0,
          mrr: 0,
          riskMix: EMPTY_MIX,
          meanChurnRisk: null,
          backfilled: false,
          support: null,
        };
        rows.set(id, found);
      }
      return found;
    };
    for (const r of risk) {
      Object.assign(row(r.week, r.segment), {
        accounts: r.accounts,
        mrr: r.mrr,
        riskMix: toRiskMix(r),
        meanChurnRisk: r.mean_risk,
        backfilled: r.backfilled,
      });
    }
    for (const r of support) {
      row(r.week, r.segment).support = {
        tickets: r.tickets,
        responded: r.responded,
        asaMeanMinutes: r.asa_mean_minutes,
        asaMedianMinutes: r.asa_median_minutes,
        asaP90Minutes: r.asa_p90_minutes,
        ratings: r.ratings,
        satisfied: r.satisfied,
        csatPct: csatPct(r.ratings, r.satisfied),
      };
    }
    return {
      by: query.by,
      period: periodOf(firstWeek, run.asOf),
      rows: [...rows.values()].sort((a, b) => a.week.localeCompare(b.week) || a.key.localeCompare(b.key)),
    };
  }
}
