/**
 * Token buckets for an endpoint's requests-per-minute and tokens-per-minute limits. A bucket holds at
 * most one second of its rate (at least one unit), so the client's steady pace is the limit itself and
 * its bursts stay far under what a provider's per-minute window tolerates.
 */

/** One token bucket refilled continuously at `perMinute / 60 000` units per ms. */
export class TokenBucket {
  private level: number;
  private lastMs: number;
  readonly capacity: number;
  private readonly perMs: number;

  constructor(
    readonly perMinute: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
    this.level = this.capacity;
    this.lastMs = now();
  }

  /** Units available now (may be negative after a charge larger than estimated). */
  available(): number {
    const t = this.now();
    this.level = Math.min(this.capacity, this.level + (t - this.lastMs) * this.perMs);
    this.lastMs = t;
    return this.level;
  }

  /** Ms until `units` are available (0 when they are); units above capacity wait for a full bucket. */
  waitMs(units: number): number {
    const need = Math.min(units, this.capacity) - this.available();
    return need <= 0 ? 0 : Math.ceil(need / this.perMs);
  }

  /** Takes `units` (the level may go below zero: the next requests then wait). */
  take(units: number): void {
    this.available();
    this.level -= units;
  }
}

/** The endpoint's limits; either may be absent (unlimited). */
export interface RateLimits {
  maxRequestsPerMinute?: number | undefined;
  maxTokensPerMinute?: number | undefined;
}

/** Both limits together: may a request of about `tokens` tokens go now, and if not, when. */
export class RateLimiter {
  private readonly requests: TokenBucket | undefined;
  private readonly tokens: TokenBucket | undefined;

  constructor(limits: RateLimits, now?: () => number) {
    this.requests = limits.maxRequestsPerMinute === undefined ? undefined : new TokenBucket(limits.maxRequestsPerMinute, now);
    this.tokens = limits.maxTokensPerMinute === undefined ? undefined : new TokenBucket(limits.maxTokensPerMinute, now);
  }

  /** Requests per second the limits allow (Infinity when unlimited). */
  get requestsPerSecond(): number {
    return this.requests === undefined ? Infinity : this.requests.perMinute / 60;
  }

  /** Tokens per second the limits allow (Infinity when unlimited). */
  get tokensPerSecond(): number {
    return this.tokens === undefined ? Infinity : this.tokens.perMinute / 60;
  }

  /** Ms to wait before a request estimated at `tokens` tokens may be sent (0: now). */
  waitMs(tokens: number): number {
    return Math.max(this.requests?.waitMs(1) ?? 0, this.tokens?.waitMs(tokens) ?? 0);
  }

  /** Records a request sent with an estimated `tokens`. */
  take(tokens: number): void {
    this.requests?.take(1);
    this.tokens?.take(tokens);
  }

  /** Corrects the token bucket once the real usage is known. */
  settle(estimatedTokens: number, actualTokens: number): void {
    this.tokens?.take(actualTokens - estimatedTokens);
  }
}
