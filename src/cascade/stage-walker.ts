/**
 * Walks an item through the small stages in order of cost: each stage answers, its deferral policy scores the
 * answer, and the item goes on while the score says the next stage (or the LLM) is worth asking. The walk is
 * a value (the stages' traces and signals, where it stopped): the route, the learning and the annotation are
 * derived from it.
 */
import type { CascadeConfig } from '../config.js';
import type { BudgetController } from './budget-controller.js';
import type { CostSensitivity } from './cost-sensitivity.js';
import type { StageSignal } from './deferral-policy.js';
import type { Features } from './featurizer.js';
import { argmax, type ItemContext, type SmallStage } from './stages.js';
import type { StageWarmth } from './stage-warmth.js';
import type { StageTrace } from './types.js';

/** A stage's deferral signal: learned (DeferralPolicy) or fixed (ThresholdPolicy, AgreementPolicy). */
export interface DeferralScorer {
  readonly updates: number;
  pDefer(signal: StageSignal): number;
  update(signal: StageSignal, disagreed: boolean, weight?: number): void;
}

/** Where a walk through the small stages ended. */
export interface StageWalk {
  traces: StageTrace[];
  signals: StageSignal[];
  /** Index of the stage that answered, or -1 when the item reached the LLM gate. */
  exitAt: number;
  /** Cost units of the stages run. */
  cost: number;
  /** Set when the multiplexer skipped the remaining stages: the score the LLM gate judges. */
  gateScore?: number;
}

/** How {@link StageWalker.walk} walks. */
export interface WalkOptions {
  /** Walk every stage even when one would answer (warm-up, exploration, audits, learning from a label). @defaultValue false */
  forceDefer?: boolean;
  /** Continue a walk the multiplexer cut short, from its last stage. @defaultValue a fresh walk */
  resume?: StageWalk;
  /** Let the multiplexer send the item to the LLM gate early, skipping stages. @defaultValue true */
  allowSkip?: boolean;
}

/** What the walker reads: the stages, their policies, the budget's threshold, the multiplexer. */
export interface WalkerParts {
  stages: readonly SmallStage[];
  policies: readonly DeferralScorer[];
  budget: BudgetController;
  multiplexer?: readonly DeferralScorer[];
}

/** The deferral score the LLM gate judges for a walk that reached it. */
export function gateScoreOf(walk: StageWalk): number {
  return walk.gateScore ?? (walk.traces[walk.traces.length - 1] as StageTrace).pDefer;
}

export class StageWalker {
  constructor(
    private readonly parts: WalkerParts,
    private readonly config: Pick<CascadeConfig, 'earlyExitFactor' | 'deferralCostWeight'>,
    private readonly warmth: StageWarmth,
    private readonly costs: CostSensitivity,
  ) {}

  /**
   * Runs the small stages in order (from where `resume` stopped) until one answers (or all of them, when
   * `forceDefer`). `exitAt` is the index of the stage that answered, or -1 when the item reached the LLM gate;
   * `gateScore` is set when the multiplexer sent it there early, skipping the stages after `traces`.
   */
  walk(ctx: ItemContext, options: WalkOptions = {}): StageWalk {
    const { forceDefer = false, allowSkip = true } = options;
    const walk = options.resume ?? { traces: [], signals: [], exitAt: -1, cost: 0 };
    const { stages, policies, budget, multiplexer } = this.parts;
    for (let i = walk.traces.length; i < stages.length; i++) {
      const stage = stages[i] as SmallStage;
      const probs = stage.run(ctx);
      ctx.probs.push(probs);
      walk.cost += stage.costUnits;
      const signal: StageSignal = {
        probs,
        modelUpdates: stage.version,
        novelty: stage.novelty(ctx),
        tokens: ctx.features.words.length,
        previousProbs: ctx.probs[i - 1],
        agreement: stage.agreement(ctx, argmax(probs)),
      };
      walk.signals.push(signal);
      const pDefer = (policies[i] as DeferralScorer).pDefer(signal);
      const labelId = this.costs.answer(i, probs, argmax(probs));
      const next = stages[i + 1];
      // An earlier stage answers when its disagreement risk is below what the LLM gate would accept, less
      // μ × the next stage's cost (the price of asking it). `deferred` records the policy's own decision; a
      // forced item (warm-up, exploration, audit) walks on regardless, so audits can compare the stage that
      // would have answered with the LLM.
      // (−∞: quality targets certified nothing yet, every item walks on; −∞ × 0 would be NaN.)
      const gateBar = budget.threshold === Number.NEGATIVE_INFINITY ? budget.threshold : budget.threshold * this.config.earlyExitFactor;
      const policyDefers = next !== undefined && pDefer > gateBar + this.config.deferralCostWeight * next.costUnits;
      walk.traces.push({ stage: stage.name, labelId, confidence: probs[labelId] as number, pDefer, deferred: policyDefers });
      // A cold stage (too few labels, or its agreement with the LLM under the floor) never answers early.
      if (next !== undefined && !policyDefers && !forceDefer && this.warmth.isWarm(i)) {
        walk.exitAt = i;
        return walk;
      }
      // Multiplexing (Zhu et al. 2023): when the next stage is predicted to disagree with the LLM as often as
      // the gate's threshold, running it would only delay the LLM call: go to the gate now.
      const mux = multiplexer?.[i];
      if (mux !== undefined && allowSkip && !forceDefer && next !== undefined && i + 1 === stages.length - 1) {
        const pNext = mux.pDefer(signal);
        if (pNext > budget.threshold) {
          walk.gateScore = pNext;
          return walk;
        }
      }
    }
    return walk;
  }

  /** Every stage's answer to `features` as the stages are now, on a scratch context (no running statistic moves). */
  currentAnswers(features: Features): Float32Array[] {
    const scratch: ItemContext = { features, probs: [], peek: true };
    for (const stage of this.parts.stages) scratch.probs.push(stage.run(scratch));
    return scratch.probs;
  }
}
