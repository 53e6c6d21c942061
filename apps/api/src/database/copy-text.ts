/** Encoding of values for PostgreSQL's COPY text format. */

export const COPY_NULL = '\\N';

export function copyText(value: string | null | undefined): string {
  if (value === null || value === undefined) return COPY_NULL;
  return value.replace(/[\\\n\r\t]/g, (c) =>
    c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t',
  );
}

export function copyNumber(value: number | null | undefined): string {
  return value === null || value === undefined || !Number.isFinite(value) ? COPY_NULL : String(value);
}

export function copyTime(value: Date | null | undefined): string {
  return value ? value.toISOString() : COPY_NULL;
}

export function copyJson(value: unknown): string {
  return copyText(JSON.stringify(value ?? {}));
}

/** A text[] literal; elements are quoted so commas, braces and quotes survive. */
export function copyTextArray(values: readonly string[]): string {
  const literal = `{${values.map((v) => `"${v.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}`;
  return copyText(literal);
}

export const copyRow = (fields: string[]): string => `${fields.join('\t')}\n`;
