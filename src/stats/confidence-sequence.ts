/**
 * An anytime-valid upper confidence bound on the mean of observations in [0, 1]: the predictable plug-in
 * empirical-Bernstein confidence sequence of Waudby-Smith & Ramdas ("Estimating means of bounded random
 * variables by betting", JRSS-B 2024, Theorem 2), one-sided. With probability at least 1 − α the bound holds
 * at every step at once, so a controller may read it after every observation and stop whenever it likes —
 * which a fixed-n interval (normal approximation, Hoeffding at one n) does not allow. The bound covers the
 * average of the observations' conditional means so far, so it stays valid when they change over time.
 */

/** λ's cap: the paper's c ∈ (0, 1); 1/2 keeps ψ small on a lucky streak. */
const LAMBDA_CAP = 0.5;

export class UpperConfidenceSequence {
  private n = 0;
  private sumX = 0;
  private sumSq = 0;
  private sumLambda = 0;
  private sumLambdaX = 0;
  private sumPenalty = 0;
  private bound = 1;
  private readonly logInvAlpha: number;

  /** `alpha`: the probability that the bound is ever wrong, in (0, 1). */
  constructor(alpha: number) {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
    this.logInvAlpha = Math.log(1 / alpha);
  }

  /** Observations so far. */
  get count(): number {
    return this.n;
  }

  /** Their mean (0 before the first). */
  get mean(): number {
    return this.n === 0 ? 0 : this.sumX / this.n;
  }

  /**
   * The upper bound now (at most 1). Not the running minimum over time: that is valid only for a mean that
   * never moves, and the losses of a learning cascade do move.
   */
  get upper(): number {
    return this.bound;
  }

  /** Adds one observation, `x` in [0, 1] (clamped). */
  push(x: number): void {
    const v = x < 0 ? 0 : x > 1 ? 1 : x;
    // Predictable: λ and the centring use only the observations before this one (regularised estimates).
    const t = this.n + 1;
    const muPrev = (0.5 + this.sumX) / t;
    const varPrev = (0.25 + this.sumSq) / t;
    const lambda = Math.min(LAMBDA_CAP, Math.sqrt((2 * this.logInvAlpha) / (varPrev * t * Math.log(1 + t))));
    const psi = (-Math.log(1 - lambda) - lambda) / 4;
    this.sumPenalty += 4 * (v - muPrev) ** 2 * psi;
    this.sumLambda += lambda;
    this.sumLambdaX += lambda * v;
    this.n = t;
    this.sumX += v;
    const mu = (0.5 + this.sumX) / (t + 1);
    this.sumSq += (v - mu) ** 2;
    this.bound = Math.min(1, (this.sumLambdaX + this.logInvAlpha + this.sumPenalty) / this.sumLambda);
  }
}

// Bets of the exceedance test, as fractions of the largest bet 1/m0: a mixture adapts to how far the mean is above.
const BETS = [0.05, 0.1, 0.2, 0.4, 0.7, 0.9];

/**
 * A sequential test that the mean of observations in [0, 1] exceeds `m0`: a mixture of betting e-processes
 * (each wealth ∏ 1 + λ(x − m0), a non-negative supermartingale while the mean is at most m0). It rejects once
 * the mixture's wealth reaches 1/α, with probability at most α under the null whenever that happens (Ville's
 * inequality), so it may be read after every observation. Far more powerful on a few samples than a
 * fixed-n bound: a stage gone wrong on half its answers against m0 = 0.1 is caught in about ten audits.
 */
export class ExceedanceTest {
  private readonly wealth: number[];
  private readonly lambdas: number[];
  private readonly threshold: number;
  private rejectedAt: number | undefined;
  private n = 0;

  constructor(
    readonly m0: number,
    alpha: number,
  ) {
    if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${alpha}`);
    const cap = m0 > 0 ? 1 / m0 : 1e6;
    this.lambdas = BETS.map((b) => b * Math.min(cap, 1e6));
    this.wealth = BETS.map(() => 1);
    this.threshold = 1 / alpha;
  }

  /** Adds one observation (clamped to [0, 1]); true once the test has rejected (the mean exceeds m0). */
  push(x: number): boolean {
    if (this.rejectedAt !== undefined) return true;
    const v = x < 0 ? 0 : x > 1 ? 1 : x;
    this.n++;
    let mixture = 0;
    for (let i = 0; i < this.wealth.length; i++) {
      this.wealth[i] = (this.wealth[i] as number) * Math.max(0, 1 + (this.lambdas[i] as number) * (v - this.m0));
      mixture += this.wealth[i] as number;
    }
    if (mixture / this.wealth.length >= this.threshold) this.rejectedAt = this.n;
    return this.rejectedAt !== undefined;
  }

  get rejected(): boolean {
    return this.rejectedAt !== undefined;
  }
}
