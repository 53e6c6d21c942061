/**
 * Turning per-account feature rows (SQL output, CRM traits) into a numeric design matrix for the
 * churn model, and scoring rows into the same columns later.
 *
 * Every design column is standardized with the training mean and standard deviation, so a
 * coefficient times a design value is "how far this account sits from the average training
 * account on this column, in log-odds", which is what a reason shows.
 */

export type NumericTransform = 'none' | 'log1p';

/**
 * What to do with a missing numeric value: `median_indicator` fills the training median and adds a
 * 0/1 column `<name>__missing` (so "no CSAT ratings" can carry its own weight); `median` only fills;
 * `zero` fills 0 (for counts where absent means none).
 */
export type MissingPolicy = 'median_indicator' | 'median' | 'zero';

export interface NumericFeatureSpec {
  name: string;
  /** `log1p` is sign(x) * ln(1 + |x|), for long-tailed counts and amounts. Default `none`. */
  transform?: NumericTransform;
  /** Default `median_indicator`. */
  missing?: MissingPolicy;
}

export interface CategoricalFeatureSpec {
  name: string;
  /** Keep the K most frequent training categories (ties by name); the rest share `(other)`. Default 10. */
  topK?: number;
  /** A category needs this many training rows to get its own column. Default 1. */
  minCount?: number;
}

export interface FeatureSpec {
  numeric: NumericFeatureSpec[];
  categorical: CategoricalFeatureSpec[];
}

export type FeatureRow = Readonly<Record<string, unknown>>;

/** Category of missing categorical values (null, undefined, empty string); it competes for top-K like any. */
export const MISSING_CATEGORY = '(missing)';
/** Category of values outside the kept top-K, including categories first seen at scoring time. */
export const OTHER_CATEGORY = '(other)';

/** Numbers, bigints, booleans (1/0) and numeric strings as a finite number; anything else is missing. */
export function toFiniteNumber(value: unknown): number | null {
  switch (typeof value) {
    case 'number':
      return Number.isFinite(value) ? value : null;
    case 'bigint':
      return Number(value);
    case 'boolean':
      return value ? 1 : 0;
    case 'string': {
      const trimmed = value.trim();
      if (trimmed === '') return null;
      const parsed = Number(trimmed);
      return Number.isFinite(parsed) ? parsed : null;
    }
    default:
      return null;
  }
}

/** The category string of a raw value. */
export function toCategory(value: unknown): string {
  if (value === null || value === undefined || value === '') return MISSING_CATEGORY;
  if (typeof value === 'number' && Number.isNaN(value)) return MISSING_CATEGORY;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean')
    return String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? MISSING_CATEGORY : value.toISOString();
  return JSON.stringify(value) ?? MISSING_CATEGORY;
}

/** A raw value as it can be shown next to a reason (JSON-safe). */
export function toDisplayValue(value: unknown): number | string | boolean | null {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  return JSON.stringify(value) ?? null;
}

function transformValue(x: number, transform: NumericTransform): number {
  return transform === 'log1p' ? Math.sign(x) * Math.log1p(Math.abs(x)) : x;
}

/** Median by quickselect (Hoare partition, median-of-three pivot): linear time, no full sort. */
function median(values: readonly number[]): number {
  const n = values.length;
  if (n === 0) return 0;
  const a = Float64Array.from(values);
  const upper = select(a, n >> 1);
  if (n % 2 === 1) return upper;
  // After selecting index n/2, everything left of it is <= it: the lower middle is their maximum.
  let lower = -Infinity;
  for (let i = 0; i < n >> 1; i++) if (a[i] > lower) lower = a[i];
  return (lower + upper) / 2;
}

/** The k-th smallest value (0-based); reorders `a` so that a[i] <= a[k] for i < k. */
function select(a: Float64Array, k: number): number {
  let lo = 0;
  let hi = a.length - 1;
  while (hi > lo) {
    const mid = lo + ((hi - lo) >> 1);
    // Median of three as the pivot value.
    const x = a[lo];
    const y = a[mid];
    const z = a[hi];
    const pivot = x < y ? (y < z ? y : x < z ? z : x) : x < z ? x : y < z ? z : y;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return a[k];
  }
  return a[k];
}

// ---------------------------------------------------------------------------------------------
// Traits and spec inference

function traitKey(key: string): string {
  return key
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '');
}

/**
 * Account traits (arbitrary JSON from a CRM or `identify`/`group` calls) as flat feature columns:
 * numbers (and bigints) stay numbers, strings and booleans become strings (booleans as
 * "true"/"false"), nested objects are flattened with `_` (up to 3 levels), arrays are skipped.
 * Keys are lower-cased with runs of other characters turned into `_`, and prefixed. A JSON string
 * is parsed first. Whether a string column is really numeric ("250") is for `inferSpec` to decide,
 * from all rows together.
 */
