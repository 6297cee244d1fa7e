/**
 * Counters summed over the last minute, the last 15 minutes and since start, in bounded memory: the minute is
 * kept as 60 one-second buckets, the quarter hour as 90 ten-second buckets. Windows therefore cover their span
 * plus the current, partial bucket (at most 1 s or 10 s more), the usual trade-off of bucketed rolling counts.
 */

/** The windows /status reports. */
export type WindowName = '1m' | '15m' | 'all';

/** Every window, shortest first. */
export const WINDOWS: readonly WindowName[] = ['1m', '15m', 'all'];

/** A clock in ms since the epoch; injected so tests can move time. */
export type Clock = () => number;

/** A ring of `size` buckets of `bucketMs` each, indexed by absolute bucket number (t / bucketMs). */
class BucketRing {
  private readonly buckets: Float64Array;
  /** Absolute number of the newest bucket; buckets older than head - size + 1 have been cleared. */
  private head = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly size: number,
    private readonly bucketMs: number,
  ) {
    this.buckets = new Float64Array(size);
  }

  add(t: number, n: number): void {
    this.advance(t);
    const slot = this.head % this.size;
    this.buckets[slot] = (this.buckets[slot] ?? 0) + n;
  }

  sum(t: number): number {
    this.advance(t);
    let total = 0;
    for (const value of this.buckets) total += value;
    return total;
  }

  /** Clears the buckets that fell out of the window since the last call. A clock that goes back is ignored. */
  private advance(t: number): void {
    const index = Math.floor(t / this.bucketMs);
    if (index <= this.head) return;
    if (index - this.head >= this.size) {
      this.buckets.fill(0);
    } else {
      for (let i = this.head + 1; i <= index; i++) this.buckets[i % this.size] = 0;
    }
    this.head = index;
  }
}

/** One counter over every {@link WindowName}. Adding is O(1) amortized; summing a window is O(buckets). */
export class WindowedCounter {
  private readonly minute = new BucketRing(60, 1_000);
  private readonly quarter = new BucketRing(90, 10_000);
  private total = 0;

  /** @param now - the clock. @defaultValue Date.now */
  constructor(private readonly now: Clock = Date.now) {}

  /**
   * Adds `n` at time `t`.
   * @param t - ms since the epoch; pass the same value for every counter touched by one event to read the clock once.
   */
  add(n = 1, t: number = this.now()): void {
    this.minute.add(t, n);
    this.quarter.add(t, n);
    this.total += n;
  }

  /** The count over `window` as of time `t`. */
  sum(window: WindowName, t: number = this.now()): number {
    if (window === 'all') return this.total;
    return window === '1m' ? this.minute.sum(t) : this.quarter.sum(t);
  }
}
