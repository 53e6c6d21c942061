import { DEFAULT_CATALOG, type CatalogEntry } from '@retain/analytics';

/**
 * The per-account features of libs/analytics/sql/01_account_features.sql for one instant, as ONE
 * plain PostgreSQL query over the raw tables (events, tickets, contacts, accounts): what a team
 * without the DuckDB lake would run. Same windows (exact N x 24 hours before as_of), same catalog,
 * same ticket definitions (00_definitions.sql), same columns; $1 is as_of.
 *
 * One difference, irrelevant to the demo data (every demo event carries its account_id): events
 * stored without an account (sent before their account or contact existed) are skipped here,
 * while the job links them through accounts, contacts and aliases.
 */

const sqlString = (value: string): string => `'${value.replace(/'/g, "''")}'`;

/** Exact durations, as the DuckDB SQL's days_span(n) (hours x 24), not calendar days. */
const days = (n: number): string => `interval '${24 * n} hours'`;

function catalogValues(catalog: readonly CatalogEntry[]): string {
  // A typed empty row keeps the CTE valid for an empty catalog; kind '' matches no rule.
  const rows = catalog.map((e) => `(${sqlString(e.kind)}, ${sqlString(e.name)})`);
  return rows.length > 0 ? rows.join(',\n    ') : `(''::text, ''::text)`;
}

