-- 01_account_features: one row of behavioural, support and commercial features per account, as
-- of an instant. It is a table macro so the churn model can take point-in-time snapshots of the
-- past (account_features(TIMESTAMPTZ '...')) with exactly the same definitions it scores today with.
--
-- Point in time: an account is included when created_at <= as_of; only events with ts < as_of and
-- tickets with created_at < as_of are read; a response, solution or rating counts only when it
-- happened before as_of (see 00_definitions). Windows are the N x 24 hours before as_of:
-- "7d" = [as_of - 7 days, as_of), "30d", "90d" likewise; "prior 30d" = [as_of - 60 days, as_of - 30 days).
--
-- The catalog (kind, name) says which event names mean what. Names match whatever the event type
-- (track, page or screen). A "feature event" is an advanced_feature event, or any track event
-- whose name is not catalogued as something else (onboarding, help, guide, upsell moments).
--
-- Columns:
--   account_id, external_id, plan, mrr, seats, employees
--   tenure_days                  days from created_at to as_of
--   events_7d / events_30d / events_90d   all events (any type) in the window
--   events_prior_30d             events in the prior 30 days
--   activity_trend               ln((events_30d + 1) / (events_prior_30d + 1)): 0 = steady, ln 2 ~ 0.69 = doubled,
--                                -0.69 = halved; the +1 keeps it finite for silent accounts
--   activity_vs_baseline_7d      ln((events_7d x 30 / 7 + 1) / (baseline + 1)) and
--   activity_vs_baseline_30d     ln((events_30d + 1) / (baseline + 1)), where baseline = the events 60 to 90 days
--                                before as_of (events_90d - events_30d - events_prior_30d): the last week's and
--                                month's pace against the account's own pace two months earlier. A decline in
--                                use that starts weeks before a cancellation shows here first.
--   activity_drop_7d             1 - min(1, (events_7d x 30 / 7 + 1) / (baseline + 1)) and
--   activity_drop_30d            1 - min(1, (events_30d + 1) / (baseline + 1)): the share of the baseline pace
--                                lost (0 = as busy as before or busier, 0.5 = half as busy, 1 = silent)
--   active_users_30d             distinct contacts with an event in the last 30 days
--   active_users_prior_30d       the same for the prior 30 days
--   active_users_growth          active_users_30d / active_users_prior_30d - 1 (0.25 = a quarter more users);
--                                NULL when nobody was active in the prior 30 days
--   seat_utilisation             active_users_30d / seats; NULL when seats is NULL or 0
--   events_per_user_30d          depth of use: events_30d / active_users_30d; NULL when nobody was active
--   days_since_last_seen         days from the last event to as_of; NULL if never seen
--   distinct_features_30d        breadth: distinct feature-event names in the last 30 days
--   feature_events_90d           feature events in the last 90 days
--   advanced_feature_events_90d  advanced_feature events in the last 90 days
--   advanced_share_90d           depth: advanced_feature_events_90d / feature_events_90d; NULL without feature events
--   onboarding_steps_done        distinct onboarding_step names ever done (before as_of)
--   onboarding_completion        onboarding_steps_done / catalogued onboarding steps; NULL when none are catalogued
--   time_to_value_days           days from created_at to the first activation_step event (>= 0); NULL if not yet
--   help_views_90d               help_page events in the last 90 days
--   guide_events_90d             guide events in the last 90 days
--   tickets_90d                  tickets created in the last 90 days
--   howto_tickets_90d            of those, tickets with a howto_tag tag (case-insensitive)
--   howto_share_90d              howto_tickets_90d / tickets_90d; NULL without tickets
--   open_tickets                 tickets created before as_of and not solved before as_of (a ticket with
--                                no solved_at counts as open unless its status is solved or closed)
--   unresolved_share_90d         of the tickets created 7 to 90 days before as_of, the share still open at as_of
--                                (as open_tickets); NULL without such tickets. The last week's tickets are left
--                                out: they may simply not be solved yet.
--   asa_minutes_90d              mean first-response minutes over tickets created in the last 90 days and
--                                answered before as_of; NULL when none
--   responded_tickets_90d        how many tickets that mean is over
--   asa_vs_channel_90d           the account's wait for a first answer against the usual wait on the same channel:
--                                over the same tickets, the geometric mean of (minutes + 1) / (median + 1), where
--                                median is the median first-response minutes of all tickets (any account) of that
--                                channel created in the last 90 days and answered before as_of (no channel counts
--                                as 'unknown'). 1 = as fast as usual, 2 = twice as slow; NULL when none answered.
--                                A mean over channels would mostly say which channels the account uses (a phone
--                                call is answered in minutes, an email in hours); this says how it is treated.
--   ratings_90d                  CSAT ratings given in the last 90 days (on tickets created before as_of; a
--                                rating's time is taken as solved_at, else first response, else creation)
--   satisfied_90d                of those, satisfied
--   csat_pct_90d                 satisfied_90d / ratings_90d x 100; NULL without ratings
--   plan_limit_hits_90d / seat_added_90d / addon_interest_90d   upsell-moment events in the last 90 days
--   churned                      churned_at <= as_of
--   as_of                        the instant the row describes
-- Where the event history starts: the first UTC day whose event count reaches a tenth of the median
-- day of the last 90 days of events (a few old events, e.g. sign-ups of long-standing accounts or a
-- partial backfill, do not count as history); NULL without events. Features that compare two
-- windows (activity_trend, active_users_growth, activity_vs_baseline_*, activity_drop_*) are NULL
-- when their earlier window starts before it: "no events back then" means "not tracked yet", not
-- "twice as busy now", and the churn model's snapshots of the early history must not learn otherwise.
CREATE OR REPLACE TABLE history_span AS
WITH
-- Days as whole numbers since 1970-01-01 UTC: date_trunc('day', ts) converts through the calendar
-- for every event (measured: 2.4 CPU-s at 10 million events against 0.15 for this arithmetic).
d AS (SELECT epoch_us(ts) // 86400000000 AS day, count(*) AS n FROM events GROUP BY 1),
m AS (SELECT median(n) AS med FROM d WHERE day >= (SELECT max(day) FROM d) - 90)
SELECT make_timestamptz((SELECT min(d.day) FROM d, m WHERE d.n >= 0.1 * m.med) * 86400000000) AS history_start;

CREATE OR REPLACE MACRO account_features(as_of) AS TABLE
WITH
w AS (
  SELECT
    (SELECT history_start FROM history_span) AS h,
    CAST(as_of AS TIMESTAMPTZ) AS t,
    CAST(as_of AS TIMESTAMPTZ) - days_span(7) AS d7,
    CAST(as_of AS TIMESTAMPTZ) - days_span(30) AS d30,
    CAST(as_of AS TIMESTAMPTZ) - days_span(60) AS d60,
    CAST(as_of AS TIMESTAMPTZ) - days_span(90) AS d90
),
-- One row per catalogued name with what it means (a name may have several kinds).
kinds AS (
  SELECT
    name,
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
  SELECT COALESCE(list(DISTINCT lower(name)), []) AS tags FROM catalog WHERE kind = 'howto_tag'
),
acc AS (
  SELECT a.*
  FROM accounts a, w
  WHERE a.created_at <= w.t
),
-- Events in two steps: first one row per account, contact, event name and type with its counts per
-- window, then the account's figures from those rows. The distinct counts (users, feature names,
-- onboarding steps) then run over about a tenth of the rows (measured: 1.9 -> 1.2 CPU-s at 10
-- million events), and the catalogue is joined once per name, not once per event.
ev AS (
  SELECT
    e.account_id,
    e.contact_id,
    e.name,
    e.type,
    count(*) FILTER (WHERE e.ts >= w.d7) AS n_7d,
    count(*) FILTER (WHERE e.ts >= w.d30) AS n_30d,
    count(*) FILTER (WHERE e.ts >= w.d60 AND e.ts < w.d30) AS n_prior_30d,
    count(*) FILTER (WHERE e.ts >= w.d90) AS n_90d,
    max(e.ts) AS last_ts,
    min(e.ts) AS first_ts
  FROM events e
  CROSS JOIN w
  WHERE e.ts < w.t AND e.account_id IS NOT NULL
  GROUP BY ALL
),
evk AS (
  SELECT
    ev.*,
    COALESCE(k.is_onboarding, false) AS is_onboarding,
    COALESCE(k.is_activation, false) AS is_activation,
    COALESCE(k.is_advanced, false) AS is_advanced,
    COALESCE(k.is_help, false) AS is_help,
    COALESCE(k.is_guide, false) AS is_guide,
    COALESCE(k.is_plan_limit, false) AS is_plan_limit,
    COALESCE(k.is_seat_added, false) AS is_seat_added,
    COALESCE(k.is_addon_interest, false) AS is_addon_interest,
    COALESCE(k.is_advanced, false)
      OR (ev.type = 'track' AND k.name IS NULL) AS is_feature
  FROM ev
  LEFT JOIN kinds k ON k.name = ev.name
),
ev_agg AS (
  SELECT
    account_id,
    CAST(sum(n_7d) AS BIGINT) AS events_7d,
    CAST(sum(n_30d) AS BIGINT) AS events_30d,
    CAST(sum(n_prior_30d) AS BIGINT) AS events_prior_30d,
    CAST(sum(n_90d) AS BIGINT) AS events_90d,
    count(DISTINCT contact_id) FILTER (WHERE n_30d > 0) AS active_users_30d,
    count(DISTINCT contact_id) FILTER (WHERE n_prior_30d > 0) AS active_users_prior_30d,
    max(last_ts) AS last_seen_at,
    count(DISTINCT name) FILTER (WHERE n_30d > 0 AND is_feature) AS distinct_features_30d,
    CAST(COALESCE(sum(n_90d) FILTER (WHERE is_feature), 0) AS BIGINT) AS feature_events_90d,
    CAST(COALESCE(sum(n_90d) FILTER (WHERE is_advanced), 0) AS BIGINT) AS advanced_feature_events_90d,
    count(DISTINCT name) FILTER (WHERE is_onboarding) AS onboarding_steps_done,
    min(first_ts) FILTER (WHERE is_activation) AS first_activation_at,
    CAST(COALESCE(sum(n_90d) FILTER (WHERE is_help), 0) AS BIGINT) AS help_views_90d,
    CAST(COALESCE(sum(n_90d) FILTER (WHERE is_guide), 0) AS BIGINT) AS guide_events_90d,
    CAST(COALESCE(sum(n_90d) FILTER (WHERE is_plan_limit), 0) AS BIGINT) AS plan_limit_hits_90d,
    CAST(COALESCE(sum(n_90d) FILTER (WHERE is_seat_added), 0) AS BIGINT) AS seat_added_90d,
    CAST(COALESCE(sum(n_90d) FILTER (WHERE is_addon_interest), 0) AS BIGINT) AS addon_interest_90d
  FROM evk
  GROUP BY account_id
),
tk AS (
  SELECT
    t.account_id,
    t.created_at >= w.d90 AS in_90d,
    t.created_at < w.d7 AS before_7d,
    COALESCE(t.channel, 'unknown') AS channel,
    list_has_any(list_transform(t.tags, lambda x: lower(x)), howto.tags) AS is_howto,
    NOT COALESCE(
      t.solved_at < w.t OR (t.solved_at IS NULL AND t.status IN ('solved', 'closed')),
      false
    ) AS is_open,
    CASE
      WHEN ticket_responded_at(t.created_at, t.first_response_at, t.first_response_minutes) < w.t
        THEN ticket_response_minutes(t.created_at, t.first_response_at, t.first_response_minutes)
    END AS response_minutes,
    ticket_rated(t.csat_scale, t.csat_score)
      AND ticket_rated_at(t.created_at, t.first_response_at, t.solved_at) >= w.d90
      AND ticket_rated_at(t.created_at, t.first_response_at, t.solved_at) < w.t AS rated_90d,
    ticket_satisfied(t.csat_scale, t.csat_score) AS satisfied
  FROM tickets t
  CROSS JOIN w
  CROSS JOIN howto
  WHERE t.created_at < w.t AND t.account_id IS NOT NULL
),
-- The usual wait for a first answer per channel: the median over every account's tickets created in
-- the last 90 days and answered before as_of (the tickets asa_minutes_90d is over).
channel_wait AS (
  SELECT
    COALESCE(t.channel, 'unknown') AS channel,
    median(ticket_response_minutes(t.created_at, t.first_response_at, t.first_response_minutes)) AS usual_minutes
  FROM tickets t
  CROSS JOIN w
  WHERE t.created_at >= w.d90 AND t.created_at < w.t
    AND ticket_responded_at(t.created_at, t.first_response_at, t.first_response_minutes) < w.t
  GROUP BY 1
),
tk_agg AS (
  SELECT
    account_id,
    count(*) FILTER (WHERE in_90d) AS tickets_90d,
    count(*) FILTER (WHERE in_90d AND is_howto) AS howto_tickets_90d,
    count(*) FILTER (WHERE is_open) AS open_tickets,
    avg(response_minutes) FILTER (WHERE in_90d) AS asa_minutes_90d,
    count(response_minutes) FILTER (WHERE in_90d) AS responded_tickets_90d,
    -- (greatest() skips a NULL, so the answered-only filter is needed; a negative wait, a response
    -- stamped before its ticket, counts as 0, also in the median, so ln() never sees 0 or less)
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
SELECT
  a.id AS account_id,
  a.external_id,
  a.plan,
  a.mrr,
  a.seats,
  a.employees,
  days_between(a.created_at, w.t) AS tenure_days,
  COALESCE(e.events_7d, 0) AS events_7d,
  COALESCE(e.events_30d, 0) AS events_30d,
  COALESCE(e.events_90d, 0) AS events_90d,
  COALESCE(e.events_prior_30d, 0) AS events_prior_30d,
  CASE WHEN w.h IS NULL OR w.d60 >= w.h THEN ln((COALESCE(e.events_30d, 0) + 1) / (COALESCE(e.events_prior_30d, 0) + 1)) END AS activity_trend,
  CASE WHEN w.h IS NULL OR w.d90 >= w.h THEN ln(
    (COALESCE(e.events_7d, 0) * 30 / 7 + 1)
    / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)
  ) END AS activity_vs_baseline_7d,
  CASE WHEN w.h IS NULL OR w.d90 >= w.h THEN ln(
    (COALESCE(e.events_30d, 0) + 1) / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)
  ) END AS activity_vs_baseline_30d,
  CASE WHEN w.h IS NULL OR w.d90 >= w.h THEN 1 - least(
    1,
    (COALESCE(e.events_7d, 0) * 30 / 7 + 1)
    / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)
  ) END AS activity_drop_7d,
  CASE WHEN w.h IS NULL OR w.d90 >= w.h THEN 1 - least(
    1, (COALESCE(e.events_30d, 0) + 1) / (COALESCE(e.events_90d - e.events_30d - e.events_prior_30d, 0) + 1)
  ) END AS activity_drop_30d,
  COALESCE(e.active_users_30d, 0) AS active_users_30d,
  COALESCE(e.active_users_prior_30d, 0) AS active_users_prior_30d,
  CASE
    WHEN e.active_users_prior_30d > 0 AND (w.h IS NULL OR w.d60 >= w.h)
      THEN e.active_users_30d / e.active_users_prior_30d - 1
  END AS active_users_growth,
  CASE WHEN a.seats > 0 THEN COALESCE(e.active_users_30d, 0) / a.seats END AS seat_utilisation,
  CASE WHEN e.active_users_30d > 0 THEN e.events_30d / e.active_users_30d END AS events_per_user_30d,
  days_between(e.last_seen_at, w.t) AS days_since_last_seen,
  COALESCE(e.distinct_features_30d, 0) AS distinct_features_30d,
  COALESCE(e.feature_events_90d, 0) AS feature_events_90d,
  COALESCE(e.advanced_feature_events_90d, 0) AS advanced_feature_events_90d,
  CASE WHEN e.feature_events_90d > 0 THEN e.advanced_feature_events_90d / e.feature_events_90d END
    AS advanced_share_90d,
  COALESCE(e.onboarding_steps_done, 0) AS onboarding_steps_done,
  CASE WHEN o.steps > 0 THEN COALESCE(e.onboarding_steps_done, 0) / o.steps END AS onboarding_completion,
  CASE
    WHEN e.first_activation_at IS NOT NULL THEN greatest(0, days_between(a.created_at, e.first_activation_at))
  END AS time_to_value_days,
  COALESCE(e.help_views_90d, 0) AS help_views_90d,
  COALESCE(e.guide_events_90d, 0) AS guide_events_90d,
  COALESCE(k.tickets_90d, 0) AS tickets_90d,
  COALESCE(k.howto_tickets_90d, 0) AS howto_tickets_90d,
  CASE WHEN k.tickets_90d > 0 THEN k.howto_tickets_90d / k.tickets_90d END AS howto_share_90d,
  COALESCE(k.open_tickets, 0) AS open_tickets,
  CASE WHEN k.tickets_7_to_90d > 0 THEN k.unresolved_7_to_90d / k.tickets_7_to_90d END AS unresolved_share_90d,
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
FROM acc a
CROSS JOIN w
CROSS JOIN onboarding_total o
LEFT JOIN ev_agg e ON e.account_id = a.id
LEFT JOIN tk_agg k ON k.account_id = a.id
ORDER BY a.id;

-- The features as of the run's instant (params.as_of), which segments, support metrics and upsell read.
CREATE OR REPLACE TABLE account_features_now AS
SELECT * FROM account_features((SELECT as_of FROM params));
