/**
 * Adaptive concurrency, additive increase / multiplicative decrease (as TCP congestion control, and as
 * Netflix's concurrency-limits library applies it to RPC clients): while requests succeed quickly and work is
 * waiting, the limit grows by one per limit's worth of successes; a throttle (HTTP 429/503), a timeout
 * or an answer slower than `slowMs` halves it, at most once per `cooldownMs`. Until the first congestion it
 * grows by one per success (TCP's slow start: doubling per round trip), so a backlog behind a slow LLM reaches
 * the endpoint's capacity in a few round trips rather than a few thousand calls.
 */

import type { AimdReason } from '../types.js';

export type { AimdReason };

export interface AimdOptions {
  initial: number;
  min: number;
  max: number;
  /** An answer slower than this (ms) counts as congestion. */
  slowMs: number;
  /** Least time between two decreases, ms (one decrease per congestion event, not per request). @defaultValue 1000 */
  cooldownMs?: number;
  /** Off: the limit stays at `initial` (the FIFO baseline). @defaultValue true */
  adaptive?: boolean;
  now?: () => number;
  /** Called after every change of the limit. */
  onChange?: (limit: number, reason: AimdReason) => void;
}

export class AimdController {
  private value: number;
  private successes = 0;
  private lastDecreaseMs = -Infinity;
  /** True until the first congestion: the limit doubles per round trip. */
  private slowStart = true;
  private readonly opts: AimdOptions;
  private readonly now: () => number;

  constructor(options: AimdOptions) {
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
    this.value = Math.min(Math.max(options.initial, options.min), options.max);
  }

  /** Requests allowed in flight now. */
  get limit(): number {
    return this.value;
  }

  /** A request finished; `demand` is true when work was waiting for a slot. */
  onSuccess(latencyMs: number, demand: boolean): void {
    if (this.opts.adaptive === false) return;
    if (latencyMs > this.opts.slowMs) return this.decrease('slow');
    if (!demand || this.value >= this.opts.max) return;
    if (this.slowStart || ++this.successes >= this.value) {
      this.successes = 0;
      this.value++;
      this.opts.onChange?.(this.value, 'increase');
    }
  }

  /** The endpoint throttled (429/503) or a request failed for capacity (timeout). */
  onCongestion(reason: 'throttled' | 'failed'): void {
    if (this.opts.adaptive === false) return;
    this.decrease(reason);
  }

  private decrease(reason: AimdReason): void {
    const t = this.now();
    if (t - this.lastDecreaseMs < (this.opts.cooldownMs ?? 1_000)) return;
    this.lastDecreaseMs = t;
    this.successes = 0;
    this.slowStart = false;
    const next = Math.max(this.opts.min, Math.floor(this.value / 2));
    if (next === this.value) return;
    this.value = next;
    this.opts.onChange?.(this.value, reason);
  }
}
