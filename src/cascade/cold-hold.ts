/**
 * The cold hold: an item whose deepest small stage has not earned its place, and for which the budget has no
 * call left, keeps its turn (learning-pace.ts), and the input behind it waits, while the LLM labels on their way
 * warm the stage, at most `llm.coldWaitMs` (and never past a latency bound). Then the stages, as they are, walk
 * it again: rather than publish it flagged `cold`. Under a latency bound, a cold stage's item the LLM cannot
 * answer in time waits the same way, without holding anyone's turn, up to half of the time left to it.
 */
import type { Logger } from 'pino';
import type { BudgetController } from './budget-controller.js';
import type { CascadeCounters } from './counters.js';
import type { LearningPace } from './learning-pace.js';
import type { CascadeObserver } from './observer.js';
import type { StageWalk, StageWalker } from './stage-walker.js';
import type { ItemContext } from './stages.js';
import type { StageWarmth } from './stage-warmth.js';

export interface ColdHoldOptions {
  pace: LearningPace;
  walker: StageWalker;
  warmth: StageWarmth;
  budget: BudgetController;
  /** Longest hold, ms (`llm.coldWaitMs`); 0: none. */
  coldWaitMs: number;
  /** The latency bound, ms; Infinity: none. */
  deadlineMs: number;
  /** Aborts when the cascade stops. */
  stopped?: AbortSignal;
  counters: CascadeCounters;
  observer?: CascadeObserver;
  logger: Logger;
}

/** A walk and the context it ran on. */
export interface Walked {
  ctx: ItemContext;
  walk: StageWalk;
}

export class ColdHold {
  constructor(private readonly options: ColdHoldOptions) {}

  /** True when the walk reached the LLM gate from a stage that has not earned its place. */
  isCold(walk: StageWalk): boolean {
    return walk.exitAt < 0 && !this.options.warmth.isWarm(walk.traces.length - 1);
  }

  /** Holds the item while the labels on their way may warm its stage; returns its walk as the stages are then. `started`: when it entered. */
  async hold(walked: Walked, forceDefer: boolean, started: number): Promise<Walked> {
    const { pace, warmth, budget, counters } = this.options;
    const since = performance.now();
    // A latency bound is a bound: the hold ends with it.
    const limitMs = Math.min(this.options.coldWaitMs, this.options.deadlineMs - (since - started));
    const holding = (): boolean =>
      this.isCold(walked.walk) &&
      warmth.warmingUp(walked.walk.traces.length - 1) &&
      !budget.hasRoom(pace.waiting) &&
      pace.outstanding > 0 &&
      performance.now() - since < limitMs &&
      this.options.stopped?.aborted !== true;
    if (!holding()) return walked;
    if (counters.coldHeld === 0)
      this.options.logger.info(
        { labels: warmth.standing(walked.walk.traces.length - 1).labels },
        'cold start: holding the input until the LLM labels warm the stage',
      );
    while (holding()) walked = await this.walkAtNextLanding(walked, forceDefer, since + limitMs);
    counters.coldHeld++;
    this.options.observer?.onColdHold?.((performance.now() - since) / 1000);
    return walked;
  }

  /**
   * An item the LLM could not answer within its latency bound, its stage still cold: it waits, without holding
   * anyone's turn, while the labels on their way may warm the stage, until `untilMs` (performance.now() time),
   * and is walked again at each landing. Returns its walk as the stages are then.
   */
  async warmBy(walked: Walked, untilMs: number): Promise<Walked> {
    const { pace, warmth } = this.options;
    const last = (): number => walked.walk.traces.length - 1;
    while (
      this.isCold(walked.walk) &&
      warmth.warmingUp(last()) &&
      pace.outstanding > 0 &&
      performance.now() < untilMs &&
      this.options.stopped?.aborted !== true
    )
      walked = await this.walkAtNextLanding(walked, true, untilMs);
    return walked;
  }

  /** Waits for the next label to land (or `untilMs`), then walks the item again with the stages as they are. */
  private async walkAtNextLanding(walked: Walked, forceDefer: boolean, untilMs: number): Promise<Walked> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.options.pace.landing(), new Promise((resolve) => (timer = setTimeout(resolve, untilMs - performance.now())))]);
    clearTimeout(timer);
    const ctx: ItemContext = { features: walked.ctx.features, probs: [] };
    return { ctx, walk: this.options.walker.walk(ctx, { forceDefer }) };
  }
}
