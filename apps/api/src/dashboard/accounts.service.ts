import { Injectable } from '@nestjs/common';
import {
  ACCOUNT_CONTACTS_CAP,
  ACCOUNT_EXPORT_COLUMNS,
  ACCOUNT_SORT_DEFAULT_ORDER,
  type Account360,
  type AccountActivity,
  type AccountActivityQuery,
  type AccountFilters,
  type AccountList,
  type AccountListQuery,
  type AccountTickets,
  type AccountTicketsQuery,
  type OwnerList,
} from '@retain/contracts';
import { FULL_ACCESS, type DataAccess } from '../auth/access.js';
import { maskEmail } from '../auth/secrets.js';
import { csvLine } from '../common/csv/csv-writer.js';
import { AppException } from '../common/errors/app.exception.js';
import { ErrorCode } from '../common/errors/error-code.js';
import { Account360Repository } from './account-360.repository.js';
import { AccountListRepository, type AccountListFilters } from './account-list.repository.js';
import { addDays, isoDay, periodOf, startOfIsoWeek } from './dashboard-sql.js';
import type { ServedRun } from './dashboard-snapshots.repository.js';
import { DashboardSnapshotsService } from './dashboard-snapshots.service.js';
import { SegmentScopes } from './segment-scope.js';

/** Owner, search and custom segments are counted live (they change between runs). */
const countsLive = (f: AccountListFilters): boolean =>
  f.owner !== undefined || f.q !== undefined || f.customSegmentId !== undefined;

const notFound = (id: number) => new AppException(ErrorCode.NotFound, `Account ${id} does not exist`);

/**
 * Whose accounts a caller may see: null for everyone's, or an owner's email (an account manager
 * sees the accounts they own, and no others).
 */
export type AccountScope = string | null;

/** Account lists (the enterprise list, a segment's members) and the account 360 page. */
@Injectable()
export class AccountsService {
  constructor(
    private readonly list: AccountListRepository,
    private readonly account: Account360Repository,
    private readonly scopes: SegmentScopes,
    private readonly snapshots: DashboardSnapshotsService,
  ) {}

  async find(query: AccountListQuery, scope: AccountScope = null): Promise<AccountList> {
    const { limit, offset, ...rest } = query;
    const filters = await this.filters(rest, scope);
    // The page names the run its scores come from, so a total counted per run needs no query of
    // its own; narrow live filters (a search starts from the few names its trigrams match) are
    // counted by the page query itself.
    const live = countsLive(filters);
    const page = await this.list.page(filters, limit, offset, live);
    const run = page.run ?? (await this.snapshots.servedRun());
    const total = live
      ? (page.total ?? (await this.list.count(filters)))
      : run
        ? await this.countPerRun(filters, run)
        : 0;
    return {
      total,
      limit,
      offset,
      sort: query.sort,
      order: query.order ?? ACCOUNT_SORT_DEFAULT_ORDER[query.sort],
      asOf: run?.asOf.toISOString() ?? null,
      rows: page.rows,
    };
  }

  /** The list as CSV (ACCOUNT_EXPORT_COLUMNS), every matching account, in list order. */
  async exportCsv(query: AccountFilters, scope: AccountScope = null): Promise<AsyncGenerator<string>> {
    // Resolved first, so an unknown segment is a 404 rather than a broken file.
    return this.csvLines(await this.filters(query, scope));
  }

  private async *csvLines(filters: AccountListFilters): AsyncGenerator<string> {
    yield csvLine(ACCOUNT_EXPORT_COLUMNS);
    for await (const batch of this.list.all(filters)) {
      let chunk = '';
      for (const r of batch)
        chunk += csvLine([
          r.id,
          r.externalId,
          r.name,
          r.plan,
          r.mrr,
          r.owner,
          r.renewalDate,
          r.tier,
          r.proficiency,
          r.segment,
          r.churnRisk === null ? null : Math.round(r.churnRisk * 10_000) / 10_000,
          r.riskBand,
          r.health,
          r.upsellScore === null ? null : Math.round(r.upsellScore * 10_000) / 10_000,
          r.topReasons.map((reason) => reason.feature).join('; '),
          r.daysSinceLastSeen === null ? null : Math.round(r.daysSinceLastSeen * 10) / 10,
        ]);
      yield chunk;
    }
  }

