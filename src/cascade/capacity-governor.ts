/**
 * Capacity-aware budgeting: keeps the share of items the budget grants within what the LLM can answer
 * before the deadline. When the scheduler's expected queue wait passes a quarter of the deadline, the cap on
 * the granted share falls (×0.8 per step, starting from the LLM's capacity over the arrival rate); when the
 * wait is under a tenth of the deadline it rises again (×1.1 per step) until it is lifted. The budget then
 * raises its threshold, so the items still sent are the most uncertain ones.
 */
import type { BudgetController } from './budget-controller.js';

/** What the governor reads from the LLM scheduler. */
export interface CapacitySource {
  readonly expectedWaitMs: number;
  readonly capacityPerSecond: number;
}

export interface CapacityGovernorOptions {
  budget: BudgetController;
  scheduler: CapacitySource;
  deadlineMs: number;
  /** Least time between two adjustments, ms. @defaultValue 250 */
  stepMs?: number;
  now?: () => number;
  /** Called after each change of the cap (undefined: lifted). */
  onChange?: (cap: number | undefined, expectedWaitMs: number) => void;
}

export class CapacityGovernor {
  private readonly opts: CapacityGovernorOptions;
  private readonly now: () => number;
  private lastMs: number;
  private arrivals = 0;
  private arrivalRate = 0;

  constructor(options: CapacityGovernorOptions) {
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
    this.lastMs = this.now();
  }

  /** One item arrived at the cascade; every `stepMs` the cap is reviewed. */
  onItem(): void {
    // Read the clock once per 32 items: the hot path pays a counter increment.
    if ((++this.arrivals & 31) !== 0) return;
    const t = this.now();
    const elapsed = t - this.lastMs;
    if (elapsed < (this.opts.stepMs ?? 250)) return;
    const rate = (this.arrivals * 1000) / elapsed;
    this.arrivalRate = this.arrivalRate === 0 ? rate : 0.7 * this.arrivalRate + 0.3 * rate;
    this.arrivals = 0;
    this.lastMs = t;
    this.review();
  }

  /** Re-derives the cap from the scheduler's expected wait. */
  review(): void {
    const { budget, scheduler, deadlineMs } = this.opts;
    if (!Number.isFinite(deadlineMs)) return;
    const wait = scheduler.expectedWaitMs;
    const cap = budget.capacityShare;
    let next = cap;
    if (wait > deadlineMs / 4) {
      const fit = this.arrivalRate > 0 ? scheduler.capacityPerSecond / this.arrivalRate : budget.budget;
      next = Math.max(0.001, Math.min(cap ?? fit, fit * 1.5) * 0.8);
    } else if (cap !== undefined && wait < deadlineMs / 10) {
      next = cap * 1.1 >= 1 ? undefined : cap * 1.1;
    }
    if (next === cap) return;
    budget.setCapacityCap(next);
    this.opts.onChange?.(next, wait);
  }
}