export function flattenTraits(traits: unknown, prefix = 'trait_'): Record<string, number | string | null> {
  let source = traits;
  if (typeof source === 'string') {
    try {
      source = JSON.parse(source) as unknown;
    } catch {
      return {};
    }
  }
  const out: Record<string, number | string | null> = {};
  const visit = (value: unknown, key: string, depth: number): void => {
    if (value === null || value === undefined) {
      if (!(key in out)) out[key] = null;
    } else if (typeof value === 'number') {
      if (!(key in out)) out[key] = Number.isFinite(value) ? value : null;
    } else if (typeof value === 'bigint') {
      if (!(key in out)) out[key] = Number(value);
    } else if (typeof value === 'boolean') {
      if (!(key in out)) out[key] = String(value);
    } else if (typeof value === 'string') {
      const trimmed = value.trim();
      if (!(key in out)) out[key] = trimmed === '' ? null : trimmed;
    } else if (typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date) && depth < 3) {
      for (const [k, v] of Object.entries(value)) {
        const part = traitKey(k);
        if (part !== '') visit(v, `${key}_${part}`, depth + 1);
      }
    }
  };
  if (source !== null && typeof source === 'object' && !Array.isArray(source)) {
    for (const [k, v] of Object.entries(source)) {
      const part = traitKey(k);
      if (part !== '') visit(v, `${prefix}${part}`, 1);
    }
  }
  return out;
}

export interface InferSpecOptions {
  /** Columns that are not features (ids, labels, dates). */
  exclude?: readonly string[];
  /** Top-K for categorical columns. Default 10. */
  topK?: number;
  /** Numeric columns that are never negative and have sample skewness above this get log1p. Default 1. */
  skewThreshold?: number;
}

/**
 * Decides, from the data, how to treat each column (in first-seen order):
 * - skipped when excluded, always missing, or holding objects, arrays or dates;
 * - numeric when every present value is a number, bigint or numeric string; log1p when the values
 *   are never negative and skewed (skewness > `skewThreshold`), median + missing indicator;
 * - otherwise categorical (strings, booleans), top-K one-hot, unless it looks like an identifier
 *   (more distinct values than K and than half the present values), which is skipped.
 */
export function inferSpec(rows: readonly FeatureRow[], options: InferSpecOptions = {}): FeatureSpec {
  const exclude = new Set(options.exclude ?? []);
  const topK = options.topK ?? 10;
  const skewThreshold = options.skewThreshold ?? 1;
  const names: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) {
    for (const key of Object.keys(row)) {
      if (!seen.has(key)) {
        seen.add(key);
        if (!exclude.has(key)) names.push(key);
      }
    }
  }

  const spec: FeatureSpec = { numeric: [], categorical: [] };
  for (const name of names) {
    const numbers: number[] = [];
    let present = 0;
    let numeric = true;
    let unusable = false;
    for (const row of rows) {
      const value = row[name];
      if (isAbsent(value)) continue;
      if (typeof value === 'object') {
        unusable = true;
        break;
      }
      present++;
      if (numeric) {
        const x = typeof value === 'boolean' ? null : toFiniteNumber(value);
        if (x === null) numeric = false;
        else numbers.push(x);
      }
    }
    if (unusable || present === 0) continue;
    if (numeric) {
      spec.numeric.push({
        name,
        transform: isSkewedNonNegative(numbers, skewThreshold) ? 'log1p' : 'none',
        missing: 'median_indicator',
      });
      continue;
    }
    const distinct = new Set<string>();
    for (const row of rows) if (!isAbsent(row[name])) distinct.add(toCategory(row[name]));
    if (!(distinct.size > topK && distinct.size > present / 2)) spec.categorical.push({ name, topK });
  }
  return spec;
}

function isAbsent(value: unknown): boolean {
  return (
    value === null ||
    value === undefined ||
    value === '' ||
    (typeof value === 'number' && Number.isNaN(value))
  );
}

function isSkewedNonNegative(values: readonly number[], threshold: number): boolean {
  const n = values.length;
  if (n < 3) return false;
  let mean = 0;
  for (const v of values) {
    if (v < 0) return false;
    mean += v;
  }
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  for (const v of values) {
    const d = v - mean;
    m2 += d * d;
    m3 += d * d * d;
  }
  m2 /= n;
  m3 /= n;
  if (m2 <= 0) return false;
  return m3 / m2 ** 1.5 > threshold;
}

