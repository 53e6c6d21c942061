import { describe, expect, it } from '@jest/globals';
import { type ChurnSnapshot, healthFromRisk, loadChurnModel, trainChurnModel } from './churn-model.js';
import { DesignEncoder, flattenTraits } from './features.js';
import { HEURISTIC_INTERCEPT, heuristicScore } from './heuristic.js';
import { LogisticRegression, sigmoid } from './logistic.js';
import { rocAuc } from './metrics.js';
import { seededRandom } from './random.js';

const DAY = 86_400_000;
const NOW = new Date('2025-06-01T00:00:00Z');

/**
 * Monthly snapshots of a synthetic customer base: each account has a latent engagement that drifts;
 * the features are noisy views of it, and churn within 90 days follows a logistic model of it.
 * Churned accounts leave the later snapshots.
 */
function syntheticHistory(options: {
  accounts: number;
  snapshots: number;
  seed: number;
  baseLogit?: number;
}) {
  const random = seededRandom(options.seed);
  const plans = ['free', 'basic', 'pro', 'enterprise'];
  const industries = ['saas', 'retail', 'health', 'finance', 'media'];
  const accounts = Array.from({ length: options.accounts }, (_, i) => ({
    id: `acc-${i}`,
    engagement: random.normal(),
    plan: plans[random.int(plans.length)],
    traits: { industry: industries[random.int(industries.length)], employees: 5 + random.int(500) },
    churned: false,
  }));
  const snapshots: ChurnSnapshot[] = [];
  for (let s = 0; s < options.snapshots; s++) {
    const asOf = new Date(NOW.getTime() - (options.snapshots - s + 3) * 30 * DAY);
    const rows: ChurnSnapshot['rows'][number][] = [];
    for (const account of accounts) {
      if (account.churned) continue;
      const previous = account.engagement;
      account.engagement = 0.85 * account.engagement + 0.5 * random.normal();
      const e = account.engagement;
      const features = {
        days_since_last_seen: Math.round(Math.exp(1.5 - 0.9 * e + 0.4 * random.normal())),
        events_30d: Math.round(Math.exp(2.5 + 0.9 * e + 0.3 * random.normal())),
        activity_trend: Math.max(-1, Math.min(3, 0.5 * (e - previous) + 0.2 * random.normal())),
        onboarding_completion: Math.max(0, Math.min(1, 0.6 + 0.15 * e + 0.15 * random.normal())),
        csat_pct_90d:
          random.next() < 0.3 ? null : Math.max(0, Math.min(100, 80 + 8 * e + 10 * random.normal())),
        open_tickets: random.int(4),
        plan: account.plan,
        ...flattenTraits(account.traits),
      };
      const z = (options.baseLogit ?? -2.5) - 2.2 * e + (account.plan === 'free' ? 0.8 : 0);
      const churned = random.next() < sigmoid(z);
      if (churned) account.churned = true;
      rows.push({ accountId: account.id, features, churnedWithin90d: churned });
    }
    snapshots.push({ asOf, rows });
  }
  return snapshots;
}

