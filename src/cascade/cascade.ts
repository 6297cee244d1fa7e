/**
 * The online cascade: small stages in order of cost, then the LLM; a deferral policy per small stage decides
 * whether to answer now or pass the item on; every LLM answer trains the stages and the policies (Nie et al.,
 * ICML 2024); a budget controller keeps the share of LLM calls at its target.
 *
 * `Cascade` coordinates named parts, each one concern: the stage walk (stage-walker.ts), the LLM gate's
 * decision (deferral-gate.ts), the LLM side (llm-path.ts: scheduler, pause gate, tiers, late answers), learning
 * (learner.ts: labels, warmth, costs), the counters (counters.ts) and the route each item takes (route.ts),
 * from which its annotation's `reason` is derived. One item visits them once each, in that order.
 * `process()` may be called concurrently; see docs/cascade.md.
 */
import type { Logger } from 'pino';
import type { AnswerCache, CacheHit } from '../cache/index.js';
import type { Task, Teacher } from '../llm/index.js';
import { buildAnnotation, type AnnotationInput, type LlmOutcome } from './annotation.js';
import type { BudgetController } from './budget-controller.js';
import type { CapacityGovernor } from './capacity-governor.js';
import type { ColdGate } from './cold-gate.js';
import { countAnnotation, type CascadeCounters } from './counters.js';
import type { DeferralGate, ForcedDraw } from './deferral-gate.js';
import type { Featurizer, Features } from './featurizer.js';
import type { Learner } from './learner.js';
import type { LlmGate } from './llm-gate.js';
import type { LlmPath } from './llm-path.js';
import type { CascadeObserver } from './observer.js';
import type { Rng } from './rng.js';
import { ItemRoute, type RouteState, type SmallStageReason } from './route.js';
import type { SentenceEncoder } from './sentence-encoder.js';
import { gateScoreOf, type DeferralScorer, type StageWalk, type StageWalker } from './stage-walker.js';
import { argmax, type ItemContext, type SmallStage } from './stages.js';
import type { Annotation, Item, LlmSource, StageName, StageTrace } from './types.js';

/** The models and controllers a cascade learns and saves (fresh or restored; see model-store.ts). */
export interface CascadeParts {
  featurizer: Featurizer;
  stages: SmallStage[];
  policies: DeferralScorer[];
  budget: BudgetController;
  rng: Rng;
  /**
   * The multiplexer, when enabled: for each stage but the last, P(the next stage disagrees with the LLM),
   * predicted from this stage's output. It lets an item predicted hard skip a stage that cannot help.
   */
  multiplexer?: DeferralScorer[];
  /** The mid stage's pretrained sentence encoder (`cascade.sentenceEncoder` other than glove). */
  encoder?: SentenceEncoder;
  /** True when the cascade loaded the encoder itself (it is disposed with the cascade), not shared. */
  ownsEncoder?: boolean;
}

/** The parts a cascade coordinates; createCascade() builds them from the configuration. */
export interface CascadeRuntime {
  task: Task;
  parts: CascadeParts;
  walker: StageWalker;
  gate: DeferralGate;
  learner: Learner;
  counters: CascadeCounters;
  /** Absent without an LLM: the small stages answer everything and nothing is learned. */
  llm?: LlmPath;
  /** Lowers the granted share when the LLM cannot answer within its deadline (with a deadline only). */
  governor?: CapacityGovernor;
  /** Holds items whose stage is cold and out of budget while LLM labels warm it (`llm.coldWaitMs`). */
  coldGate?: ColdGate;
  /** Extra wait of a cold stage's item (`llm.coldWaitMs`), ms. */
  coldWaitMs: number;
  cache?: AnswerCache;
  observer?: CascadeObserver;
  logger: Logger;
  /** Learn from each LLM answer as it arrives; false when labels come back through {@link Cascade.learnFromLabel} only. */
  learnInline: boolean;
  /** Persists the parts (absent: save() is a no-op); runs on its own every `saveEveryItems` items and `saveEveryMs`. */
  saver?: (parts: CascadeParts) => Promise<void>;
  saveEveryItems: number;
  saveEveryMs: number;
  /** The LLM as callers see it (with tiers: probing every tier, named by them all); absent without an LLM. */
  teacher?: Teacher;
}

/** One item on its way: what every step of its route reads. */
interface ItemRun {
  item: Item;
  route: ItemRoute;
  draw: ForcedDraw;
  /** performance.now() when process() took it. */
  started: number;
}

