/**
 * The agreement-based deferral of Kolawole et al. (cascading by ensemble agreement): P(defer) rises with
 * the share of the stage's voters (its ensemble members, and for the mid stage its network, neighbours and
 * the LR members) that disagree with its answer. Fixed, never learned, like the confidence threshold; the
 * budget controller sets its cutoff. Items on which all voters agree are ordered among themselves by
 * confidence (a tenth of the score), so the budget can still choose between them.
 */
import type { StageSignal } from './deferral-policy.js';

export class AgreementPolicy {
  readonly updates = 0;

  pDefer(signal: StageSignal): number {
    let max = 0;
    for (const v of signal.probs) if (v > max) max = v;
    return 0.5 * (1 - (signal.agreement ?? 1)) + 0.5 * (1 - max);
  }

  update(): void {
    // Nothing to learn: the signal is the voters' agreement by definition.
  }
}
