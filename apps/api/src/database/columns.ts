import type { ValueTransformer } from 'typeorm';

/**
 * Numeric money comes back from pg as a string; it is read as a number of dollars (14 digits,
 * well inside a double's exact range). bigint ids stay strings, as TypeORM reads them.
 */
export const numericTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | null) => (value === null ? null : Number(value)),
};
