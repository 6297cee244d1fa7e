/**
 * The LLM gate's decision: whether an item whose walk reached the gate is sent to the LLM, and why. The
 * budget controller grants calls to the items whose deferral score passes its threshold; some items are sent
 * whatever their score: the warm-up, exploration (DAgger needs labels on the states the policy visits) and
 * audits (operators need an unbiased sample), and items whose deepest stage is still cold (its answer is none
 * we can stand behind), all within the budget's hard cap.
 */
import type { CascadeConfig } from '../config.js';
import type { QualityController, QualityStatus } from '../quality/index.js';
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
export type GateVerdict = { send: true; why: LlmReason } | { send: false; why: 'confident' | 'budget' | 'cold' | 'uncertified' };

/** Quality targets rule the gate (quality-controller.ts): the controller, and who hears of its standing. */
export interface GateQuality {
  controller: QualityController;
  report?: (status: QualityStatus) => void;
}

// Items between two reports of the quality standing when nothing changed.
const QUALITY_REPORT_ITEMS = 64;

export class DeferralGate {
  constructor(
    private readonly budget: BudgetController,
    private readonly rng: Rng,
    private readonly policies: readonly DeferralScorer[],
    private readonly config: Pick<CascadeConfig, 'explorationRate' | 'auditRate'>,
    private readonly quality?: GateQuality,
  ) {
    if (quality !== undefined) budget.setQualityThreshold(quality.controller.threshold);
  }

  /** True when quality targets rule the gate. */
  get qualityRules(): boolean {
    return this.quality !== undefined;
  }

  /** The quality targets' standing (undefined: the budget alone rules). */
  qualityStatus(): QualityStatus | undefined {
    return this.quality?.controller.status();
  }

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
    const quality = this.quality?.controller;
    quality?.onItem();
    // Under quality targets the controller draws the audits: every item while nothing is certified.
    const audit = quality !== undefined ? quality.drawAudit(rng.next()) : config.auditRate > 0 && rng.next() < capacityFactor * config.auditRate;
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
    if (!budget.decide(score, forced, cold ? aheadItems : 0)) {
      const quality = this.quality?.controller;
      if (quality !== undefined && (quality.wants(score) || (draw.audit && !quality.certified))) {
        const held = quality.capBinding;
        quality.onCapRefusal();
        if (!held) this.reportQuality(true);
        return { send: false, why: 'uncertified' };
      }
      return { send: false, why: cold ? 'cold' : score > budget.threshold ? 'budget' : 'confident' };
    }
    const last = walk.traces[walk.traces.length - 1] as StageTrace;
    last.deferred = !forced || last.pDefer > budget.threshold;
    const why: LlmReason = draw.warmingUp || (cold && !last.deferred) ? 'warmup' : last.deferred ? 'deferred' : draw.audit ? 'audit' : 'exploration';
    return { send: true, why };
  }

  /**
   * Why a small stage that answered early did: `confident`, or `uncertified` when the targets would have
   * walked it on (the budget's cap raised the threshold above the certified one).
   */
  earlyExitReason(walk: StageWalk): 'confident' | 'uncertified' {
    const quality = this.quality?.controller;
    if (quality === undefined || walk.exitAt < 0) return 'confident';
    return quality.exitWanted(walk.exitAt, (walk.traces[walk.exitAt] as StageTrace).pDefer) ? 'uncertified' : 'confident';
  }

  /**
   * The LLM answered an item with `labelId` (a call of its own). A sampled item (sent whatever its content,
   * walked through every stage) is evidence for the quality targets; every answer may reveal a shift.
   */
  answered(draw: ForcedDraw, walk: StageWalk, labelId: number): void {
    const q = this.quality;
    if (q === undefined) return;
    const controller = q.controller;
    const before = controller.threshold;
    controller.noteAnswer(labelId);
    if (draw.forced && walk.exitAt < 0 && walk.traces.length === this.policies.length) {
      controller.observe({
        pDefer: walk.traces.map((t) => t.pDefer),
        labelIds: walk.traces.map((t) => t.labelId),
        llmLabelId: labelId,
      });
    }
    if (controller.threshold !== before) this.budget.setQualityThreshold(controller.threshold);
    this.reportQuality(controller.threshold !== before);
  }

  private sinceReport = 0;

  /** Tells the observer the targets' standing: now when it changed, else every QUALITY_REPORT_ITEMS answers. */
  private reportQuality(changed: boolean): void {
    const q = this.quality;
    if (q?.report === undefined || (!changed && ++this.sinceReport < QUALITY_REPORT_ITEMS)) return;
    this.sinceReport = 0;
    q.report(q.controller.status());
  }

  /** A granted call that was never made (no answer in time, or another item's call answered it). */
  refund(): void {
    this.budget.refund();
  }
}
