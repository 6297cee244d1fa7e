/**
 * The Wilson score interval for a binomial proportion. Unlike the normal ("Wald") interval it stays inside
 * [0, 1] and is honest at 0/n and n/n, which matters here: a freshly warmed-up stage is often audited only a
 * handful of times. Formula: Wilson (1927), https://en.wikipedia.org/wiki/Binomial_proportion_confidence_interval#Wilson_score_interval
 */

/** z for a two-sided 95% interval (the 0.975 quantile of the standard normal). */
export const Z_95 = 1.959963984540054;

/** A proportion with its confidence band; all three are NaN-free numbers in [0, 1], or null when n = 0. */
export interface WilsonInterval {
  /** successes / trials. */
  estimate: number;
  lower: number;
  upper: number;
}

/**
 * Wilson score interval of `successes` out of `trials`.
 * @param z - the normal quantile of the wanted confidence. @defaultValue {@link Z_95}
 * @returns null when there are no trials (nothing is known), otherwise the estimate and its band.
 * @throws RangeError when the counts are negative, not finite, or successes exceed trials.
 */
export function wilsonInterval(successes: number, trials: number, z: number = Z_95): WilsonInterval | null {
  if (!(trials >= 0) || !(successes >= 0) || successes > trials || !Number.isFinite(trials)) {
    throw new RangeError(`wilsonInterval: need 0 ≤ successes ≤ trials, got ${successes}/${trials}`);
  }
  if (trials === 0) return null;
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const halfWidth = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  // Analytically the bound is exactly 0 at 0/n and exactly 1 at n/n; floating point lands a hair off.
  const lower = successes === 0 ? 0 : Math.max(0, centre - halfWidth);
  const upper = successes === trials ? 1 : Math.min(1, centre + halfWidth);
  return { estimate: p, lower, upper };
}
