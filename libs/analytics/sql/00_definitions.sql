-- 00_definitions: shared scalar definitions, so every later file measures tickets the same way.
--
-- Metric definitions follow shared/DESIGN.md section 3:
--   * ASA (average speed of answer) is measured per ticket as the calendar minutes from creation
--     to the first agent response. A source that reports `first_response_minutes` (Zendesk's
--     reply time, or our import) is trusted first; otherwise it is first_response_at - created_at.
--   * A ticket's first response happened at first_response_at, or, when only the minutes are known,
--     at created_at + first_response_minutes. Point-in-time views only count responses before as_of.
--   * CSAT counts a rating when the ticket has a score on a known scale: `five_point` (1-5,
--     satisfied at 4 or 5) or `good_bad` (1 = good = satisfied, 0 = bad).
--   * A rating has no timestamp of its own in the input; it is taken to be given when the ticket was
--     solved, else when it was first answered, else when it was created (ticket_rated_at).
--
-- Time spans are exact durations (hours x 24) rather than calendar days, so a window does not
-- stretch or shrink by an hour across a daylight-saving change in the session time zone.

-- Minutes from creation to first response (NULL when there is none).
CREATE OR REPLACE MACRO ticket_response_minutes(created_at, first_response_at, first_response_minutes) AS
  COALESCE(first_response_minutes, (epoch_us(first_response_at) - epoch_us(created_at)) / 60e6);

-- The instant of the first response (NULL when there is none).
CREATE OR REPLACE MACRO ticket_responded_at(created_at, first_response_at, first_response_minutes) AS
  COALESCE(first_response_at, created_at + to_microseconds(CAST(round(first_response_minutes * 60e6) AS BIGINT)));

-- Whether the ticket carries a rating on a known scale.
CREATE OR REPLACE MACRO ticket_rated(csat_scale, csat_score) AS
  csat_score IS NOT NULL AND csat_scale IN ('five_point', 'good_bad');

-- Whether that rating is "satisfied" (NULL when the ticket is not rated).
CREATE OR REPLACE MACRO ticket_satisfied(csat_scale, csat_score) AS
  CASE
    WHEN csat_score IS NULL THEN NULL
    WHEN csat_scale = 'five_point' THEN csat_score >= 4
    WHEN csat_scale = 'good_bad' THEN csat_score = 1
  END;

-- When the rating is taken to have been given (see above).
CREATE OR REPLACE MACRO ticket_rated_at(created_at, first_response_at, solved_at) AS
  COALESCE(solved_at, first_response_at, created_at);

-- Exact spans of whole days, and the length of a span in days.
CREATE OR REPLACE MACRO days_span(n) AS to_hours(CAST(24 * n AS BIGINT));
CREATE OR REPLACE MACRO days_between(a, b) AS (epoch_us(b) - epoch_us(a)) / 86400e6;

-- Business minutes from a fixed Monday (1970-01-05 00:00) up to a local wall-clock time `t`, for
-- working hours [start_minute, end_minute) of each Monday to Friday. The business minutes between
-- two local times a <= b are business_minutes_until(b, ...) - business_minutes_until(a, ...): whole
-- weeks count 5 working days, then the weekdays before t's day, then the part of t's own day
-- inside working hours. Constant work per ticket, however long it waited.
-- business_minutes_at takes the wall-clock time as seconds since 1970-01-01 00:00 (epoch(t) of a
-- local TIMESTAMP), so a caller holding that number already skips the conversion.
CREATE OR REPLACE MACRO monday_seconds(s) AS s - 345600;
CREATE OR REPLACE MACRO monday_days(s) AS floor(monday_seconds(s) / 86400);
CREATE OR REPLACE MACRO monday_weekday(s) AS monday_days(s) - 7 * floor(monday_days(s) / 7);
CREATE OR REPLACE MACRO business_minutes_at(s, start_minute, end_minute) AS
  floor(monday_days(s) / 7) * 5 * (end_minute - start_minute)
  + least(monday_weekday(s), 5) * (end_minute - start_minute)
  + CASE
      WHEN monday_weekday(s) < 5 THEN least(
        greatest((monday_seconds(s) - monday_days(s) * 86400) / 60 - start_minute, 0),
        end_minute - start_minute
      )
      ELSE 0
    END;
CREATE OR REPLACE MACRO business_minutes_until(t, start_minute, end_minute) AS
  business_minutes_at(epoch(t), start_minute, end_minute);

-- A time zone's UTC offset (seconds) for every 15 minutes of [from_ts, to_ts], as a table of
-- (quarter = epoch seconds // 900, offset_s). Every time-zone change of the last decades happens on
-- a quarter hour, so an instant's offset is its quarter's: a join instead of a calendar conversion
-- per row (measured: 0.6 of 1.3 CPU-s of the support metrics at 500,000 tickets went to timezone()).
CREATE OR REPLACE MACRO utc_offsets(zone, from_ts, to_ts) AS TABLE
  SELECT
    q AS quarter,
    epoch(timezone(zone, make_timestamptz(q * 900000000))) - q * 900 AS offset_s
  FROM range(CAST(floor(epoch(from_ts) / 900) AS BIGINT), CAST(floor(epoch(to_ts) / 900) AS BIGINT) + 1) r(q);

-- The Monday (a DATE) of the UTC week an instant falls in: date_trunc('week', timezone('UTC', ts)),
-- by arithmetic on microseconds since Monday 1970-01-05, which is several times faster.
CREATE OR REPLACE MACRO utc_week(ts) AS
  DATE '1970-01-05' + CAST(7 * floor((epoch_us(ts) - 345600000000) / 604800000000) AS INTEGER);