  /** As of the last run, like the counts it sits beside (an owner list per request would scan accounts). */
  async owners(scope: AccountScope = null): Promise<OwnerList> {
    const all = await this.snapshots.get(
      'owners',
      () => this.list.owners(),
      () => ({ owners: [], unassigned: 0 }),
    );
    return scope === null ? all : { owners: all.owners.filter((o) => o.owner === scope), unassigned: 0 };
  }

  async get(id: number, access: DataAccess = FULL_ACCESS): Promise<Account360> {
    await this.checkScope(id, access.accountScope);
    const page = await this.account.page(id, ACCOUNT_CONTACTS_CAP);
    if (!page) throw notFound(id);
    if (access.contactEmails) return page;
    return {
      ...page,
      contacts: {
        ...page.contacts,
        rows: page.contacts.rows.map((c) => ({ ...c, email: maskEmail(c.email) })),
      },
    };
  }

  /** Weekly events and active users, every week of the period listed (zeros included). */
  async activity(
    id: number,
    query: AccountActivityQuery,
    scope: AccountScope = null,
  ): Promise<AccountActivity> {
    await this.checkScope(id, scope);
    const now = new Date();
    const thisWeek = startOfIsoWeek(now);
    const from = addDays(thisWeek, -7 * (query.weeks - 1));
    const weeks = await this.account.weeklyActivity(id, isoDay(from), isoDay(addDays(thisWeek, 7)));
    if (weeks.length === 0 && !(await this.account.exists(id))) throw notFound(id);
    const byWeek = new Map(weeks.map((w) => [w.week, w]));
    return {
      accountId: id,
      period: periodOf(from, now),
      weeks: Array.from({ length: query.weeks }, (_, i) => {
        const week = isoDay(addDays(from, 7 * i));
        return byWeek.get(week) ?? { week, events: 0, activeUsers: 0 };
      }),
    };
  }

  async tickets(id: number, query: AccountTicketsQuery, scope: AccountScope = null): Promise<AccountTickets> {
    await this.checkScope(id, scope);
    const [total, rows] = await Promise.all([
      this.account.ticketCount(id),
      this.account.tickets(id, query.limit, query.offset),
    ]);
    if (total === 0 && !(await this.account.exists(id))) throw notFound(id);
    return { total, limit: query.limit, offset: query.offset, rows };
  }

  /**
   * How many accounts match filters on the run's scores alone: summed from per-run counts (a count
   * over every account per request would cost more than the page itself).
   */
  private async countPerRun(filters: AccountListFilters, run: ServedRun): Promise<number> {
    const groups = await this.snapshots.getFor(run, 'account-counts', () => this.list.countsByGroup());
    return groups
      .filter(
        (g) =>
          (filters.includeChurned || g.active) &&
          (!filters.segment || g.segment === filters.segment) &&
          (!filters.tier || g.tier === filters.tier) &&
          (!filters.proficiency || g.proficiency === filters.proficiency) &&
          (!filters.riskBand || g.band === filters.riskBand),
      )
      .reduce((n, g) => n + g.accounts, 0);
  }

  /** An account outside the caller's scope is refused (403), an unknown one is a 404. */
  private async checkScope(id: number, scope: AccountScope): Promise<void> {
    if (scope === null) return;
    const owner = await this.account.ownerOf(id);
    if (owner === undefined) throw notFound(id);
    if (owner !== scope)
      throw new AppException(ErrorCode.Forbidden, `Account ${id} is not one of your accounts`);
  }

  private async filters(query: AccountFilters, owner: AccountScope): Promise<AccountListFilters> {
    const { segment, ...rest } = query;
    if (owner !== null && rest.owner !== undefined && rest.owner !== owner)
      throw new AppException(ErrorCode.Forbidden, 'Account managers see only the accounts they own', {
        fields: [{ path: 'owner', message: `must be ${owner} (your own) or left out` }],
      });
    const scope = segment ? await this.scopes.resolve(segment) : undefined;
    return { ...rest, ...(owner !== null ? { owner } : {}), ...SegmentScopes.filter(scope) };
  }
}
