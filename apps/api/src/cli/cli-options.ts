import { InvalidArgumentError } from 'commander';

/** A commander option parser for a whole number above 0 (`10_000` allowed); the error names the option. */
export const positiveInt =
  (name: string) =>
  (value: string): number => {
    const n = Number(value.replace(/_/g, ''));
    if (!Number.isInteger(n) || n <= 0)
      throw new InvalidArgumentError(`${name} must be a whole number above 0`);
    return n;
  };

/** A commander option parser for a number above 0; the error names the option. */
export const positiveNumber =
  (name: string) =>
  (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a number above 0`);
    return n;
  };