export function postgresFeaturesSql(catalog: readonly CatalogEntry[] = DEFAULT_CATALOG): string {
  return `
WITH
w AS (
  SELECT $1::timestamptz AS t,
         $1::timestamptz - ${days(7)} AS d7,
         $1::timestamptz - ${days(30)} AS d30,
         $1::timestamptz - ${days(60)} AS d60,
         $1::timestamptz - ${days(90)} AS d90
),
catalog (kind, name) AS (
  VALUES
    ${catalogValues(catalog)}
),
kinds AS (
  SELECT name,
         bool_or(kind = 'onboarding_step') AS is_onboarding,
         bool_or(kind = 'activation_step') AS is_activation,
         bool_or(kind = 'advanced_feature') AS is_advanced,
         bool_or(kind = 'help_page') AS is_help,
         bool_or(kind = 'guide') AS is_guide,
         bool_or(kind = 'plan_limit') AS is_plan_limit,
         bool_or(kind = 'seat_added') AS is_seat_added,
         bool_or(kind = 'addon_interest') AS is_addon_interest
  FROM catalog
  WHERE kind <> 'howto_tag'
  GROUP BY name
),
onboarding_total AS (
  SELECT count(DISTINCT name) AS steps FROM catalog WHERE kind = 'onboarding_step'
),
howto AS (
  SELECT COALESCE(array_agg(DISTINCT lower(name)), '{}'::text[]) AS tags FROM catalog WHERE kind = 'howto_tag'
),
ev AS (
  SELECT e.account_id,
         e.contact_id,
         e.name,
         e.timestamp AS ts,
         e.timestamp >= w.d7 AS in_7d,
         e.timestamp >= w.d30 AS in_30d,
         e.timestamp >= w.d60 AND e.timestamp < w.d30 AS in_prior_30d,
         e.timestamp >= w.d90 AS in_90d,
         COALESCE(k.is_onboarding, false) AS is_onboarding,
         COALESCE(k.is_activation, false) AS is_activation,
         COALESCE(k.is_advanced, false) AS is_advanced,
         COALESCE(k.is_help, false) AS is_help,
         COALESCE(k.is_guide, false) AS is_guide,
         COALESCE(k.is_plan_limit, false) AS is_plan_limit,
         COALESCE(k.is_seat_added, false) AS is_seat_added,
         COALESCE(k.is_addon_interest, false) AS is_addon_interest,
         COALESCE(k.is_advanced, false) OR (e.type = 'track' AND k.name IS NULL) AS is_feature
  FROM events e
  CROSS JOIN w
  LEFT JOIN kinds k ON k.name = e.name
  WHERE e.timestamp < w.t AND e.account_id IS NOT NULL
),
ev_agg AS (
  SELECT account_id,
         count(*) FILTER (WHERE in_7d) AS events_7d,
         count(*) FILTER (WHERE in_30d) AS events_30d,
         count(*) FILTER (WHERE in_prior_30d) AS events_prior_30d,
         count(*) FILTER (WHERE in_90d) AS events_90d,
         count(DISTINCT contact_id) FILTER (WHERE in_30d) AS active_users_30d,
         count(DISTINCT contact_id) FILTER (WHERE in_prior_30d) AS active_users_prior_30d,
         max(ts) AS last_seen_at,
         count(DISTINCT name) FILTER (WHERE in_30d AND is_feature) AS distinct_features_30d,
         count(*) FILTER (WHERE in_90d AND is_feature) AS feature_events_90d,
         count(*) FILTER (WHERE in_90d AND is_advanced) AS advanced_feature_events_90d,
         count(DISTINCT name) FILTER (WHERE is_onboarding) AS onboarding_steps_done,
         min(ts) FILTER (WHERE is_activation) AS first_activation_at,
         count(*) FILTER (WHERE in_90d AND is_help) AS help_views_90d,
         count(*) FILTER (WHERE in_90d AND is_guide) AS guide_events_90d,
         count(*) FILTER (WHERE in_90d AND is_plan_limit) AS plan_limit_hits_90d,
         count(*) FILTER (WHERE in_90d AND is_seat_added) AS seat_added_90d,
         count(*) FILTER (WHERE in_90d AND is_addon_interest) AS addon_interest_90d
  FROM ev
  GROUP BY account_id
),
tk AS (
  SELECT COALESCE(t.account_id, c.account_id) AS account_id,
         t.created_at >= w.d90 AS in_90d,
         t.created_at < w.t - ${days(7)} AS before_7d,
         COALESCE(t.channel, 'unknown') AS channel,
         EXISTS (SELECT 1 FROM unnest(t.tags) AS tag WHERE lower(tag) = ANY (howto.tags)) AS is_howto,
         NOT COALESCE(t.solved_at < w.t OR (t.solved_at IS NULL AND t.status IN ('solved', 'closed')), false)
           AS is_open,
         CASE
           WHEN COALESCE(t.first_response_at, t.created_at + t.first_response_minutes * interval '1 minute') < w.t
             THEN COALESCE(t.first_response_minutes, extract(epoch FROM t.first_response_at - t.created_at) / 60)
         END AS response_minutes,
         t.csat_score IS NOT NULL AND t.csat_scale IN ('five_point', 'good_bad')
           AND COALESCE(t.solved_at, t.first_response_at, t.created_at) >= w.d90
           AND COALESCE(t.solved_at, t.first_response_at, t.created_at) < w.t AS rated_90d,
         CASE
           WHEN t.csat_score IS NULL THEN NULL
           WHEN t.csat_scale = 'five_point' THEN t.csat_score >= 4
           WHEN t.csat_scale = 'good_bad' THEN t.csat_score = 1
         END AS satisfied
  FROM tickets t
  LEFT JOIN contacts c ON c.id = t.contact_id
  CROSS JOIN w
  CROSS JOIN howto
  WHERE t.status <> 'deleted' AND t.created_at < w.t AND COALESCE(t.account_id, c.account_id) IS NOT NULL
),
channel_wait AS (
  SELECT COALESCE(t.channel, 'unknown') AS channel,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY
           COALESCE(t.first_response_minutes, extract(epoch FROM t.first_response_at - t.created_at) / 60))
           AS usual_minutes
  FROM tickets t
  CROSS JOIN w
  WHERE t.status <> 'deleted' AND t.created_at >= w.d90 AND t.created_at < w.t
    AND COALESCE(t.first_response_at, t.created_at + t.first_response_minutes * interval '1 minute') < w.t
  GROUP BY 1
),
tk_agg AS (
  SELECT account_id,
         count(*) FILTER (WHERE in_90d) AS tickets_90d,
         count(*) FILTER (WHERE in_90d AND is_howto) AS howto_tickets_90d,
         count(*) FILTER (WHERE is_open) AS open_tickets,
         avg(response_minutes) FILTER (WHERE in_90d) AS asa_minutes_90d,
         count(response_minutes) FILTER (WHERE in_90d) AS responded_tickets_90d,
         exp(avg(ln((greatest(response_minutes, 0) + 1) / (greatest(cw.usual_minutes, 0) + 1)))
           FILTER (WHERE in_90d AND response_minutes IS NOT NULL)) AS asa_vs_channel_90d,
         count(*) FILTER (WHERE in_90d AND before_7d) AS tickets_7_to_90d,
         count(*) FILTER (WHERE in_90d AND before_7d AND is_open) AS unresolved_7_to_90d,
         count(*) FILTER (WHERE rated_90d) AS ratings_90d,
         count(*) FILTER (WHERE rated_90d AND satisfied) AS satisfied_90d
  FROM tk
  LEFT JOIN channel_wait cw ON cw.channel = tk.channel
  GROUP BY account_id
)
SELECT a.id AS account_id,
       a.external_id,
       a.plan,
       a.mrr,
       a.seats,
       a.employees,
       extract(epoch FROM w.t - a.created_at) / 86400 AS tenure_days,
       COALESCE(e.events_7d, 0) AS events_7d,
       COALESCE(e.events_30d, 0) AS events_30d,
       COALESCE(e.events_90d, 0) AS events_90d,
       COALESCE(e.events_prior_30d, 0) AS events_prior_30d,
       ln((COALESCE(e.events_30d, 0) + 1)::float8 / (COALESCE(e.events_prior_30d, 0) + 1)) AS activity_trend,
       ln((COALESCE(e.events_7d, 0) * 30.0 / 7 + 1)
          / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)) AS activity_vs_baseline_7d,
       ln((COALESCE(e.events_30d, 0) + 1)::float8
          / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)) AS activity_vs_baseline_30d,
       1 - least(1, (COALESCE(e.events_7d, 0) * 30.0 / 7 + 1)
          / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)) AS activity_drop_7d,
       1 - least(1, (COALESCE(e.events_30d, 0) + 1)::float8
          / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)) AS activity_drop_30d,
       COALESCE(e.active_users_30d, 0) AS active_users_30d,
       COALESCE(e.active_users_prior_30d, 0) AS active_users_prior_30d,
       CASE WHEN e.active_users_prior_30d > 0 THEN e.active_users_30d::float8 / e.active_users_prior_30d - 1 END
         AS active_users_growth,
       CASE WHEN a.seats > 0 THEN COALESCE(e.active_users_30d, 0)::float8 / a.seats END AS seat_utilisation,
       CASE WHEN e.active_users_30d > 0 THEN e.events_30d::float8 / e.active_users_30d END AS events_per_user_30d,
       extract(epoch FROM w.t - e.last_seen_at) / 86400 AS days_since_last_seen,
       COALESCE(e.distinct_features_30d, 0) AS distinct_features_30d,
       COALESCE(e.feature_events_90d, 0) AS feature_events_90d,
       COALESCE(e.advanced_feature_events_90d, 0) AS advanced_feature_events_90d,
       CASE WHEN e.feature_events_90d > 0 THEN e.advanced_feature_events_90d::float8 / e.feature_events_90d END
         AS advanced_share_90d,
       COALESCE(e.onboarding_steps_done, 0) AS onboarding_steps_done,
       CASE WHEN o.steps > 0 THEN COALESCE(e.onboarding_steps_done, 0)::float8 / o.steps END AS onboarding_completion,
       CASE
         WHEN e.first_activation_at IS NOT NULL
           THEN greatest(0, extract(epoch FROM e.first_activation_at - a.created_at) / 86400)
       END AS time_to_value_days,
       COALESCE(e.help_views_90d, 0) AS help_views_90d,
       COALESCE(e.guide_events_90d, 0) AS guide_events_90d,
       COALESCE(k.tickets_90d, 0) AS tickets_90d,
       COALESCE(k.howto_tickets_90d, 0) AS howto_tickets_90d,
       CASE WHEN k.tickets_90d > 0 THEN k.howto_tickets_90d::float8 / k.tickets_90d END AS howto_share_90d,
       COALESCE(k.open_tickets, 0) AS open_tickets,
       CASE WHEN k.tickets_7_to_90d > 0 THEN k.unresolved_7_to_90d::float8 / k.tickets_7_to_90d END
         AS unresolved_share_90d,
       k.asa_minutes_90d,
       COALESCE(k.responded_tickets_90d, 0) AS responded_tickets_90d,
       k.asa_vs_channel_90d,
       COALESCE(k.ratings_90d, 0) AS ratings_90d,
       COALESCE(k.satisfied_90d, 0) AS satisfied_90d,
       CASE WHEN k.ratings_90d > 0 THEN 100.0 * k.satisfied_90d / k.ratings_90d END AS csat_pct_90d,
       COALESCE(e.plan_limit_hits_90d, 0) AS plan_limit_hits_90d,
       COALESCE(e.seat_added_90d, 0) AS seat_added_90d,
       COALESCE(e.addon_interest_90d, 0) AS addon_interest_90d,
       COALESCE(a.churned_at <= w.t, false) AS churned,
       w.t AS as_of
FROM accounts a
CROSS JOIN w
CROSS JOIN onboarding_total o
LEFT JOIN ev_agg e ON e.account_id = a.id
LEFT JOIN tk_agg k ON k.account_id = a.id
WHERE a.created_at <= w.t
ORDER BY a.id`;
}

