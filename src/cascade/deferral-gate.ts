/**
 * The LLM gate's decision: whether an item whose walk reached the gate is sent to the LLM, and why. The
 * budget controller grants calls to the items whose deferral score passes its threshold; some items are sent
 * whatever their score: the warm-up, exploration (DAgger needs labels on the states the policy visits) and
 * audits (operators need an unbiased sample), and items whose deepest stage is still cold (its answer is none
 * we can stand behind), all within the budget's hard cap.
 */
import type { CascadeConfig } from '../config.js';
import type { BudgetController } from './budget-controller.js';
import type { Rng } from './rng.js';
import type { LlmReason } from './route.js';
import type { DeferralScorer, StageWalk } from './stage-walker.js';
import type { StageTrace } from './types.js';

/** Why an item would go to the LLM whatever its score, drawn before its walk. */
export interface ForcedDraw {
  warmingUp: boolean;
  explore: boolean;
  audit: boolean;
  /** Any of the above: the walk visits every stage. */
  forced: boolean;
}

/** The gate's verdict on one item. */
export type GateVerdict = { send: true; why: LlmReason } | { send: false; why: 'confident' | 'budget' | 'cold' };

export class DeferralGate {
  constructor(
    private readonly budget: BudgetController,
    private readonly rng: Rng,
    private readonly policies: readonly DeferralScorer[],
    private readonly config: Pick<CascadeConfig, 'explorationRate' | 'auditRate'>,
  ) {}

  /**
   * Draws whether the item is explored or audited (decaying with the last policy's maturity). When the LLM
   * cannot keep up (a capacity cap below the budget), both shrink with the granted share: forced calls would
   * otherwise crowd out the uncertain items.
   */
  draw(): ForcedDraw {
    const { budget, rng, config } = this;
    const lastPolicy = this.policies[this.policies.length - 1] as DeferralScorer;
    const cap = budget.capacityShare;
    const capacityFactor = cap === undefined ? 1 : Math.min(1, cap / budget.budget);
    const explore = rng.next() < (capacityFactor * config.explorationRate) / Math.sqrt(1 + lastPolicy.updates / 100);
    const audit = config.auditRate > 0 && rng.next() < capacityFactor * config.auditRate;
    const warmingUp = budget.warmingUp;
    return { warmingUp, explore, audit, forced: warmingUp || explore || audit };
  }

  /** Records an item the gate never saw (a small stage answered it, or no LLM can be asked). */
  pass(): void {
    this.budget.decide(-Infinity);
  }

  /**
   * Decides for an item that reached the gate with `score`; `cold`: its deepest stage has not earned its
   * place, and it may use the allowance of the `aheadItems` received behind it (a backlog at a cold start).
   * Marks the last trace `deferred` when the policy itself deferred it (a forced call is not the policy's
   * deferral unless the gate would have sent it anyway).
   */
  decide(walk: StageWalk, score: number, draw: ForcedDraw, cold: boolean, aheadItems = 0): GateVerdict {
    const budget = this.budget;
    const forced = draw.forced || cold;
    if (!budget.decide(score, forced, cold ? aheadItems : 0)) return { send: false, why: cold ? 'cold' : score > budget.threshold ? 'budget' : 'confident' };
    const last = walk.traces[walk.traces.length - 1] as StageTrace;
    last.deferred = !forced || last.pDefer > budget.threshold;
    const why: LlmReason = draw.warmingUp || (cold && !last.deferred) ? 'warmup' : last.deferred ? 'deferred' : draw.audit ? 'audit' : 'exploration';
    return { send: true, why };
  }

  /** A granted call that was never made (no answer in time, or another item's call answered it). */
  refund(): void {
    this.budget.refund();
  }
}
