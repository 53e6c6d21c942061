-- 03_support_metrics: ASA and CSAT per week, channel and segment, with every rollup, so a manager
-- can compare channels and segments and see the trend (shared/DESIGN.md sections 2-3).
--
-- Tickets: those created in the 26 calendar weeks up to params.as_of: the current week (Monday
-- 00:00 UTC up to as_of, partial) and the 25 whole weeks before it, so every week bucket but the
-- last is complete. A ticket's segment is its account's current segment (account_segments);
-- tickets without a known account go to 'unassigned', tickets without a channel to 'unknown'.
-- week = date_trunc('week', created_at) in UTC: the Monday the ticket's week starts on (a DATE).
--
-- Per group:
--   tickets                    tickets created
--   responded                  of those, with a first response before as_of
--   asa_mean_minutes           mean first-response minutes over the responded tickets, calendar time
--                              (first_response_minutes when the source gave it, else
--                              first_response_at - created_at; see 00_definitions)
--   asa_median_minutes         quantile_cont(minutes, 0.5) over the same tickets
--   asa_p90_minutes            quantile_cont(minutes, 0.9) (linear interpolation between ranks)
--   asa_business_mean_minutes  mean business-hours minutes to the first response over responded
--                              tickets: the source's own figure (first_response_business_minutes,
--                              e.g. Zendesk's) when given, else the minutes of the response time that
--                              fall within the `business_hours` table's working hours (Monday-Friday,
--                              start to end, in its time zone); NULL when neither is available
--   ratings                    CSAT ratings given before as_of (on a known scale)
--   satisfied                  of those, satisfied (4-5 of 5, or good)
--   csat_pct                   satisfied / ratings x 100; NULL when there are no ratings
-- The ASA figures are NULL when nothing was responded.
--
-- grouping says which columns the row is grouped by (the others are NULL):
--   'channel_segment_week', 'channel_segment', 'channel_week', 'segment_week',
--   'channel', 'segment', 'week', 'all'.
CREATE OR REPLACE TABLE support_metrics AS
WITH
p AS (
  SELECT
    as_of,
    timezone('UTC', CAST(date_trunc('week', timezone('UTC', as_of)) AS DATE) - INTERVAL 25 WEEK) AS first_week
  FROM params
),
bh AS (SELECT start_minute, end_minute, time_zone FROM business_hours LIMIT 1),
-- The tickets of the 26 weeks, with their response instant, materialized once: the time-zone and
-- week arithmetic below then runs over plain columns (measured: several times faster in DuckDB than
-- converting inside the filtering scan).
base AS MATERIALIZED (
  SELECT
    t.id,
    t.account_id,
    t.channel,
    t.created_at,
    ticket_responded_at(t.created_at, t.first_response_at, t.first_response_minutes) AS responded_at,
    ticket_response_minutes(t.created_at, t.first_response_at, t.first_response_minutes) AS response_minutes,
    t.first_response_business_minutes,
    ticket_rated(t.csat_scale, t.csat_score)
      AND ticket_rated_at(t.created_at, t.first_response_at, t.solved_at) < (SELECT as_of FROM p) AS rated,
    ticket_satisfied(t.csat_scale, t.csat_score) AS satisfied
  FROM tickets t
  WHERE t.created_at < (SELECT as_of FROM p) AND t.created_at >= (SELECT first_week FROM p)
),
-- Business minutes of each responded ticket without a source figure: the working time between its
-- creation and its response in the support team's time zone (00_definitions, business_minutes_at),
-- with each instant's local time from its quarter hour's UTC offset (utc_offsets).
offsets AS (
  SELECT o.*
  FROM bh, p, utc_offsets(bh.time_zone, (SELECT first_week FROM p), (SELECT as_of FROM p)) o
),
business AS (
  SELECT
    b.id,
    greatest(0,
      business_minutes_at(epoch(b.responded_at) + r.offset_s, bh.start_minute, bh.end_minute)
      - business_minutes_at(epoch(b.created_at) + c.offset_s, bh.start_minute, bh.end_minute)
    ) AS minutes
  FROM base b
  CROSS JOIN bh
  JOIN offsets c ON c.quarter = CAST(floor(epoch(b.created_at) / 900) AS BIGINT)
  JOIN offsets r ON r.quarter = CAST(floor(epoch(b.responded_at) / 900) AS BIGINT)
  WHERE b.first_response_business_minutes IS NULL AND b.responded_at < (SELECT as_of FROM p)
),
t AS (
  SELECT
    utc_week(b.created_at) AS week,
    COALESCE(b.channel, 'unknown') AS channel,
    COALESCE(s.segment, 'unassigned') AS segment,
    CASE WHEN b.responded_at < (SELECT as_of FROM p) THEN b.response_minutes END AS minutes,
    CASE
      WHEN b.responded_at < (SELECT as_of FROM p)
        THEN COALESCE(
          b.first_response_business_minutes,
          -- A response entirely outside working hours took 0 business minutes.
          CASE WHEN (SELECT count(*) FROM bh) > 0 THEN COALESCE(bm.minutes, 0) END
        )
    END AS business_minutes,
    b.rated,
    b.satisfied
  FROM base b
  LEFT JOIN account_segments s ON s.account_id = b.account_id
  LEFT JOIN business bm ON bm.id = b.id
),
grouped AS (
  SELECT
    GROUPING(channel, segment, week) AS g,
    week,
    channel,
    segment,
    count(*) AS tickets,
    count(minutes) AS responded,
    avg(minutes) AS asa_mean_minutes,
    -- Both quantiles from one sort of each group's minutes.
    quantile_cont(minutes, [0.5, 0.9]) AS asa_quantiles,
    avg(business_minutes) AS asa_business_mean_minutes,
    count(*) FILTER (WHERE rated) AS ratings,
    count(*) FILTER (WHERE rated AND satisfied) AS satisfied
  FROM t
  GROUP BY CUBE (channel, segment, week)
)
SELECT
  -- GROUPING(channel, segment, week) sets bit 4 / 2 / 1 when channel / segment / week is rolled up.
  CASE g
    WHEN 0 THEN 'channel_segment_week'
    WHEN 1 THEN 'channel_segment'
    WHEN 2 THEN 'channel_week'
    WHEN 3 THEN 'channel'
    WHEN 4 THEN 'segment_week'
    WHEN 5 THEN 'segment'
    WHEN 6 THEN 'week'
    ELSE 'all'
  END AS grouping,
  week,
  channel,
  segment,
  tickets,
  responded,
  asa_mean_minutes,
  asa_quantiles[1] AS asa_median_minutes,
  asa_quantiles[2] AS asa_p90_minutes,
  asa_business_mean_minutes,
  ratings,
  satisfied,
  CASE WHEN ratings > 0 THEN 100.0 * satisfied / ratings END AS csat_pct
FROM grouped
ORDER BY g, week, channel, segment;
