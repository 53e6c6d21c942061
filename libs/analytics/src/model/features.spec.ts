import { describe, expect, it } from '@jest/globals';
import {
  DesignEncoder,
  MISSING_CATEGORY,
  OTHER_CATEGORY,
  buildDesign,
  flattenTraits,
  inferSpec,
  toFiniteNumber,
} from './features.js';
import { seededRandom } from './random.js';

const column = (matrix: Float64Array[], j: number): number[] => matrix.map((row) => row[j]);
const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

describe('buildDesign', () => {
  it('standardizes numeric columns with the training mean and standard deviation', () => {
    const rows = [{ x: 1 }, { x: 2 }, { x: 3 }, { x: 6 }];
    const { matrix, columns, encoder } = buildDesign(rows, { numeric: [{ name: 'x' }], categorical: [] });
    expect(columns).toEqual(['x']);
    const std = Math.sqrt(mean([1, 2, 3, 6].map((v) => (v - 3) ** 2)));
    expect(column(matrix, 0)).toEqual([1, 2, 3, 6].map((v) => (v - 3) / std));
    expect(encoder.columns[0]).toEqual({ name: 'x', source: 'x', kind: 'numeric', mean: 3, std });
    // Scoring rows use the training statistics, not their own.
    expect(encoder.encode([{ x: 9 }])[0][0]).toBeCloseTo((9 - 3) / std, 15);
  });

  it('fills a missing numeric value with the training median and flags it', () => {
    const rows = [{ csat: 50 }, { csat: null }, { csat: 90 }, { csat: 'n/a' }, {}, { csat: '70' }];
    const { matrix, columns, encoder } = buildDesign(rows, { numeric: [{ name: 'csat' }], categorical: [] });
    expect(columns).toEqual(['csat', 'csat__missing']);
    const raw = matrix.map((row) => encoder.columns.map((c, j) => row[j] * c.std + c.mean));
    expect(raw.map((r) => r[0])).toEqual([50, 70, 90, 70, 70, 70].map((v) => expect.closeTo(v, 10)));
    expect(raw.map((r) => r[1])).toEqual([0, 1, 0, 1, 1, 0].map((v) => expect.closeTo(v, 10)));
    // Missing at scoring time too; and a feature absent from the row altogether.
    const scored = encoder.encodeRow({ other: 1 });
    expect(scored[0] * encoder.columns[0].std + encoder.columns[0].mean).toBeCloseTo(70, 10);
    expect(scored[1] * encoder.columns[1].std + encoder.columns[1].mean).toBeCloseTo(1, 10);
  });

  it('uses the exact median for odd and even counts, with ties', () => {
    const random = seededRandom(4);
    for (let trial = 0; trial < 50; trial++) {
      const values = Array.from({ length: 1 + random.int(60) }, () => random.int(12) - 3);
      const sorted = [...values].sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const expected = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      const rows = [...values.map((x) => ({ x })), { x: null }];
      const encoder = DesignEncoder.fromTraining(rows, {
        numeric: [{ name: 'x', missing: 'median' }],
        categorical: [],
      });
      expect(encoder.toJSON().numeric[0].fill).toBe(expected);
    }
  });

  it('supports log1p (sign-preserving), zero-filling, and drops constant columns', () => {
    const rows = [
      { events: 0, flat: 5, opens: null },
      { events: 9, flat: 5, opens: 2 },
      { events: 99, flat: 5, opens: 4 },
    ];
    const { columns, encoder } = buildDesign(rows, {
      numeric: [{ name: 'events', transform: 'log1p' }, { name: 'flat' }, { name: 'opens', missing: 'zero' }],
      categorical: [],
    });
    expect(columns).toEqual(['events', 'opens']);
    expect(encoder.columns[0].mean).toBeCloseTo((Math.log(10) + Math.log(100)) / 3, 12);
    expect(encoder.columns[1].mean).toBeCloseTo(2, 12);
    const negative = encoder.encodeRow({ events: -9 })[0] * encoder.columns[0].std + encoder.columns[0].mean;
    expect(negative).toBeCloseTo(-Math.log(10), 12);
  });

  it('one-hot encodes the top-K categories and sends the rest and unseen ones to (other)', () => {
    const plans = ['pro', 'pro', 'pro', 'basic', 'basic', 'team', 'free', null, null];
    const rows = plans.map((plan) => ({ plan }));
    const { columns, encoder, matrix } = buildDesign(rows, {
      numeric: [],
      categorical: [{ name: 'plan', topK: 3 }],
    });
    // By frequency, ties by name: pro (3), (missing) (2) and basic (2); team and free share (other).
    expect(columns).toEqual(['plan=pro', `plan=${MISSING_CATEGORY}`, 'plan=basic', `plan=${OTHER_CATEGORY}`]);
    expect(encoder.sources).toEqual(['plan', 'plan', 'plan', 'plan']);
    const decode = (row: Float64Array) => encoder.columns.map((c, j) => Math.round(row[j] * c.std + c.mean));
    expect(decode(matrix[5])).toEqual([0, 0, 0, 1]);
    expect(decode(matrix[7])).toEqual([0, 1, 0, 0]);
    expect(decode(encoder.encodeRow({ plan: 'enterprise' }))).toEqual([0, 0, 0, 1]);
    expect(decode(encoder.encodeRow({ plan: 'basic' }))).toEqual([0, 0, 1, 0]);
    expect(decode(encoder.encodeRow({}))).toEqual([0, 1, 0, 0]);
  });

  it('gives an unseen category all zeros when training had no (other)', () => {
    const rows = ['a', 'b', 'a'].map((c) => ({ c }));
    const { columns, encoder } = buildDesign(rows, { numeric: [], categorical: [{ name: 'c' }] });
    expect(columns).toEqual(['c=a', 'c=b']);
    const raw = Array.from(
      encoder.encodeRow({ c: 'zzz' }),
      (v, j) => v * encoder.columns[j].std + encoder.columns[j].mean,
    );
    expect(raw.map((v) => Math.round(v))).toEqual([0, 0]);
    expect(raw.every(Number.isFinite)).toBe(true);
  });

  it('round-trips the encoder through JSON', () => {
    const rows = [
      { x: 1, c: 'a' },
      { x: null, c: 'b' },
      { x: 4, c: 'a' },
    ];
    const encoder = DesignEncoder.fromTraining(rows, {
      numeric: [{ name: 'x' }],
      categorical: [{ name: 'c' }],
    });
    const restored = DesignEncoder.fromJSON(JSON.parse(JSON.stringify(encoder.toJSON())));
    const scoring = [{ x: 2, c: 'b' }, { c: 'new' }];
    expect(restored.encode(scoring)).toEqual(encoder.encode(scoring));
    expect(restored.columns).toEqual(encoder.columns);
  });
});

