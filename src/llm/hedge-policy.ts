/**
 * Hedged requests (Dean and Barroso, "The Tail at Scale", CACM 2013): a request still unanswered after the
 * slowest `1 − quantile` of recent answers took is sent once more, and the first answer wins. A hosted LLM's
 * slowest answers are mostly its own queueing, not the prompt, so a second try usually answers at the median;
 * the answer that holds up everything behind it (the label a young stage waits for, the last of a backlog)
 * stops costing a whole tail draw. When no item has come to the LLM for a median answer time (a backlog's
 * end, a lull), nothing else will need the slots soon and what is still out is all the service waits for:
 * then the slowest tenth are hedged.
 *
 * A second request is a second paid call: at most `share` of the requests are sent twice (a token bucket that
 * earns `share` per request sent and holds at most a few hedges), and the scheduler sends one only with a
 * slot and the rate limits to spare and nothing waiting for them.
 */

/** How hedging runs; `share: 0` turns it off. */
export interface HedgeOptions {
  /** Most requests sent a second time, as a share of the requests sent, in [0, 1). */
  share: number;
  /** A request is hedged once it has waited longer than this quantile of recent answer times, in (0, 1). */
  quantile: number;
  /** Answer times needed before the quantile is trusted (and anything is hedged). @defaultValue 100 */
  minSamples?: number;
}

/** Answer times remembered for the quantile: enough for a p99 that is not the single slowest. */
const SAMPLES = 512;
/** Hedges that may be saved up: the slow answers at a backlog's end can all be hedged. */
const BURST = 16;
/** The quantile of answer times after which a request is hedged once the LLM's work has gone quiet. */
const QUIET_QUANTILE = 0.9;
/**
 * Nothing is slow before twice the median answer time: an endpoint whose answers all take about as long has
 * no tail to cut, and its quantiles differ by jitter only.
 */
const SLOW_OVER_MEDIAN = 2;
/**
 * Nor before a quarter second: a busy event loop (a model update, a collection) delays the reading of an
 * answer that has come by tens of ms, and a fast local endpoint's tail is not worth a second call.
 */
const SLOW_FLOOR_MS = 250;

export class HedgePolicy {
  private readonly opts: HedgeOptions;
  private readonly samples = new Float64Array(SAMPLES);
  private count = 0;
  private tokens = 0;
  /** Quantiles of the remembered answer times, ms, computed again only after new answers. */
  private stale = true;
  private slowMs = 0;
  private quietMs = 0;
  private median = 0;

  constructor(options: HedgeOptions) {
    this.opts = options;
  }

  get enabled(): boolean {
    return this.opts.share > 0;
  }

  /** A request was sent (not a hedge): it earns `share` of a hedge. */
  onRequest(): void {
    if (this.enabled) this.tokens = Math.min(BURST, this.tokens + this.opts.share);
  }

  /** One attempt's answer time, ms (a hedge's too: both are draws of the endpoint's answer time). */
  onAnswer(latencyMs: number): void {
    this.samples[this.count % SAMPLES] = latencyMs;
    this.count++;
    this.stale = true;
  }

  /**
   * How long a request waits before it may be hedged, ms: `quiet` when no item has come to the LLM for a
   * median answer time. Undefined while too few answers were seen.
   */
  delayMs(quiet: boolean): number | undefined {
    if (!this.enabled || this.count < (this.opts.minSamples ?? 100)) return undefined;
    this.refresh();
    return quiet ? Math.min(this.quietMs, this.slowMs) : this.slowMs;
  }

  /** The median answer time, ms (0 before any answer). */
  get medianMs(): number {
    if (this.count === 0) return 0;
    this.refresh();
    return this.median;
  }

  private refresh(): void {
    if (!this.stale) return;
    const seen = this.samples.slice(0, Math.min(this.count, SAMPLES)).sort();
    const at = (q: number): number => seen[Math.min(seen.length - 1, Math.floor(q * seen.length))] as number;
    this.median = at(0.5);
    const floor = Math.max(SLOW_FLOOR_MS, SLOW_OVER_MEDIAN * this.median);
    this.slowMs = Math.max(at(this.opts.quantile), floor);
    this.quietMs = Math.max(at(QUIET_QUANTILE), floor);
    this.stale = false;
  }

  /** Takes one hedge from the bucket: false when the share is spent. */
  take(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
