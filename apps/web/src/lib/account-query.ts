import { ACCOUNT_SORT_DEFAULT_ORDER, AccountFiltersSchema, type AccountFilters } from '@retain/contracts';

/**
 * The account lists keep their filters, sort and page in the URL (same names as the API's query),
 * so a link shows the same rows to whoever opens it.
 */
export const PAGE_SIZE = 25;

export type AccountListState = Partial<Omit<AccountFilters, 'sort'>> & {
  sort: AccountFilters['sort'];
  order: 'asc' | 'desc';
  page: number;
};

const FILTER_KEYS = ['segment', 'tier', 'proficiency', 'owner', 'riskBand', 'q'] as const;
type FilterKey = (typeof FILTER_KEYS)[number];

/** Reads the list's state from a URL's query; a value the API would refuse is ignored. */
export function readAccountListState(
  params: URLSearchParams,
  defaults: Partial<AccountFilters> = {},
): AccountListState {
  const shape = AccountFiltersSchema.shape;
  const filters: Partial<Record<FilterKey, string>> = {};
  for (const key of FILTER_KEYS) {
    const raw = params.get(key);
    // "all" clears a filter that has a default (the enterprise list's tier).
    if (raw === 'all') continue;
    const value = raw ?? defaults[key];
    if (value === undefined) continue;
    const parsed = shape[key].safeParse(value);
    if (parsed.success && parsed.data !== undefined) filters[key] = String(parsed.data);
  }
  const sortParsed = shape.sort.safeParse(params.get('sort') ?? defaults.sort ?? undefined);
  const sort = sortParsed.success ? sortParsed.data : 'churn_risk';
  const orderParam = params.get('order');
  const order = orderParam === 'asc' || orderParam === 'desc' ? orderParam : ACCOUNT_SORT_DEFAULT_ORDER[sort];
  const page = Math.max(1, Math.floor(Number(params.get('page')) || 1));
  return { ...(filters as Partial<AccountFilters>), sort, order, page };
}

/** The API query for a state: filters, sort, and the page as limit and offset. */
export function accountListQuery(state: AccountListState) {
  const { page, ...rest } = state;
  return { ...rest, limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE };
}

/** The filters alone (for the CSV export, which has no paging). */
export function accountFilters(state: AccountListState): Partial<AccountFilters> {
  const { page: _page, ...rest } = state;
  return rest;
}

/**
 * The search string after a change: a new filter or sort goes back to page 1. Values equal to
 * their default are left out, so URLs stay short.
 */
export function withChanges(
  params: URLSearchParams,
  changes: Record<string, string | number | null | undefined>,
): string {
  const next = new URLSearchParams(params);
  if (!('page' in changes)) next.delete('page');
  for (const [key, value] of Object.entries(changes)) {
    if (value === null || value === undefined || value === '') next.delete(key);
    else next.set(key, String(value));
  }
  if (next.get('page') === '1') next.delete('page');
  const text = next.toString();
  return text ? `?${text}` : '';
}
