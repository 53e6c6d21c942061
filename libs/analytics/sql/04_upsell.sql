-- 04_upsell: how ready each account is for more (a bigger plan, more seats, an add-on), as a score
-- from 0 to 1 with the reasons behind it (shared/DESIGN.md: upsell / cross-sell signals).
--
-- Signals, each either present or not; the score is the sum of the weights of those present
-- (the weights sum to 1, so an account showing every signal scores 1):
--   weight  signal                 present when (account_features_now, account_segments, params)
--   0.30    seat_utilisation       seat_utilisation >= 0.9: nine in ten paid seats were active in 30 days
--   0.25    plan_limit_hits        plan_limit_hits_90d > 0: the account ran into a limit of its plan
--   0.15    active_users_growth    active_users_growth >= 0.2 with at least 5 active users now: a fifth
--                                  more active users than the 30 days before (the floor keeps 1 -> 2 out)
--   0.15    addon_interest         addon_interest_90d > 0: someone looked at an add-on or a higher plan
--   0.15    expert_on_entry_plan   proficiency = 'expert' and mrr < midmarket_min_mrr (the cheapest
--                                  plans): a power user paying the entry price
-- Capacity pressure (seats, limits) weighs most because it is the most direct sign the account has
-- outgrown what it pays for; interest, growth and proficiency are softer.
--
-- Columns: account_id, external_id, upsell_score, reasons (a list of {signal, value, weight}
-- for the signals present, heaviest first; value is the measured figure: the utilisation, the
-- number of limit hits, the growth, the add-on views, or the proficiency score).
CREATE OR REPLACE TABLE account_upsell AS
WITH
p AS (SELECT * FROM params),
signals AS (
  SELECT
    f.account_id,
    f.external_id,
    [
      {
        'signal': 'seat_utilisation',
        'value': f.seat_utilisation,
        'weight': 0.30::DOUBLE,
        'present': COALESCE(f.seat_utilisation >= 0.9, false)
      },
      {
        'signal': 'plan_limit_hits',
        'value': f.plan_limit_hits_90d::DOUBLE,
        'weight': 0.25::DOUBLE,
        'present': f.plan_limit_hits_90d > 0
      },
      {
        'signal': 'active_users_growth',
        'value': f.active_users_growth,
        'weight': 0.15::DOUBLE,
        'present': COALESCE(f.active_users_growth >= 0.2 AND f.active_users_30d >= 5, false)
      },
      {
        'signal': 'addon_interest',
        'value': f.addon_interest_90d::DOUBLE,
        'weight': 0.15::DOUBLE,
        'present': f.addon_interest_90d > 0
      },
      {
        'signal': 'expert_on_entry_plan',
        'value': s.proficiency_score,
        'weight': 0.15::DOUBLE,
        'present': COALESCE(s.proficiency = 'expert' AND f.mrr < p.midmarket_min_mrr, false)
      }
    ] AS candidates
  FROM account_features_now f
  JOIN account_segments s ON s.account_id = f.account_id
  CROSS JOIN p
),
present AS (
  SELECT
    account_id,
    external_id,
    list_filter(candidates, lambda c: c.present) AS fired
  FROM signals
)
SELECT
  account_id,
  external_id,
  round(least(1, COALESCE(list_sum(list_transform(fired, lambda c: c.weight)), 0)), 6) AS upsell_score,
  -- The candidates are listed heaviest first, and list_filter keeps their order.
  list_transform(fired, lambda c: {'signal': c.signal, 'value': c.value, 'weight': c.weight}) AS reasons
FROM present
ORDER BY account_id;
