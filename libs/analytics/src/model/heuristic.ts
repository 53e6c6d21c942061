/**
 * The documented churn heuristic, used when history has too few churned (or retained) accounts to
 * learn from. It is a fixed logistic score over a few named behavioural features:
 *
 *   risk = sigmoid(-2.0 + sum of the terms below, over the features the row has)
 *
 * | feature (expected unit)                                  | term added to the log-odds                   | range         |
 * |----------------------------------------------------------|----------------------------------------------|---------------|
 * | days_since_last_seen (days)                              | 2.5 * (min(d, 60) - 7) / 60                  | -0.29 .. 2.21 |
 * | activity_trend (ln((events_30d + 1) / (prior_30d + 1))) | -1.0 * clamp(t, -1, 1)                       | -1 .. 1       |
 * | events_30d (count)                                       | -0.5 * (ln(1 + min(e, 150)) - ln(21))        | -0.99 .. 1.52 |
 * | onboarding_completion (fraction 0-1)                     | 1.5 * (0.5 - c)                              | -0.75 .. 0.75 |
 * | csat_pct_90d (percent 0-100)                             | 1.5 * (80 - q) / 100                         | -0.30 .. 1.20 |
 * | open_tickets (count)                                     | 0.3 * min(n, 5)                              | 0 .. 1.50     |
 * | howto_share_90d (fraction 0-1)                           | 1.0 * (h - 0.3)                              | -0.30 .. 0.70 |
 *
 * Each term is 0 for a reference account (seen 7 days ago, steady activity, 20 events in 30 days,
 * half the onboarding done, CSAT 80%, no open tickets, 30% "how do I" tickets), whose risk is
 * sigmoid(-2) = 12%. Activity that halved adds 0.69, activity that stopped adds 1 (the cap). A
 * missing or non-numeric value adds nothing (a never-seen account still scores through
 * events_30d = 0). Fractions above 1 are read as percentages (divided by 100). The terms are the
 * reasons, in the same format as the learned model.
 */

import { toFiniteNumber } from './features.js';
import { type Reason, sigmoid, sortReasons } from './logistic.js';

export const HEURISTIC_INTERCEPT = -2.0;

export interface HeuristicTerm {
  feature: string;
  /** The term as written in the table above. */
  formula: string;
  term(x: number): number;
}

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
const fraction = (x: number): number => clamp(x > 1 ? x / 100 : x, 0, 1);

export const HEURISTIC_TERMS: readonly HeuristicTerm[] = [
  {
    feature: 'days_since_last_seen',
    formula: '2.5 * (min(d, 60) - 7) / 60',
    term: (d) => (2.5 * (clamp(d, 0, 60) - 7)) / 60,
  },
  { feature: 'activity_trend', formula: '-1.0 * clamp(t, -1, 1)', term: (t) => -clamp(t, -1, 1) },
  {
    feature: 'events_30d',
    formula: '-0.5 * (ln(1 + min(e, 150)) - ln(21))',
    term: (e) => -0.5 * (Math.log1p(clamp(e, 0, 150)) - Math.log(21)),
  },
  { feature: 'onboarding_completion', formula: '1.5 * (0.5 - c)', term: (c) => 1.5 * (0.5 - fraction(c)) },
  {
    feature: 'csat_pct_90d',
    formula: '1.5 * (80 - q) / 100',
    term: (q) => (1.5 * (80 - clamp(q, 0, 100))) / 100,
  },
  { feature: 'open_tickets', formula: '0.3 * min(n, 5)', term: (n) => 0.3 * clamp(n, 0, 5) },
  { feature: 'howto_share_90d', formula: '1.0 * (h - 0.3)', term: (h) => fraction(h) - 0.3 },
];

export const HEURISTIC_FEATURES: readonly string[] = HEURISTIC_TERMS.map((t) => t.feature);

/** One line per term, for the screen that must say the heuristic is in use. */
export function describeHeuristic(): string {
  return (
    `risk = sigmoid(${HEURISTIC_INTERCEPT} + ` +
    HEURISTIC_TERMS.map((t) => `[${t.feature}: ${t.formula}]`).join(' + ') +
    '), missing features add 0'
  );
}

export interface HeuristicScore {
  logit: number;
  risk: number;
  /** Every term the row has, largest |contribution| first. */
  reasons: Reason[];
}

export function heuristicScore(features: Readonly<Record<string, unknown>>): HeuristicScore {
  let logit = HEURISTIC_INTERCEPT;
  const reasons: Reason[] = [];
  for (const t of HEURISTIC_TERMS) {
    const raw = features[t.feature];
    const x = typeof raw === 'boolean' ? null : toFiniteNumber(raw);
    if (x === null) continue;
    const contribution = t.term(x);
    logit += contribution;
    reasons.push({
      feature: t.feature,
      contribution,
      value: x,
      direction: contribution > 0 ? 'raises' : 'lowers',
    });
  }
  return { logit, risk: sigmoid(logit), reasons: sortReasons(reasons) };
}