/** Features compared between the job's results (account_scores.features) and the query above. */
export const CHECKED_FEATURES = [
  'events_7d',
  'events_30d',
  'events_90d',
  'events_prior_30d',
  'activity_vs_baseline_7d',
  'activity_vs_baseline_30d',
  'activity_drop_7d',
  'activity_drop_30d',
  'active_users_30d',
  'active_users_prior_30d',
  'events_per_user_30d',
  'distinct_features_30d',
  'feature_events_90d',
  'advanced_share_90d',
  'days_since_last_seen',
  'onboarding_steps_done',
  'time_to_value_days',
  'help_views_90d',
  'tickets_90d',
  'howto_tickets_90d',
  'open_tickets',
  'asa_minutes_90d',
  'asa_vs_channel_90d',
  'unresolved_share_90d',
  'ratings_90d',
  'csat_pct_90d',
  'plan_limit_hits_90d',
] as const;

const asNumber = (v: unknown): number | null =>
  v === null || v === undefined || v === '' ? null : typeof v === 'number' ? v : Number(v);

const same = (a: number | null, b: number | null): boolean => {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= 1e-6 * Math.max(1, Math.abs(a), Math.abs(b));
};

export interface FeatureComparison {
  /** Accounts present on both sides. */
  accounts: number;
  /** Accounts only one side has. */
  unmatched: number;
  /** Per feature, how many accounts disagree, with one example. */
  mismatches: { feature: string; count: number; example: string }[];
}

/** Compares the job's stored features with the PostgreSQL-only rows, account by account. */
export function compareFeatures(
  job: Map<string, Record<string, unknown>>,
  postgres: Record<string, unknown>[],
): FeatureComparison {
  let accounts = 0;
  let unmatched = 0;
  const mismatches = new Map<string, { count: number; example: string }>();
  const seen = new Set<string>();
  for (const row of postgres) {
    const id = String(row.account_id);
    seen.add(id);
    const features = job.get(id);
    if (!features) {
      unmatched++;
      continue;
    }
    accounts++;
    for (const name of CHECKED_FEATURES) {
      const a = asNumber(features[name]);
      const b = asNumber(row[name]);
      if (same(a, b)) continue;
      const m = mismatches.get(name) ?? { count: 0, example: `account ${id}: job ${a}, PostgreSQL ${b}` };
      m.count++;
      mismatches.set(name, m);
    }
  }
  for (const id of job.keys()) if (!seen.has(id)) unmatched++;
  return {
    accounts,
    unmatched,
    mismatches: [...mismatches].map(([feature, m]) => ({ feature, ...m })),
  };
}
