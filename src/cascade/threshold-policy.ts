/**
 * The baseline deferral signal: P(defer) = 1 − max probability, fixed, never learned. Same interface as
 * DeferralPolicy, so a threshold cascade differs from the learned one only in this signal.
 */
import type { StageSignal } from './deferral-policy.js';

export class ThresholdPolicy {
  readonly updates = 0;

  pDefer(signal: StageSignal): number {
    let max = 0;
    for (const v of signal.probs) if (v > max) max = v;
    return 1 - max;
  }

  update(): void {
    // Nothing to learn: the baseline's signal is fixed by definition.
  }
}
