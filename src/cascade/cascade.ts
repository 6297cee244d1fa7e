/**
 * The online cascade: small stages in order of cost, then the LLM; a deferral policy per small stage decides
 * whether to answer now or pass the item on; every LLM answer trains the stages and the policies (Nie et al.,
 * ICML 2024); a budget controller keeps the share of LLM calls at its target.
 *
 * `Cascade` coordinates named parts, each one concern (cascade-runtime.ts): an item takes its turn at the
 * learning pace (learning-pace.ts), walks the small stages (stage-walker.ts), is held while its stage is cold and
 * out of budget (cold-hold.ts), meets the LLM gate's decision (deferral-gate.ts), the LLM side (llm-path.ts:
 * scheduler, pause gate, tiers, late answers), learning (learner.ts: labels, warmth, costs) and publishing
 * (publisher.ts: annotation, counters). Its route (route.ts) is a value, from which the annotation's `reason` is
 * derived. `process()` may be called concurrently; see docs/cascade.md.
 */
import type { Logger } from 'pino';
import type { CacheHit } from '../cache/index.js';
import type { Task, Teacher } from '../llm/index.js';
import type { LlmOutcome } from './annotation.js';
import type { CascadeParts, CascadeRuntime } from './cascade-runtime.js';
import type { CascadeCounters } from './counters.js';
import type { Features } from './featurizer.js';
import type { QualityStatus } from '../quality/index.js';
import type { LlmGate } from './llm-gate.js';
import type { AskTiming, LlmPath, LlmResult } from './llm-path.js';
import type { PublishInput } from './publisher.js';
import { ItemRoute, NOT_DRAWN, type ItemRun, type RouteState, type SmallStageReason } from './route.js';
import { gateScoreOf, type StageWalk } from './stage-walker.js';
import { argmax, type ItemContext, type SmallStage } from './stages.js';
import type { Annotation, Item, LlmSource, StageTrace } from './types.js';