// ---------------------------------------------------------------------------------------------
// The fitted encoder

export type DesignColumnKind = 'numeric' | 'missing' | 'category';

export interface DesignColumn {
  /** `mrr`, `mrr__missing`, `plan=pro`, `plan=(other)`. */
  name: string;
  /** The feature the column comes from; reasons are summed per source. */
  source: string;
  kind: DesignColumnKind;
  /** For `category` columns: the category, or `(other)`. */
  category?: string;
  /** Training mean and standard deviation of the raw column (before standardization). */
  mean: number;
  std: number;
}

export interface FittedNumeric {
  name: string;
  transform: NumericTransform;
  missing: MissingPolicy;
  /** Value (after transform) that replaces a missing one. */
  fill: number;
  /** Whether a `__missing` indicator column is produced. */
  indicator: boolean;
}

export interface FittedCategorical {
  name: string;
  categories: string[];
  /** Whether an `(other)` column is produced (some training rows fell outside the kept categories). */
  other: boolean;
}

export interface DesignEncoderJson {
  version: 1;
  numeric: FittedNumeric[];
  categorical: FittedCategorical[];
  /** Indices into the candidate raw columns (see `rawColumns`) that survived, with their stats. */
  columns: (DesignColumn & { raw: number })[];
}

interface RawColumn {
  name: string;
  source: string;
  kind: DesignColumnKind;
  category?: string;
}

/** The candidate raw columns of the fitted features, in order. */
function rawColumns(
  numeric: readonly FittedNumeric[],
  categorical: readonly FittedCategorical[],
): RawColumn[] {
  const out: RawColumn[] = [];
  for (const f of numeric) {
    out.push({ name: f.name, source: f.name, kind: 'numeric' });
    if (f.indicator) out.push({ name: `${f.name}__missing`, source: f.name, kind: 'missing' });
  }
  for (const f of categorical) {
    for (const c of f.categories)
      out.push({ name: `${f.name}=${c}`, source: f.name, kind: 'category', category: c });
    if (f.other) {
      out.push({
        name: `${f.name}=${OTHER_CATEGORY}`,
        source: f.name,
        kind: 'category',
        category: OTHER_CATEGORY,
      });
    }
  }
  return out;
}

/**
 * Fitted on training rows (medians, category lists, column means and standard deviations) and
 * reused to encode scoring rows identically. Columns constant in training are dropped.
 */
export class DesignEncoder {
  readonly columns: readonly DesignColumn[];
  private readonly rawIndex: Int32Array;
  private readonly rawWidth: number;
  private readonly categoryIndex: Map<string, number>[];

  private constructor(
    private readonly numeric: readonly FittedNumeric[],
    private readonly categorical: readonly FittedCategorical[],
    kept: readonly (DesignColumn & { raw: number })[],
  ) {
    this.columns = kept.map(({ raw: _raw, ...column }) => column);
    this.rawIndex = Int32Array.from(kept.map((c) => c.raw));
    this.rawWidth = rawColumns(numeric, categorical).length;
    this.categoryIndex = categorical.map((f) => new Map(f.categories.map((c, i) => [c, i])));
  }

