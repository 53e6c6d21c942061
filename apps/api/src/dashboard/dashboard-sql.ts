import { createHash } from 'node:crypto';
import type pg from 'pg';
import {
  RISK_BAND_THRESHOLDS,
  type ChurnReason,
  type Period,
  type RiskBand,
  type RiskMix,
  type SupportFigures,
  type UpsellReason,
} from '@retain/contracts';

/*
 * SQL fragments and row mappers shared by the dashboard's repositories. Ticket measures follow
 * libs/analytics/sql/00_definitions.sql exactly, so a figure computed here on the fly agrees with
 * the one the analytics job wrote for the same tickets.
 */

/** Calendar minutes from creation to the first response of ticket alias `t` (NULL: none). */
export const responseMinutes = (t: string): string =>
  `COALESCE(${t}.first_response_minutes, extract(epoch FROM ${t}.first_response_at - ${t}.created_at) / 60)`;

/** When ticket `t` was first answered (NULL: not yet). */
export const respondedAt = (t: string): string =>
  `COALESCE(${t}.first_response_at, ${t}.created_at + ${t}.first_response_minutes * interval '1 minute')`;

/** Whether ticket `t` carries a rating on a known scale. */
export const rated = (t: string): string =>
  `(${t}.csat_score IS NOT NULL AND ${t}.csat_scale IN ('five_point', 'good_bad'))`;

/** Whether the rating of ticket `t` is satisfied (4-5 of 5, or good). */
export const satisfied = (t: string): string =>
  `(CASE WHEN ${t}.csat_scale = 'five_point' THEN ${t}.csat_score >= 4
         WHEN ${t}.csat_scale = 'good_bad' THEN ${t}.csat_score = 1 END)`;

/** When the rating of ticket `t` is taken to have been given. */
export const ratedAt = (t: string): string =>
  `COALESCE(${t}.solved_at, ${t}.first_response_at, ${t}.created_at)`;

/**
 * Aggregates of SupportFigures over tickets `t` created before `asOf` (a parameter reference):
 * responses and ratings count only when they happened before it, as in the analytics job.
 */
export function supportFiguresSql(t: string, asOf: string): string {
  const minutes = `CASE WHEN ${respondedAt(t)} < ${asOf} THEN ${responseMinutes(t)} END`;
  const isRated = `(${rated(t)} AND ${ratedAt(t)} < ${asOf})`;
  return `count(*)::int AS tickets,
    count(${minutes})::int AS responded,
    avg(${minutes})::float8 AS asa_mean,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY ${minutes})::float8 AS asa_median,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY ${minutes})::float8 AS asa_p90,
    count(*) FILTER (WHERE ${isRated})::int AS ratings,
    count(*) FILTER (WHERE ${isRated} AND ${satisfied(t)})::int AS satisfied`;
}

export interface SupportFiguresRow {
  tickets: number;
  responded: number;
  asa_mean: number | null;
  asa_median: number | null;
  asa_p90: number | null;
  ratings: number;
  satisfied: number;
}

export const EMPTY_SUPPORT_FIGURES: SupportFigures = {
  tickets: 0,
  responded: 0,
  asaMeanMinutes: null,
  asaMedianMinutes: null,
  asaP90Minutes: null,
  ratings: 0,
  satisfied: 0,
  csatPct: null,
};

export const csatPct = (ratings: number, satisfiedRatings: number): number | null =>
  ratings > 0 ? (100 * satisfiedRatings) / ratings : null;

export const toSupportFigures = (r: SupportFiguresRow): SupportFigures => ({
  tickets: r.tickets,
  responded: r.responded,
  asaMeanMinutes: r.asa_mean,
  asaMedianMinutes: r.asa_median,
  asaP90Minutes: r.asa_p90,
  ratings: r.ratings,
  satisfied: r.satisfied,
  csatPct: csatPct(r.ratings, r.satisfied),
});

/** Account `a` had not churned at `at` (a SQL timestamptz). */
export const ACTIVE_AT = (at: string): string => `(a.churned_at IS NULL OR a.churned_at > ${at})`;

/** Counts per risk band of `risk` (a SQL expression), as RiskMix columns. */
export const riskMixSql = (risk: string): string =>
  `count(*) FILTER (WHERE ${risk} < ${RISK_BAND_THRESHOLDS.medium})::int AS risk_low,
   count(*) FILTER (WHERE ${risk} >= ${RISK_BAND_THRESHOLDS.medium} AND ${risk} < ${RISK_BAND_THRESHOLDS.high})::int AS risk_medium,
   count(*) FILTER (WHERE ${risk} >= ${RISK_BAND_THRESHOLDS.high})::int AS risk_high,
   count(*) FILTER (WHERE ${risk} IS NULL)::int AS risk_unscored`;

export interface RiskMixRow {
  risk_low: number;
  risk_medium: number;
  risk_high: number;
  risk_unscored: number;
}

export const toRiskMix = (r: RiskMixRow): RiskMix => ({
  low: r.risk_low,
  medium: r.risk_medium,
  high: r.risk_high,
  unscored: r.risk_unscored,
});