export class Cascade {
  readonly task: Task;
  readonly parts: CascadeParts;
  readonly counters: CascadeCounters;
  private readonly rt: CascadeRuntime;
  private readonly log: Logger;
  private pending = 0;
  private drained: Array<() => void> = [];
  private saving: Promise<void> = Promise.resolve();
  private lastSaveMs = performance.now();
  private reported = { threshold: Number.NaN, share: Number.NaN };
  private externalLabels = 0;

  /** Use createCascade(). */
  constructor(runtime: CascadeRuntime) {
    this.rt = runtime;
    this.task = runtime.task;
    this.parts = runtime.parts;
    this.counters = runtime.counters;
    this.log = runtime.logger.child({ module: 'cascade' });
  }

  /** The LLM as callers see it (the start-up check, shared learning's model name); absent without an LLM. */
  get teacher(): Teacher | undefined {
    return this.rt.teacher;
  }

  /** The LLM scheduler (absent without an LLM). */
  get scheduler(): LlmPath['scheduler'] | undefined {
    return this.rt.llm?.scheduler;
  }

  /** Present with `llm.onUnavailable: pause` and an LLM. */
  get llmGate(): LlmGate | undefined {
    return this.rt.llm?.gate;
  }

  /** Answers one item. Never rejects for an LLM failure (the last small stage answers), except with `llm.onUnavailable: fail`. */
  process(item: Item): Promise<Annotation> {
    const run = this.run(item);
    // A counter rather than a Set of promises: one `.then` per item on the hot path, nothing to delete.
    this.pending++;
    run.then(this.settle, this.settle);
    return run;
  }