  static fromTraining(rows: readonly FeatureRow[], spec: FeatureSpec): DesignEncoder {
    const names = new Set<string>();
    for (const f of [...spec.numeric, ...spec.categorical]) {
      if (names.has(f.name)) throw new Error(`Feature ${f.name} is listed twice in the spec`);
      names.add(f.name);
    }

    const numeric: FittedNumeric[] = spec.numeric.map((f) => {
      const transform = f.transform ?? 'none';
      const missing = f.missing ?? 'median_indicator';
      const present: number[] = [];
      for (const row of rows) {
        const x = toFiniteNumber(row[f.name]);
        if (x !== null) present.push(transformValue(x, transform));
      }
      const anyMissing = present.length < rows.length;
      return {
        name: f.name,
        transform,
        missing,
        fill: missing === 'zero' ? 0 : median(present),
        indicator: missing === 'median_indicator' && anyMissing && present.length > 0,
      };
    });

    const categorical: FittedCategorical[] = spec.categorical.map((f) => {
      const topK = f.topK ?? 10;
      const minCount = f.minCount ?? 1;
      const counts = new Map<string, number>();
      for (const row of rows) {
        const c = toCategory(row[f.name]);
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      const categories = [...counts.entries()]
        .filter(([, n]) => n >= minCount)
        .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
        .slice(0, Math.max(0, topK))
        .map(([c]) => c);
      const keptRows = categories.reduce((sum, c) => sum + (counts.get(c) ?? 0), 0);
      return { name: f.name, categories, other: keptRows < rows.length };
    });

    // Raw columns over the training rows, then their means and standard deviations (two-pass).
    const candidates = rawColumns(numeric, categorical);
    const width = candidates.length;
    const provisional = new DesignEncoder(
      numeric,
      categorical,
      candidates.map((c, i) => ({ ...c, raw: i, mean: 0, std: 1 })),
    );
    const raw = new Float64Array(rows.length * width);
    rows.forEach((row, i) => provisional.writeRaw(row, raw.subarray(i * width, (i + 1) * width)));
    const n = Math.max(rows.length, 1);
    const means = new Float64Array(width);
    const squares = new Float64Array(width);
    for (let i = 0; i < raw.length; i += width) for (let j = 0; j < width; j++) means[j] += raw[i + j];
    for (let j = 0; j < width; j++) means[j] /= n;
    for (let i = 0; i < raw.length; i += width) {
      for (let j = 0; j < width; j++) squares[j] += (raw[i + j] - means[j]) ** 2;
    }
    const kept: (DesignColumn & { raw: number })[] = [];
    for (let j = 0; j < width; j++) {
      const std = Math.sqrt(squares[j] / n);
      // Constant in training (up to rounding): nothing to learn from it.
      if (!(std > 1e-12 * Math.max(1, Math.abs(means[j])))) continue;
      kept.push({ ...candidates[j], raw: j, mean: means[j], std });
    }
    return new DesignEncoder(numeric, categorical, kept);
  }

  static fromJSON(json: DesignEncoderJson): DesignEncoder {
    if (json?.version !== 1 || !Array.isArray(json.numeric) || !Array.isArray(json.categorical)) {
      throw new Error('Not a design encoder (version 1)');
    }
    const width = rawColumns(json.numeric, json.categorical).length;
    for (const c of json.columns) {
      if (!Number.isInteger(c.raw) || c.raw < 0 || c.raw >= width || !(c.std > 0)) {
        throw new Error(`Design encoder column ${c.name} is invalid`);
      }
    }
    return new DesignEncoder(json.numeric, json.categorical, json.columns);
  }

  toJSON(): DesignEncoderJson {
    return {
      version: 1,
      numeric: this.numeric.map((f) => ({ ...f })),
      categorical: this.categorical.map((f) => ({ ...f, categories: [...f.categories] })),
      columns: this.columns.map((c, j) => ({ ...c, raw: this.rawIndex[j] })),
    };
  }

  /** Design column names, in matrix order. */
  get columnNames(): string[] {
    return this.columns.map((c) => c.name);
  }

  /** The source feature of each design column, in matrix order. */
  get sources(): string[] {
    return this.columns.map((c) => c.source);
  }

  /** The source features that kept at least one column. */
  get features(): string[] {
    return [...new Set(this.sources)];
  }

  /** Standardized design rows. */
  encode(rows: readonly FeatureRow[]): Float64Array[] {
    const raw = new Float64Array(this.rawWidth);
    return rows.map((row) => this.encodeInto(row, raw));
  }

  encodeRow(row: FeatureRow): Float64Array {
    return this.encodeInto(row, new Float64Array(this.rawWidth));
  }

  private encodeInto(row: FeatureRow, raw: Float64Array): Float64Array {
    this.writeRaw(row, raw);
    const out = new Float64Array(this.columns.length);
    for (let j = 0; j < out.length; j++) {
      const c = this.columns[j];
      out[j] = (raw[this.rawIndex[j]] - c.mean) / c.std;
    }
    return out;
  }

  private writeRaw(row: FeatureRow, raw: Float64Array): void {
    raw.fill(0);
    let k = 0;
    for (const f of this.numeric) {
      const x = toFiniteNumber(row[f.name]);
      raw[k++] = x === null ? f.fill : transformValue(x, f.transform);
      if (f.indicator) raw[k++] = x === null ? 1 : 0;
    }
    for (let i = 0; i < this.categorical.length; i++) {
      const f = this.categorical[i];
      const index = this.categoryIndex[i].get(toCategory(row[f.name]));
      if (index !== undefined) raw[k + index] = 1;
      else if (f.other) raw[k + f.categories.length] = 1;
      k += f.categories.length + (f.other ? 1 : 0);
    }
  }
}

export interface Design {
  matrix: Float64Array[];
  columns: string[];
  encoder: DesignEncoder;
}

/** Fits an encoder on `rows` and encodes them: the training design matrix. */
export function buildDesign(rows: readonly FeatureRow[], spec: FeatureSpec): Design {
  const encoder = DesignEncoder.fromTraining(rows, spec);
  return { matrix: encoder.encode(rows), columns: encoder.columnNames, encoder };
}