export type { CascadeParts, CascadeRuntime };

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
    this.rt.pace.releaseAll();
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

  /**
   * This worker's share of a group that learns together (its share of the input partitions): it pays that part
   * of the warm-up and the budget's front-load, so the group pays them once, and keeps that part of the labels
   * the group may have on their way (learning-pace.ts).
   */
  setGroupShare(share: number): void {
    this.parts.budget.setGroupShare(share);
    this.rt.pace.groupShare = share;
  }

  /**
   * Shared learning: `pending` counts the labels the group published that this worker has not learned yet;
   * items wait for them as for its own (learning-pace.ts). Returns the function to call when it falls.
   */
  watchSharedLabels(pending: () => number): () => void {
    const pace = this.rt.pace;
    pace.watchShared(pending);
    return () => pace.nudge();
  }

  /**
   * Starts encoding the texts of labels about to be learned (urgent: before the items queued), so a batch of
   * labels shares the encoder's runs instead of taking one each. No-op without an encoder.
   */
  prepareLabels(texts: readonly string[]): void {
    const encoder = this.parts.encoder;
    if (encoder === undefined) return;
    // A failure surfaces, with its label, when learnFromLabel asks for the same text.
    for (const text of texts) encoder.embed(text, true).catch(() => undefined);
  }

  /** The budget controller's view: target, share so far, current threshold. */
  /** The quality targets' standing; undefined without targets (`quality.targets`). */
  get qualityStatus(): QualityStatus | undefined {
    return this.rt.gate.qualityStatus();
  }

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
    // Urgent: a backlog's items queue for the encoder ahead of it, and every decision behind waits for it.
    const ctx: ItemContext = { features: await this.withSentence(this.parts.featurizer.featurize(text), text, true), probs: [] };
    this.rt.learner.learn(ctx, this.rt.walker.walk(ctx, { forceDefer: true, allowSkip: false }), labelId);
    this.externalLabels++;
    // Labels replayed before the first item (a worker joining its group) taught the stages what a warm-up would.
    const budget = this.parts.budget;
    if (this.externalLabels >= Math.max(1, budget.warmupItems)) budget.mature();
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
  private async withSentence(features: Features, text: string, urgent = false): Promise<Features> {
    const encoder = this.parts.encoder;
    if (encoder !== undefined) features.sentence = await encoder.embed(text, urgent);
    return features;
  }

  private async run(item: Item): Promise<Annotation> {
    const run: ItemRun = { item, route: new ItemRoute(), draw: NOT_DRAWN, started: performance.now() };
    const { featurizer } = this.parts;
    const features = featurizer.featurize(item.text);
    if (features.truncated) this.log.warn({ id: item.id, chars: item.text.length, keptChars: featurizer.maxTextChars }, 'text truncated');
    const ctx: ItemContext = { features, probs: [] };
    const { llm, cache, pace } = this.rt;
    // Await only when there is a cache: an await per item costs a microtask hop on the hot path.
    const cached = llm === undefined || cache === undefined ? undefined : await cache.get(this.task.name, llm.answerModel, item.text);
    if (cached !== undefined && cached.answer.labelId !== null) return this.fromCache(run, ctx, cached);
    // Awaited only with an encoder, for the same reason as the cache above.
    if (this.parts.encoder !== undefined) await this.withSentence(features, item.text);
    const turn = pace.enter();
    if (turn !== true) {
      this.counters.paced++;
      await turn;
    }
    let next: Annotation | (() => Promise<Annotation>);
    try {
      next = await this.decide(run, ctx, cached !== undefined);
    } finally {
      pace.leave();
    }
    return typeof next === 'function' ? next() : next;
  }

  /**
   * Decides an item while it holds its turn (learning-pace.ts): a small stage's answer, or the LLM call to make
   * once the turn has passed on. `knownUnparseable`: the cache knows the LLM names no label for this text.
   */
  private async decide(run: ItemRun, ctx: ItemContext, knownUnparseable: boolean): Promise<Annotation | (() => Promise<Annotation>)> {
    const llm = this.rt.llm;
    const askable = llm !== undefined && !knownUnparseable;
    if (askable && llm.scheduler.has(run.item.text)) return this.join(run, ctx);
    run.draw = this.rt.gate.draw();
    const forceDefer = askable && run.draw.forced;
    let walked = { ctx, walk: this.rt.walker.walk(ctx, { forceDefer }) };
    let cold = this.rt.coldHold.isCold(walked.walk);
    if (askable && cold) walked = await this.rt.coldHold.hold(walked, forceDefer, run.started);
    cold = this.rt.coldHold.isCold(walked.walk);
    const { walk } = walked;
    this.rt.governor?.onItem();
    if (walk.exitAt >= 0 || !askable) {
      this.rt.gate.pass();
      return this.answerSmall(run, walked.ctx, walk, cold ? 'cold' : knownUnparseable ? 'llm-failed' : this.rt.gate.earlyExitReason(walk), !knownUnparseable);
    }
    run.route.to({ at: 'gate' });
    const verdict = this.rt.gate.decide(walk, gateScoreOf(walk), run.draw, cold, this.rt.pace.waiting);
    if (verdict.send) {
      run.route.to({ at: 'llm', why: verdict.why });
      run.ticket = this.rt.pace.sent();
      // Asked now, while the item holds its turn: a duplicate decided next sees the call on its way and shares it.
      const answer = this.askLlm(run, walked.ctx, walk, cold);
      return () => answer;
    }
    // The multiplexer skipped stages but the budget said no: run them after all, they answer.
    const answered = walk.gateScore === undefined ? walk : this.rt.walker.walk(walked.ctx, { resume: { ...walk, gateScore: undefined }, allowSkip: false });
    return this.answerSmall(run, walked.ctx, answered, verdict.why, true);
  }

  /**
   * A small stage answers the item. Decided while labels granted before it were still on their way, it is
   * answered once they have landed, by the stages as they are then: the answer profits from every label that
   * arrived before it is published, and the decisions behind it did not wait. With a latency bound it waits
   * only while the stages are young (learning-pace.ts, `learnedAhead`), and never past half of the time
   * left to it.
   */
  private answerSmall(run: ItemRun, ctx: ItemContext, walk: StageWalk, why: SmallStageReason, pseudo: boolean): Annotation | (() => Promise<Annotation>) {
    const pace = this.rt.pace;
    // Under quality targets the answer is the one the gate certified (decided now), not a later walk's.
    const landing = pace.outstanding === 0 || this.rt.gate.qualityRules ? undefined : this.labelsAhead(run);
    if (landing === undefined) {
      run.route.to({ at: 'stage', why });
      return this.settleSmall(run, ctx, walk, { cost: walk.cost, pseudo });
    }
    return async () => {
      await landing;
      const fresh: ItemContext = { features: ctx.features, probs: [] };
      const again = this.rt.walker.walk(fresh, { allowSkip: false });
      run.route.to({ at: 'stage', why: why === 'cold' && !this.rt.coldHold.isCold(again) ? 'confident' : why });
      return this.settleSmall(run, fresh, again, { cost: walk.cost + again.cost, pseudo });
    };
  }

  /** What a small-stage answer waits for: the labels on their way (undefined: nothing worth the wait). */
  private labelsAhead(run: ItemRun): Promise<void> | undefined {
    const pace = this.rt.pace;
    const deadlineMs = this.rt.llm?.deadlineMs ?? Number.POSITIVE_INFINITY;
    if (!Number.isFinite(deadlineMs)) return pace.landedThrough(pace.issued);
    const leftMs = deadlineMs - (performance.now() - run.started);
    return pace.learnedAhead(Math.min(deadlineMs / 10, leftMs / 2));
  }

  /** A call for the same text is on its way: the item shares its answer, costing no call and no budget. */
  private join(run: ItemRun, ctx: ItemContext): () => Promise<Annotation> {
    const walk = this.rt.walker.walk(ctx, { allowSkip: false, forceDefer: true });
    this.parts.budget.exclude();
    run.route.to({ at: 'llm', why: 'shared' });
    const answer = this.askLlm(run, ctx, walk, false);
    return () => answer;
  }

  /** A cached LLM answer. A Redis hit is another worker's paid answer: the stages learn it once here. */
  private async fromCache(run: ItemRun, ctx: ItemContext, cached: CacheHit): Promise<Annotation> {
    this.parts.budget.exclude();
    this.counters.cacheHits++;
    const source: LlmSource = cached.tier === 'l1' ? 'cache-l1' : cached.tier === 'redis' ? 'cache-redis' : 'cache-near';
    const llm: LlmOutcome = { labelId: cached.answer.labelId, source, failed: false };
    run.route.to({ at: 'cache' });
    const base = { item: run.item, exitAt: -1, llm, audited: false, startedMs: run.started, route: run.route };
    // An L1 hit was learned here already; with shared labels, another worker's answer comes by the label topic.
    if (cached.tier !== 'redis' || !this.learnsCachedAnswers) return this.annotate({ ...base, traces: [], costUnits: 0 });
    if (this.parts.encoder !== undefined) await this.withSentence(ctx.features, run.item.text);
    const walk = this.rt.walker.walk(ctx, { forceDefer: true });
    this.rt.learner.learn(ctx, walk, cached.answer.labelId as number);
    return this.annotate({ ...base, traces: walk.traces, costUnits: walk.cost });
  }

  private get learnsCachedAnswers(): boolean {
    return this.rt.learnInline && !this.rt.labelsShared;
  }

  /** A granted call (or a shared one): the LLM's answer, or, past the deadline or on failure, the deepest small stage's. */
  private async askLlm(run: ItemRun, ctx: ItemContext, walk: StageWalk, cold: boolean): Promise<Annotation> {
    const llm = this.rt.llm as LlmPath;
    const last = walk.traces[walk.traces.length - 1] as StageTrace;
    let landed = false;
    const land = (): void => {
      if (run.ticket === undefined || landed) return;
      landed = true;
      this.rt.pace.landed(run.ticket);
    };
    try {
      const result = await llm.ask(run.item, gateScoreOf(walk), last.labelId, this.timing(run));
      if (result.kind === 'deadline') {
        land(); // its label will not come in time: the items behind it need not wait for it
        return await this.missedDeadline(run, ctx, walk, cold, result);
      }
      if (result.shared) this.rt.gate.refund();
      const answer = result.llm;
      const why = (run.route.state as Extract<RouteState, { at: 'llm' }>).why;
      if (answer.labelId === null) run.route.to({ at: 'stage', why: 'llm-failed' });
      else {
        // A granted call that found the same text's call on its way shared it (its budget was refunded).
        run.route.to({ at: 'answered', why: result.shared ? 'shared' : why });
        // Forced (warm-up, exploration, audit, cold) calls were chosen whatever the scores: an unbiased sample.
        // A shared answer was learned from once already, with the call's own item.
        if (this.rt.learnInline && !result.shared) this.rt.learner.learn(ctx, walk, answer.labelId, !last.deferred);
        if (answer.source === 'call' && !result.shared) this.rt.gate.answered(run.draw, walk, answer.labelId);
      }
      land();
      this.rt.publisher.reportBudget();
      // Audited: sent to the LLM as a random sample (exploration or audit), not because the policy deferred it.
      const audited = run.draw.forced && !run.draw.warmingUp && answer.source === 'call' && why !== 'shared';
      return this.annotate({
        item: run.item,
        traces: walk.traces,
        exitAt: walk.exitAt,
        llm: answer,
        audited,
        costUnits: walk.cost + result.costUnits,
        startedMs: run.started,
        route: run.route,
        ...(result.tier === undefined ? {} : { llmTier: result.tier }),
      });
    } finally {
      land();
    }
  }

  /** How long the item may still wait for its answer: what is left of the latency bound, if the user set one. */
  private timing(run: ItemRun): AskTiming {
    const llm = this.rt.llm as LlmPath;
    if (!Number.isFinite(llm.deadlineMs)) return {};
    return { deadlineMs: Math.max(1, llm.deadlineMs - (performance.now() - run.started)) };
  }

  /**
   * No LLM answer within the latency bound: the deepest small stage answers; a late answer still teaches. A
   * cold stage's item waits, up to half of the time left to it, while the labels on their way warm the stage.
   */
  private async missedDeadline(
    run: ItemRun,
    ctx: ItemContext,
    walk: StageWalk,
    cold: boolean,
    result: Extract<LlmResult, { kind: 'deadline' }>,
  ): Promise<Annotation> {
    this.rt.gate.refund();
    let answered = { ctx, walk };
    // The stage has learned while the item waited (it may be warm now): it answers as it is now.
    if (cold) {
      const fresh: ItemContext = { features: ctx.features, probs: [] };
      answered = { ctx: fresh, walk: this.rt.walker.walk(fresh, { forceDefer: true }) };
      const now = performance.now();
      const leftMs = (this.rt.llm as LlmPath).deadlineMs - (now - run.started);
      if (this.rt.coldHold.isCold(answered.walk)) answered = await this.rt.coldHold.warmBy(answered, now + leftMs / 2);
    }
    const learnFrom = { signals: answered.walk.signals, traces: answered.walk.traces.slice() };
    void result.lateLabel?.then((label) => label !== undefined && this.rt.learnInline && this.rt.learner.learn(answered.ctx, learnFrom, label));
    run.route.to({ at: 'stage', why: cold && this.rt.coldHold.isCold(answered.walk) ? 'cold' : 'deadline' });
    const cost = walk.cost + result.costUnits + (answered.walk === walk ? 0 : answered.walk.cost);
    return this.settleSmall(run, answered.ctx, answered.walk, { cost, pseudo: false });
  }

  /** `pseudo`: no LLM answer reached the item nor will (not asked, not late, not known unparseable). */
  private settleSmall(run: ItemRun, ctx: ItemContext, walk: StageWalk, facts: { cost: number; pseudo: boolean }): Annotation {
    this.rt.publisher.reportBudget();
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

  /** Publishes a settled item's annotation; saves the state now and then. */
  private annotate(input: PublishInput): Annotation {
    const annotation = this.rt.publisher.publish(input);
    const { saveEveryItems, saveEveryMs, saver } = this.rt;
    const due = (saveEveryItems > 0 && this.counters.items % saveEveryItems === 0) || (saveEveryMs > 0 && performance.now() - this.lastSaveMs >= saveEveryMs);
    if (due && saver !== undefined) this.save().catch((err: unknown) => this.log.error({ err }, 'periodic model save failed'));
    return annotation;
  }
}