/** The SQL condition of a risk band on `risk`. */
export function riskBandSql(risk: string, band: RiskBand): string {
  if (band === 'low') return `${risk} < ${RISK_BAND_THRESHOLDS.medium}`;
  if (band === 'medium')
    return `${risk} >= ${RISK_BAND_THRESHOLDS.medium} AND ${risk} < ${RISK_BAND_THRESHOLDS.high}`;
  return `${risk} >= ${RISK_BAND_THRESHOLDS.high}`;
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

const finiteOrNull = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

const NUMBER_TEXT = /^-?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

/** Large counts arrive as JSON text (DuckDB's 64-bit integers); they are shown as numbers. */
export const numberOrText = (v: string): number | string => (NUMBER_TEXT.test(v) ? Number(v) : v);

/** A feature value as a number: JSON numbers and numeric text; anything else is null. */
export function featureNumber(v: unknown): number | null {
  if (typeof v === 'string') {
    const n = numberOrText(v);
    return typeof n === 'number' && Number.isFinite(n) ? n : null;
  }
  return finiteOrNull(v);
}

/** Churn reasons as the model stored them (jsonb), keeping only well-formed entries. */
export function toChurnReasons(stored: unknown, max = Infinity): ChurnReason[] {
  if (!Array.isArray(stored)) return [];
  const reasons: ChurnReason[] = [];
  for (const r of stored) {
    if (reasons.length >= max) break;
    if (!isRecord(r) || typeof r.feature !== 'string' || finiteOrNull(r.contribution) === null) continue;
    const value =
      typeof r.value === 'string'
        ? numberOrText(r.value)
        : typeof r.value === 'boolean'
          ? r.value
          : finiteOrNull(r.value);
    reasons.push({
      feature: r.feature,
      contribution: r.contribution as number,
      value,
      direction: r.direction === 'lowers' ? 'lowers' : 'raises',
    });
  }
  return reasons;
}

/** Upsell reasons as the job stored them (jsonb): {signal, value, weight}. */
export function toUpsellReasons(stored: unknown): UpsellReason[] {
  if (!Array.isArray(stored)) return [];
  return stored
    .filter((r): r is Record<string, unknown> => isRecord(r) && typeof r.signal === 'string')
    .map((r) => ({
      signal: r.signal as string,
      value: finiteOrNull(r.value),
      weight: finiteOrNull(r.weight) ?? 0,
    }));
}

/** A timestamptz as ISO 8601 text in UTC, to the millisecond, as JSON dates are written. */
export const isoText = (column: string): string =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export const isoDay = (d: Date): string => d.toISOString().slice(0, 10);

const DAY_MS = 86_400_000;

export const addDays = (d: Date, days: number): Date => new Date(d.getTime() + days * DAY_MS);

/** 00:00 UTC of the day `d` falls on. */
export const startOfUtcDay = (d: Date): Date =>
  new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

/** 00:00 UTC of the Monday of the ISO week `d` falls in. */
export function startOfIsoWeek(d: Date): Date {
  const day = startOfUtcDay(d);
  return addDays(day, -((day.getUTCDay() + 6) % 7));
}

/** The whole UTC days from `from` (00:00) up to the day of `end`, both included. */
export function periodOf(from: Date, end: Date): Period {
  const last = startOfUtcDay(end);
  return {
    from: isoDay(from),
    to: isoDay(last),
    days: Math.round((last.getTime() - startOfUtcDay(from).getTime()) / DAY_MS) + 1,
  };
}

/** A number column pg returned as text (numeric, bigint), or null. */
export const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

/** Collects SQL conditions and their parameters ($1, $2, ...) for a WHERE clause. */
export class SqlConditions {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  /** A parameter placeholder for `value`. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  add(condition: string): void {
    this.parts.push(condition);
  }

  where(): string {
    return this.parts.length > 0 ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

/**
 * One of a closed set of values (a tier, proficiency or base segment) as SQL text. Filters on
 * them are written into the statement rather than passed as parameters: each value then gets a
 * plan of its own, cached, where one generic plan would fit the large segments or the small ones.
 */
export function enumLiteral(value: string, allowed: readonly string[]): string {
  if (!allowed.includes(value)) throw new Error(`Not one of ${allowed.join(', ')}: ${value}`);
  return `'${value}'`;
}

/** `text` as a LIKE pattern that matches it anywhere, with its own % and _ taken literally. */
export const containsPattern = (text: string): string => `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;

const statementNames = new Map<string, string>();

/** Past this many distinct texts, further ones run unnamed: prepared statements stay bounded. */
const MAX_STATEMENTS = 500;

/**
 * A query run as a named prepared statement: each pooled connection plans it once and PostgreSQL
 * keeps a generic plan, which matters for the small queries served on every page view (planning
 * the account list costs more than running it). Values go in parameters; LIMIT and OFFSET, when
 * part of the text, are validated integers, so the cached plan knows them.
 */
export function statement(text: string, values: unknown[] = []): pg.QueryConfig {
  let name = statementNames.get(text);
  if (!name) {
    if (statementNames.size >= MAX_STATEMENTS) return { text, values };
    name = `dashboard_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}