  /** Resolves when every item handed to `process` so far is answered. */
  drain(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drained.push(resolve));
  }

  private readonly settle = (): void => {
    if (--this.pending > 0) return;
    const waiting = this.drained;
    this.drained = [];
    for (const resolve of waiting) resolve();
  };

  /**
   * Persists the learned state (saves are serialised: a save never overlaps another; a failed one does not
   * stop the next). The observer hears of every outcome.
   * @throws ModelSaveError when the state cannot be written (the previous save is intact).
   */
  save(): Promise<void> {
    const saver = this.rt.saver;
    if (saver === undefined) return Promise.resolve();
    const run = this.saving.catch(() => undefined).then(() => saver(this.parts));
    this.saving = run;
    this.lastSaveMs = performance.now();
    return run.then(
      () => this.rt.observer?.onModelSave?.(true),
      (err: unknown) => {
        this.rt.observer?.onModelSave?.(false, err);
        throw err;
      },
    );
  }

  /**
   * Shutting down: aborts in-flight LLM calls (their items are answered by the small stages, flagged
   * `llmFailed`), hands queued ones back, and releases held items. Idempotent.
   */
  stop(): void {
    this.rt.llm?.stop();
    this.rt.coldGate?.releaseAll();
  }

  /**
   * Waits for in-flight items and for LLM answers still on their way (they teach the stages), at most
   * `drainTimeoutMs` (then stops them), then saves.
   * @throws ModelSaveError when the state cannot be saved.
   */
  async close(drainTimeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const settled = async (): Promise<void> => {
      await this.drain();
      await this.rt.llm?.idle();
    };
    if (Number.isFinite(drainTimeoutMs)) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), drainTimeoutMs)));
      const late = await Promise.race([settled().then(() => false), timedOut]);
      clearTimeout(timer);
      if (late) {
        this.stop();
        await this.drain();
      }
    } else {
      await settled();
    }
    this.rt.llm?.close();
    await this.save();
  }

  /** Frees the stages' tfjs memory after {@link close}; the cascade is unusable afterwards. */
  dispose(): void {
    for (const stage of this.parts.stages) stage.dispose?.();
    if (this.parts.ownsEncoder === true) this.parts.encoder?.dispose();
  }

  /** Labels learned through {@link learnFromLabel}. */
  get labelsLearned(): number {
    return this.externalLabels;
  }

  /** The budget controller's view: target, share so far, current threshold. */
  get budgetStatus(): { target: number; llmShare: number; threshold: number; items: number; calls: number } {
    const b = this.parts.budget;
    return { target: b.budget, llmShare: b.llmShare, threshold: b.threshold, items: b.items, calls: b.calls };
  }

  /**
   * Learns from a label that arrived from outside (another worker's LLM answer, read from the label topic):
   * every stage and policy takes the step the cascade takes on an LLM answer, with the signals of the models
   * as they are now. Throws RangeError for a label id outside the task's labels.
   */
  async learnFromLabel(text: string, labelId: number): Promise<void> {
    if (!Number.isInteger(labelId) || labelId < 0 || labelId >= this.task.labels.length) {
      throw new RangeError(`label id ${labelId} is not one of the ${this.task.labels.length} labels of task ${this.task.name}`);
    }
    const ctx: ItemContext = { features: await this.withSentence(this.parts.featurizer.featurize(text), text), probs: [] };
    this.rt.learner.learn(ctx, this.rt.walker.walk(ctx, { forceDefer: true, allowSkip: false }), labelId);
    this.externalLabels++;
  }

  /**
   * What every small stage would answer for `text` now, in stage order, without deferral, LLM call, learning
   * or counting: for evaluation (how good the stages are, whatever the policy lets them answer).
   */
  async smallStageAnswers(text: string): Promise<Array<{ stage: SmallStage['name']; labelId: number; confidence: number }>> {
    const features = await this.withSentence(this.parts.featurizer.featurize(text), text);
    return this.rt.walker.currentAnswers(features).map((probs, i) => {
      const labelId = this.rt.learner.costs.answer(i, probs, argmax(probs));
      return { stage: (this.parts.stages[i] as SmallStage).name, labelId, confidence: probs[labelId] as number };
    });
  }

  /** Adds the encoder's sentence vector to the features (a no-op without an encoder). */
  private async withSentence(features: Features, text: string): Promise<Features> {
    const encoder = this.parts.encoder;
    if (encoder !== undefined) features.sentence = await encoder.embed(text);
    return features;
  }

  private async run(item: Item): Promise<Annotation> {
    const started = performance.now();
    const { featurizer } = this.parts;
    const features = featurizer.featurize(item.text);
    if (features.truncated) this.log.warn({ id: item.id, chars: item.text.length, keptChars: featurizer.maxTextChars }, 'text truncated');
    const ctx: ItemContext = { features, probs: [] };
    const route = new ItemRoute();
    const { llm, cache } = this.rt;
    // Await only when there is a cache: an await per item costs a microtask hop on the hot path.
    const cached = llm === undefined || cache === undefined ? undefined : await cache.get(this.task.name, llm.answerModel, item.text);
    if (cached !== undefined && cached.answer.labelId !== null) return this.fromCache(item, ctx, cached, route, started);
    // Awaited only with an encoder, for the same reason as the cache above.
    if (this.parts.encoder !== undefined) await this.withSentence(features, item.text);
    // A text whose LLM answer is known to name no label is not asked again.
    const askable = llm !== undefined && cached === undefined;
    const draw = this.rt.gate.draw();
    const walk = this.rt.walker.walk(ctx, { forceDefer: askable && draw.forced });
    this.rt.governor?.onItem();
    const cold = walk.exitAt < 0 && !this.rt.learner.warmth.isWarm(walk.traces.length - 1);
    const run: ItemRun = { item, route, draw, started };
    if (walk.exitAt >= 0 || !askable) {
      this.rt.gate.pass();
      route.to({ at: 'stage', why: cold ? 'cold' : cached !== undefined ? 'llm-failed' : 'confident' });
      return this.settleSmall(run, ctx, walk, { cost: walk.cost, pseudo: cached === undefined });
    }
    route.to({ at: 'gate' });
    return this.atGate(run, ctx, walk, cold);
  }

  /** A cached LLM answer. A Redis hit is another worker's paid answer: the stages learn it once here. */
  private async fromCache(item: Item, ctx: ItemContext, cached: CacheHit, route: ItemRoute, started: number): Promise<Annotation> {
    this.parts.budget.exclude();
    this.counters.cacheHits++;
    const source: LlmSource = cached.tier === 'l1' ? 'cache-l1' : cached.tier === 'redis' ? 'cache-redis' : 'cache-near';
    const llm: LlmOutcome = { labelId: cached.answer.labelId, source, failed: false };
    route.to({ at: 'cache' });
    if (cached.tier !== 'redis') return this.annotate({ item, traces: [], exitAt: -1, llm, audited: false, costUnits: 0, startedMs: started, route });
    if (this.parts.encoder !== undefined) await this.withSentence(ctx.features, item.text);
    // An L1 hit was learned here already.
    const walk = this.rt.walker.walk(ctx, { forceDefer: true });
    if (this.rt.learnInline) this.rt.learner.learn(ctx, walk, cached.answer.labelId as number);
    return this.annotate({ item, traces: walk.traces, exitAt: -1, llm, audited: false, costUnits: walk.cost, startedMs: started, route });
  }

  /** At the LLM gate: the budget grants a call, or the deepest small stage answers (held first while cold). */
  private async atGate(run: ItemRun, ctx: ItemContext, walk: StageWalk, cold: boolean): Promise<Annotation> {
    const verdict = this.rt.gate.decide(walk, gateScoreOf(walk), run.draw, cold);
    if (verdict.send) {
      run.route.to({ at: 'llm', why: verdict.why });
      return this.askLlm(run, ctx, walk, cold);
    }
    // The multiplexer skipped stages but the budget said no: run them after all, they answer.
    const walked = walk.gateScore === undefined ? walk : this.rt.walker.walk(ctx, { resume: { ...walk, gateScore: undefined }, allowSkip: false });
    if (verdict.why === 'cold' && this.rt.coldGate !== undefined) return this.holdCold(run, ctx, walked);
    run.route.to({ at: 'stage', why: verdict.why });
    return this.settleSmall(run, ctx, walked, { cost: walked.cost, pseudo: true });
  }

  /**
   * No budget for it and no stage to stand behind its answer (a backlog poured in faster than the LLM answers):
   * rather than publish it flagged `cold`, hold it, and the input behind it, while the LLM's labels warm the
   * stage; then the stages as they are answer it.
   */
  private async holdCold(run: ItemRun, ctx: ItemContext, walk: StageWalk): Promise<Annotation> {
    const depth = walk.traces.length - 1;
    const warmth = this.rt.learner.warmth;
    const stopped = this.rt.llm?.stopSignal;
    const heldMs = await (this.rt.coldGate as ColdGate).wait(() => warmth.warmingUp(depth) && stopped?.aborted !== true, this.rt.coldWaitMs);
    run.route.to({ at: 'held' });
    if (heldMs === 0) {
      run.route.to({ at: 'stage', why: 'cold' });
      return this.settleSmall(run, ctx, walk, { cost: walk.cost, pseudo: true });
    }
    this.counters.coldHeld++;
    this.rt.observer?.onColdHold?.(heldMs / 1000);
    const fresh: ItemContext = { features: ctx.features, probs: [] };
    const again = this.rt.walker.walk(fresh, { allowSkip: false });
    const why: SmallStageReason = again.exitAt >= 0 ? 'confident' : !warmth.isWarm(again.traces.length - 1) ? 'cold' : 'budget';
    run.route.to({ at: 'stage', why });
    return this.settleSmall(run, fresh, again, { cost: walk.cost + again.cost, pseudo: true });
  }

  /** A granted call: the LLM's answer (or, past the deadline or on failure, the deepest small stage's). */
  private async askLlm(run: ItemRun, ctx: ItemContext, walk: StageWalk, cold: boolean): Promise<Annotation> {
    const { item, route } = run;
    const why = (route.state as Extract<RouteState, { at: 'llm' }>).why;
    const llm = this.rt.llm as LlmPath;
    const warmth = this.rt.learner.warmth;
    const last = walk.traces[walk.traces.length - 1] as StageTrace;
    const depth = walk.traces.length - 1;
    // A cold item may wait `llm.coldWaitMs` past the deadline while its stage stays cold: the untrained stage's
    // label is none we can stand behind. Once the stage is warm, a deadline already past applies.
    const hold = cold && this.rt.coldWaitMs > 0 ? { hold: { while: () => !warmth.isWarm(depth) && !llm.stopSignal.aborted, extraMs: this.rt.coldWaitMs } } : {};
    const result = await llm.ask(item, gateScoreOf(walk), last.labelId, hold);
    let cost = walk.cost + result.costUnits;
    if (result.kind === 'deadline') {
      this.rt.gate.refund();
      let answered = { ctx, walk };
      // The stage has learned while the item waited (it may be warm now): it answers as it is now.
      if (cold) {
        const fresh: ItemContext = { features: ctx.features, probs: [] };
        answered = { ctx: fresh, walk: this.rt.walker.walk(fresh, { forceDefer: true }) };
        cost += answered.walk.cost;
      }
      const learnFrom = { signals: answered.walk.signals, traces: answered.walk.traces.slice() };
      void result.lateLabel?.then((label) => label !== undefined && this.rt.learnInline && this.rt.learner.learn(answered.ctx, learnFrom, label));
      route.to({ at: 'stage', why: cold && !warmth.isWarm(depth) ? 'cold' : 'deadline' });
      return this.settleSmall(run, answered.ctx, answered.walk, { cost, pseudo: false });
    }
    if (result.shared) this.rt.gate.refund();
    const answer = result.llm;
    if (answer.labelId === null) route.to({ at: 'stage', why: 'llm-failed' });
    else {
      route.to({ at: 'answered', why });
      // Forced (warm-up, exploration, audit, cold) calls were chosen whatever the scores: an unbiased sample.
      if (this.rt.learnInline) this.rt.learner.learn(ctx, walk, answer.labelId, !last.deferred);
    }
    this.reportBudget();
    // Audited: sent to the LLM as a random sample (exploration or audit), not because the policy deferred it.
    const audited = run.draw.forced && !run.draw.warmingUp && answer.source === 'call';
    return this.annotate({
      item,
      traces: walk.traces,
      exitAt: walk.exitAt,
      llm: answer,
      audited,
      costUnits: cost,
      startedMs: run.started,
      route,
      ...(result.tier === undefined ? {} : { llmTier: result.tier }),
    });
  }

  /** A small stage's answer is the item's; items no LLM answer reached may teach the stages (self-training). */
  /** `pseudo`: no LLM answer reached the item nor will (not asked, not late, not known unparseable). */
  private settleSmall(run: ItemRun, ctx: ItemContext, walk: StageWalk, facts: { cost: number; pseudo: boolean }): Annotation {
    this.reportBudget();
    if (facts.pseudo && this.rt.learner.learnPseudo(ctx, walk.traces.length)) this.counters.pseudoLabels++;
    return this.annotate({
      item: run.item,
      traces: walk.traces,
      exitAt: walk.exitAt,
      audited: false,
      costUnits: facts.cost,
      startedMs: run.started,
      route: run.route,
    });
  }

  /**
   * Tells the observer the budget's threshold and LLM share whenever either changed, so /status, /metrics and
   * the dashboard show the controller's current figure.
   */
  private reportBudget(): void {
    const observer = this.rt.observer;
    const budget = this.parts.budget;
    const share = budget.llmShare;
    if (observer === undefined || (budget.threshold === this.reported.threshold && share === this.reported.share)) return;
    this.reported = { threshold: budget.threshold, share };
    observer.onBudgetChange(budget.threshold, share);
  }

  private annotate(input: Omit<AnnotationInput, 'task' | 'stages' | 'reason' | 'route'> & { route: ItemRoute }): Annotation {
    const { route: itemRoute, ...rest } = input;
    const multiplexed = this.parts.multiplexer === undefined || itemRoute.reason === 'cache' ? undefined : this.multiplexRoute(rest.traces, rest.llm);
    const annotation = buildAnnotation({
      ...rest,
      reason: itemRoute.reason,
      task: this.task,
      stages: this.parts.stages,
      ...(multiplexed === undefined ? {} : { route: multiplexed }),
    });
    if (annotation.answeredBy !== 'llm') {
      // A cold stage's answer never goes out as a confident one: its confidence is capped at how often the
      // stage has been seen to agree with the LLM (Wilson lower bound; 0 before any label).
      const at = this.parts.stages.findIndex((s) => s.name === annotation.answeredBy);
      const warmth = this.rt.learner.warmth;
      if (at >= 0 && !warmth.isWarm(at)) annotation.confidence = Math.min(annotation.confidence, warmth.standing(at).lowerBound);
    }
    countAnnotation(this.counters, annotation);
    this.rt.observer?.onAnnotation(annotation);
    const { saveEveryItems, saveEveryMs, saver } = this.rt;
    const due = (saveEveryItems > 0 && this.counters.items % saveEveryItems === 0) || (saveEveryMs > 0 && performance.now() - this.lastSaveMs >= saveEveryMs);
    if (due && saver !== undefined) this.save().catch((err: unknown) => this.log.error({ err }, 'periodic model save failed'));
    return annotation;
  }

  /** With the multiplexer: the stages the item was sent through, and the LLM when it answered. */
  private multiplexRoute(traces: readonly StageTrace[], llm: LlmOutcome | undefined): StageName[] {
    return [...traces.map((t) => t.stage), ...(llm === undefined ? [] : (['llm'] as const))];
  }
}