describe('flattenTraits', () => {
  it('keeps numbers, turns strings and booleans into categories, flattens objects, skips arrays', () => {
    expect(
      flattenTraits({
        Industry: 'SaaS',
        employees: 250,
        'Annual Revenue ($)': '1200000',
        is_partner: true,
        address: { country: 'DE', geo: { lat: 52.5 } },
        tags: ['vip'],
        empty: '  ',
        nothing: null,
        big: 10n,
      }),
    ).toEqual({
      trait_industry: 'SaaS',
      trait_employees: 250,
      trait_annual_revenue: '1200000',
      trait_is_partner: 'true',
      trait_address_country: 'DE',
      trait_address_geo_lat: 52.5,
      trait_empty: null,
      trait_nothing: null,
      trait_big: 10,
    });
  });

  it('parses JSON text and tolerates anything else', () => {
    expect(flattenTraits('{"tier":"gold"}', 't_')).toEqual({ t_tier: 'gold' });
    expect(flattenTraits('not json')).toEqual({});
    expect(flattenTraits(null)).toEqual({});
    expect(flattenTraits([1, 2])).toEqual({});
  });
});

describe('inferSpec', () => {
  it('decides numeric vs categorical from the data', () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({
      account_id: `acc-${i}`,
      events_30d: i === 0 ? 5000 : i % 7,
      mrr: String(100 + i),
      plan: ['free', 'pro', 'team'][i % 3],
      is_partner: i % 2 === 0,
      email: `user${i}@example.com`,
      nested: { a: 1 },
      never: null,
      score: i % 5 === 0 ? null : i - 20,
    }));
    expect(inferSpec(rows, { exclude: ['account_id'] })).toEqual({
      numeric: [
        { name: 'events_30d', transform: 'log1p', missing: 'median_indicator' },
        { name: 'mrr', transform: 'none', missing: 'median_indicator' },
        { name: 'score', transform: 'none', missing: 'median_indicator' },
      ],
      categorical: [
        { name: 'plan', topK: 10 },
        { name: 'is_partner', topK: 10 },
      ],
    });
  });

  it('makes a CRM table of traits alone usable', () => {
    const rows = [
      { industry: 'SaaS', employees: 10 },
      { industry: 'Retail', employees: 200 },
      { industry: 'SaaS', employees: 35 },
    ].map((t) => flattenTraits(t));
    const { columns } = buildDesign(rows, inferSpec(rows));
    expect(columns).toEqual(['trait_employees', 'trait_industry=SaaS', 'trait_industry=Retail']);
  });
});

describe('toFiniteNumber', () => {
  it('reads numbers, bigints, booleans and numeric strings; everything else is missing', () => {
    expect(
      [1.5, 2n, true, ' 3e2 ', '', 'x', Number.NaN, Infinity, null, undefined, {}].map(toFiniteNumber),
    ).toEqual([1.5, 2, 1, 300, null, null, null, null, null, null, null]);
  });
});
