/** Two-sided 95%: the normal quantile 1.959964. */
export const Z_95 = 1.959963984540054;

export interface Interval {
  low: number;
  high: number;
}

/** Wilson's score interval for a proportion x / n (n > 0): sound near 0 and 1, unlike Wald's. */
export function wilsonInterval(x: number, n: number, z = Z_95): Interval {
  const p = x / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

/**
 * The difference of two proportions, x1/n1 - x2/n2, with Newcombe's hybrid score interval (his
 * method 10, 1998): it combines the Wilson intervals of each rate, so it stays inside [-1, 1] and
 * keeps close to its nominal coverage with small groups and rates near 0 or 1, where the Wald
 * interval (d +- z * standard error) is too narrow. Null when either group is empty.
 */
export function differenceOfProportions(
  x1: number,
  n1: number,
  x2: number,
  n2: number,
  z = Z_95,
): { difference: number; ci: Interval } | null {
  if (n1 <= 0 || n2 <= 0) return null;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const a = wilsonInterval(x1, n1, z);
  const b = wilsonInterval(x2, n2, z);
  const difference = p1 - p2;
  return {
    difference,
    ci: {
      low: difference - Math.sqrt((p1 - a.low) ** 2 + (b.high - p2) ** 2),
      high: difference + Math.sqrt((a.high - p1) ** 2 + (p2 - b.low) ** 2),
    },
  };
}