describe('trainChurnModel (learned)', () => {
  const history = syntheticHistory({ accounts: 1500, snapshots: 5, seed: 11 });
  const model = trainChurnModel(history, { now: NOW });
  const latest = history[history.length - 1];

  it('ranks churners above stayers on the held-out (latest) snapshot', () => {
    const { report } = model;
    expect(report.method).toBe('logistic_regression');
    expect(report.auc).toBeGreaterThan(0.8);
    expect(report.testRows).toBe(latest.rows.length);
    expect(report.trainRows).toBe(history.slice(0, -1).reduce((n, s) => n + s.rows.length, 0));
    expect(report.testAsOf).toBe(latest.asOf.toISOString());
    expect(report.positives).toBe(history.flatMap((s) => s.rows).filter((r) => r.churnedWithin90d).length);
    expect(report.labelledRows).toBe(report.trainRows + report.testRows);
    expect(report.trainedAt).toBe(NOW.toISOString());
    expect(report.note).toBeNull();
    expect(report.calibration.reduce((n, b) => n + b.count, 0)).toBe(report.testRows);
    // Better than always predicting the base rate.
    const rate = report.testPositives / report.testRows;
    expect(report.brier).toBeLessThan(rate * (1 - rate));
    expect(report.features).toEqual(expect.arrayContaining(['days_since_last_seen', 'events_30d', 'plan']));
  });

  it('scores risk, health from risk, and the reasons that raise it', () => {
    const scores = model.score(latest.rows);
    expect(scores).toHaveLength(latest.rows.length);
    for (const s of scores) {
      expect(s.risk).toBeGreaterThan(0);
      expect(s.risk).toBeLessThan(1);
      expect(s.health).toBe(Math.round(100 * (1 - s.risk)));
      expect(s.reasons.length).toBeLessThanOrEqual(5);
      for (const r of s.reasons) {
        expect(r.direction).toBe('raises');
        expect(r.contribution).toBeGreaterThanOrEqual(0.01);
      }
      const sizes = s.reasons.map((r) => r.contribution);
      expect(sizes).toEqual([...sizes].sort((a, b) => b - a));
    }
    const riskiest = scores.reduce((a, b) => (b.risk > a.risk ? b : a));
    expect(riskiest.reasons.length).toBeGreaterThan(0);
    const row = latest.rows.find((r) => r.accountId === riskiest.accountId);
    const first = riskiest.reasons[0];
    expect(first.value).toEqual(row?.features[first.feature as keyof typeof row.features] ?? null);
    // In-sample ranking agrees with the held-out one.
    expect(
      rocAuc(
        scores.map((s) => s.risk),
        latest.rows.map((r) => r.churnedWithin90d === true),
      ),
    ).toBeGreaterThan(0.8);
  });

  it('gives reasons that are the model contributions: all of them plus the intercept make the logit', () => {
    const stored = model.toJSON();
    const encoder = DesignEncoder.fromJSON(stored.encoder!);
    const logistic = LogisticRegression.fromJSON(stored.logistic!);
    const scores = model.score(latest.rows.slice(0, 200));
    latest.rows.slice(0, 200).forEach((row, i) => {
      const x = encoder.encodeRow(row.features);
      const all = logistic.contributions(x, { sources: encoder.sources, values: row.features });
      const logit = all.reduce((s, r) => s + r.contribution, logistic.intercept);
      expect(sigmoid(logit)).toBeCloseTo(scores[i].risk, 12);
      const expected = all.filter((r) => r.contribution >= 0.01).slice(0, 5);
      expect(scores[i].reasons).toEqual(
        expected.map((r) => ({ ...r, contribution: expect.closeTo(r.contribution, 12) })),
      );
    });
  });

  it('scores rows with missing features and unseen categories', () => {
    const [empty, odd] = model.score([
      { accountId: 'a', features: {} },
      { accountId: 'b', features: { plan: 'platinum', trait_industry: 'space', events_30d: 'lots' } },
    ]);
    for (const s of [empty, odd]) {
      expect(Number.isFinite(s.risk)).toBe(true);
      expect(s.health).toBe(healthFromRisk(s.risk));
    }
  });

  it('is deterministic: the same history gives the same model', () => {
    const again = trainChurnModel(syntheticHistory({ accounts: 1500, snapshots: 5, seed: 11 }), { now: NOW });
    expect(JSON.stringify(again)).toBe(JSON.stringify(model));
  });

  it('round-trips through JSON with identical scores', () => {
    const restored = loadChurnModel(JSON.stringify(model.toJSON()));
    expect(restored.method).toBe('logistic_regression');
    expect(restored.report).toEqual(model.report);
    expect(restored.score(latest.rows)).toEqual(model.score(latest.rows));
    expect(() => loadChurnModel({ format: 'something-else' })).toThrow();
  });
});

