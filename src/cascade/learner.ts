/**
 * Learning from the LLM's answers: every label trains each small stage and its deferral policy (DAgger-style,
 * on the states the walk visited, the LLM as the expert: defer ⇔ the stage disagrees with it), updates the
 * stages' warmth (cold start), the objective's class weights, the multiplexer and the pseudo-labeler's
 * calibration. Pseudo-labels (`cascade.selfTraining`) train the stages only.
 */
import type { CascadeConfig } from '../config.js';
import type { CascadeObserver } from './observer.js';
import type { CostSensitivity } from './cost-sensitivity.js';
import type { StageSignal } from './deferral-policy.js';
import type { PseudoLabeler } from './pseudo-labeler.js';
import type { StageWalker, StageWalk, DeferralScorer } from './stage-walker.js';
import { argmax, type ItemContext, type SmallStage } from './stages.js';
import type { StageWarmth } from './stage-warmth.js';
import type { StageTrace } from './types.js';

/** What the learner trains and reads. */
export interface LearnerParts {
  stages: readonly SmallStage[];
  policies: readonly DeferralScorer[];
  multiplexer?: readonly DeferralScorer[];
}

export interface LearnerOptions {
  parts: LearnerParts;
  walker: StageWalker;
  warmth: StageWarmth;
  costs: CostSensitivity;
  pseudo: PseudoLabeler;
  config: Pick<CascadeConfig, 'pseudoLabelWeight'>;
  observer?: CascadeObserver;
}

export class Learner {
  readonly warmth: StageWarmth;
  readonly costs: CostSensitivity;
  readonly pseudo: PseudoLabeler;
  /** LLM labels learned, from any source. */
  labels = 0;

  constructor(private readonly options: LearnerOptions) {
    this.warmth = options.warmth;
    this.costs = options.costs;
    this.pseudo = options.pseudo;
  }

  /**
   * Learns from an LLM label of an item walked as `walk` (its context `ctx`); `unbiased`: the item was sent
   * whatever its scores (warm-up, exploration, audit, cold), so it samples the stages' answers without bias.
   */
  learn(ctx: ItemContext, walk: Pick<StageWalk, 'signals' | 'traces'>, label: number, unbiased = false): void {
    const { stages, policies } = this.options.parts;
    const { signals, traces } = walk;
    const costs = this.costs;
    costs.observe(label);
    const weight = costs.weight(label);
    const recallLabel = costs.objective.kind === 'recall' ? costs.objective.label : -1;
    // A cold stage is judged on what it answers now, before it learns this label: the answer it gave when the
    // item was walked may be many labels old when the LLM lags, and would keep a stage that has long learned
    // enough from warming up. Only while a stage is warming up (bounded in labels).
    const judged = this.warmth.anyWarmingUp ? this.options.walker.currentAnswers(ctx.features) : undefined;
    for (let i = 0; i < stages.length; i++) {
      const stage = stages[i] as SmallStage;
      const reached = i < traces.length;
      // Stages the item did not reach (the multiplexer skipped them) still learn from the label.
      if (!reached) ctx.probs.push(stage.run(ctx));
      const probs = ctx.probs[i] as Float32Array;
      // Under a cost-sensitive objective a missed rare label weighs more: the policy learns to defer likely positives.
      if (reached) (policies[i] as DeferralScorer).update(signals[i] as StageSignal, (traces[i] as StageTrace).labelId !== label, weight);
      // Warmth judges the stage's own answer (argmax), not the objective's override of it.
      this.warmth.record(i, argmax(judged?.[i] ?? probs) === label);
      // The recall cut-off needs positives the stage's scores did not select (those it was sure of never reach the LLM).
      if (label === recallLabel && unbiased) costs.recordPositive(i, probs[label] as number);
      if (stage.learn(ctx, label, weight)) this.options.observer?.onModelUpdate(stage.name, stage.version);
    }
    // Calibrates the pseudo-labeler: how often answers of each confidence agree with the LLM, before learning.
    if (this.pseudo.mode !== 'off') this.pseudo.record(ctx.probs, label);
    // The multiplexer learns whether the next stage agreed with the LLM, from this stage's output.
    const mux = this.options.parts.multiplexer;
    if (mux !== undefined) {
      for (let i = 0; i < mux.length && i + 1 < ctx.probs.length; i++) {
        (mux[i] as DeferralScorer).update(signals[i] as StageSignal, argmax(ctx.probs[i + 1] as Float32Array) !== label);
      }
    }
    this.labels++;
  }

  /**
   * Self- or co-training (`cascade.selfTraining`) on an item no LLM answer reached, which ran through the first
   * `reached` stages: the pseudo-labeler's safeguards decide; only the stages learn, at `pseudoLabelWeight`
   * (the deferral policies, warmth, the objective's counts and the multiplexer never see a pseudo-label).
   * @returns true when the item taught the stages.
   */
  learnPseudo(ctx: ItemContext, reached: number): boolean {
    if (this.pseudo.mode === 'off') return false;
    const verdict = this.pseudo.judge(ctx.probs.slice(0, reached), (i) => this.warmth.isWarm(i));
    if (verdict === undefined) return false;
    const weight = this.options.config.pseudoLabelWeight * this.costs.weight(verdict.label);
    for (const i of verdict.learners) {
      const stage = this.options.parts.stages[i] as SmallStage;
      if (stage.learnPseudo(ctx, verdict.label, weight)) this.options.observer?.onModelUpdate(stage.name, stage.version);
    }
    return true;
  }
}