describe('trainChurnModel (edge cases of history)', () => {
  it('learns from a CRM table of traits and churn labels alone', () => {
    const random = seededRandom(5);
    const snapshot = (asOf: string, n: number): ChurnSnapshot => ({
      asOf: new Date(asOf),
      rows: Array.from({ length: n }, (_, i) => {
        const traits = {
          Segment: ['smb', 'mid', 'ent'][random.int(3)],
          'Seats Purchased': String(1 + random.int(100)),
          partner: random.next() < 0.2,
        };
        const z = -1 + (traits.Segment === 'smb' ? 1.5 : 0) - 0.02 * Number(traits['Seats Purchased']);
        return {
          accountId: `a${i}`,
          features: flattenTraits(traits),
          churnedWithin90d: random.next() < sigmoid(z),
        };
      }),
    });
    const model = trainChurnModel([snapshot('2025-01-01', 1500), snapshot('2025-02-01', 1500)], { now: NOW });
    expect(model.method).toBe('logistic_regression');
    expect(model.report.features).toEqual(['trait_seats_purchased', 'trait_segment', 'trait_partner']);
    expect(model.report.auc).toBeGreaterThan(0.7);
  });

  it('falls back to the documented heuristic when history has no churned accounts', () => {
    const history = syntheticHistory({ accounts: 300, snapshots: 3, seed: 2, baseLogit: -40 });
    expect(history.flatMap((s) => s.rows).some((r) => r.churnedWithin90d)).toBe(false);
    const model = trainChurnModel(history, { now: NOW });
    expect(model.method).toBe('heuristic');
    expect(model.report).toMatchObject({ method: 'heuristic', auc: null, positives: 0, trainRows: 0 });
    expect(model.report.note).toMatch(/^Heuristic: labelled history has 0 churned/);
    expect(model.report.features).toEqual([
      'days_since_last_seen',
      'activity_trend',
      'events_30d',
      'onboarding_completion',
      'csat_pct_90d',
      'open_tickets',
    ]);

    const [dormant, active] = model.score([
      {
        accountId: 'dormant',
        features: { days_since_last_seen: 45, events_30d: 0, csat_pct_90d: 40, open_tickets: 3 },
      },
      { accountId: 'active', features: { days_since_last_seen: 0, events_30d: 300, csat_pct_90d: 100 } },
    ]);
    expect(dormant.risk).toBeGreaterThan(0.5);
    expect(active.risk).toBeLessThan(0.1);
    expect(dormant.health).toBe(Math.round(100 * (1 - dormant.risk)));
    expect(dormant.reasons.map((r) => r.feature)).toEqual([
      'days_since_last_seen',
      'events_30d',
      'open_tickets',
      'csat_pct_90d',
    ]);
    expect(dormant.reasons[1]).toEqual({
      feature: 'events_30d',
      contribution: expect.closeTo(0.5 * Math.log(21), 12),
      value: 0,
      direction: 'raises',
    });
    expect(active.reasons).toEqual([]);

    const restored = loadChurnModel(JSON.parse(JSON.stringify(model)));
    expect(restored.method).toBe('heuristic');
    expect(restored.score([{ accountId: 'dormant', features: { days_since_last_seen: 45 } }])[0].risk).toBe(
      model.score([{ accountId: 'dormant', features: { days_since_last_seen: 45 } }])[0].risk,
    );
  });

  it('evaluates the heuristic on all history when there are a few churned accounts', () => {
    const history = syntheticHistory({ accounts: 200, snapshots: 2, seed: 3, baseLogit: -6 });
    const positives = history.flatMap((s) => s.rows).filter((r) => r.churnedWithin90d).length;
    expect(positives).toBeGreaterThan(0);
    expect(positives).toBeLessThan(20);
    const model = trainChurnModel(history, { now: NOW });
    expect(model.method).toBe('heuristic');
    expect(model.report.auc).not.toBeNull();
    expect(model.report.testRows).toBe(history[0].rows.length + history[1].rows.length);
  });

  it('implements the documented heuristic formula', () => {
    const { logit, risk, reasons } = heuristicScore({
      days_since_last_seen: 30,
      activity_trend: -0.5,
      events_30d: '4',
      onboarding_completion: 80, // percent, read as 0.8
      csat_pct_90d: null,
      open_tickets: 9,
      howto_share_90d: 0.5,
      unrelated: 1,
    });
    const expected =
      HEURISTIC_INTERCEPT +
      (2.5 * (30 - 7)) / 60 +
      0.5 +
      -0.5 * (Math.log(5) - Math.log(21)) +
      1.5 * (0.5 - 0.8) +
      0.3 * 5 +
      (0.5 - 0.3);
    expect(logit).toBeCloseTo(expected, 12);
    expect(risk).toBeCloseTo(sigmoid(expected), 12);
    expect(reasons.reduce((s, r) => s + r.contribution, HEURISTIC_INTERCEPT)).toBeCloseTo(logit, 12);
    expect(reasons.map((r) => r.feature)).not.toContain('csat_pct_90d');
  });

  it('uses the heuristic for an empty history, and ignores unlabelled rows', () => {
    const model = trainChurnModel(
      [{ asOf: NOW, rows: [{ accountId: 'x', features: { events_30d: 1 }, churnedWithin90d: null }] }],
      { now: NOW },
    );
    expect(model.method).toBe('heuristic');
    expect(model.report).toMatchObject({
      auc: null,
      brier: null,
      testRows: 0,
      labelledRows: 0,
      snapshots: 0,
    });
  });

  it('learns without a held-out AUC from a single labelled snapshot, and says so', () => {
    const [only] = syntheticHistory({ accounts: 800, snapshots: 1, seed: 9 });
    const model = trainChurnModel([only], { now: NOW });
    expect(model.method).toBe('logistic_regression');
    expect(model.report.auc).toBeNull();
    expect(model.report.note).toMatch(/Only one labelled snapshot/);
    expect(model.report.labelledRows).toBe(only.rows.length);
  });
});
