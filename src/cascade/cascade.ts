/**
 * The online cascade: small stages in order of cost, then the LLM; a deferral policy per small stage
 * decides whether to answer now or pass the item on; every LLM answer trains the stages and the
 * policies (Nie et al., ICML 2024); a budget controller keeps the share of LLM calls at its target.
 *
 * `process()` may be called concurrently: the small stages answer synchronously (an item they answer never
 * waits behind LLM-bound items), LLM-bound items go through the LLM scheduler (priority by deferral score,
 * deadlines, batching, rate limits; src/llm/llm-scheduler.ts), and the learning from an LLM answer happens
 * when that answer arrives, also when it arrives after the item's deadline.
 */
import type { Logger } from 'pino';
import type { AnswerCache } from '../cache/index.js';
import type { CascadeConfig } from '../config.js';
import {
  describeLlmFailure,
  isLlmUnavailable,
  LlmScheduler,
  type LlmAnswer,
  type ScheduledOutcome,
  type SchedulerObserver,
  type Task,
  type Teacher,
} from '../llm/index.js';
import type { CascadeObserver } from './observer.js';
import { buildAnnotation, type AnnotationInput, type LlmOutcome } from './annotation.js';
import type { BudgetController } from './budget-controller.js';
import { CapacityGovernor } from './capacity-governor.js';
import { ColdGate } from './cold-gate.js';
import { LlmGate, watchTeacher } from './llm-gate.js';
import type { StageSignal } from './deferral-policy.js';
import type { Features, Featurizer } from './featurizer.js';
import { CostSensitivity } from './cost-sensitivity.js';
import { StageWarmth } from './stage-warmth.js';
import { PseudoLabeler } from './pseudo-labeler.js';
import type { Rng } from './rng.js';
import type { SentenceEncoder } from './sentence-encoder.js';
import { argmax, type ItemContext, type SmallStage } from './stages.js';
import type { Annotation, AnnotationReason, Item, LlmSource, StageName, StageTrace } from './types.js';

/** A stage's deferral signal: learned (DeferralPolicy) or fixed (ThresholdPolicy). */
export interface DeferralScorer {
  readonly updates: number;
  pDefer(signal: StageSignal): number;
  update(signal: StageSignal, disagreed: boolean, weight?: number): void;
}

/** The models and controllers a cascade runs with (fresh or restored; see model-store.ts). */
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
  /** The mid stage's pretrained sentence encoder (`cascade.sentenceEncoder: use-lite`); absent with GloVe. */
  encoder?: SentenceEncoder;
  /** True when the cascade loaded the encoder itself (it is disposed with the cascade), not shared. */
  ownsEncoder?: boolean;
}

/** A stronger LLM tier the cascade escalates to (`llm.tiers` after the first). */
export interface LlmTier {
  teacher: Teacher;
  /** Cost units of one call to this tier. */
  costUnits: number;
}

export interface CascadeOptions {
  task: Task;
  /** The LLM (with `escalation`: its cheapest tier, tier 0); absent → the small stages answer everything and nothing is learned. */
  teacher?: Teacher;
  /**
   * Stronger LLM tiers, cheap to strong, after `teacher` (tier 0, costing `llm.costUnits`; `llm.tiers`): an item
   * whose tier-k answer disagrees with the deepest small stage's answer, names no label, or failed, is asked of
   * tier k + 1 within what is left of its deadline; the last tier's answer is final (when it names no label, the
   * latest tier's answer that does). The budget counts items sent to tier 0; every call costs its tier's units.
   * Cache entries then hold the final answer, under the tiers' models joined by `>`. @defaultValue none
   */
  escalation?: readonly LlmTier[];
  config: CascadeConfig;
  llm: CascadeLlmOptions;
  cache?: AnswerCache;
  observer?: CascadeObserver;
  logger: Logger;
  /** Route items predicted hard past the stages that cannot help (Zhu et al. 2023). @defaultValue false */
  multiplexer?: boolean;
  /**
   * Learn from each LLM answer as it arrives. False when the labels come back through {@link Cascade.learnFromLabel}
   * instead (shared learning over Kafka: every worker trains on every label once, in one order). @defaultValue true
   */
  learnInline?: boolean;
  /**
   * What an item does when the LLM is unusable (`llm.onUnavailable`, see isLlmUnavailable): 'pause' waits at
   * the {@link LlmGate} until a probe answers, then asks again; 'fallback' is answered by the deepest small
   * stage, flagged `llmFailed` (reason `llm-failed`); 'fail' rejects with LlmUnavailableError. A failure about
   * one call only (a 400, an oversized answer) always falls back. @defaultValue 'fallback'
   */
  onUnavailable?: 'pause' | 'fallback' | 'fail';
  /** Timing of the gate's probes while paused, ms. @defaultValue 500 first, 30000 cap */
  probeBaseMs?: number;
  probeMaxMs?: number;
}

/**
 * How the cascade asks the LLM: `config.llm`'s scheduling keys. Absent keys: a fixed concurrency of
 * `concurrency`, batch 1, no rate limits, deadline 30 s, priority order.
 */
export interface CascadeLlmOptions {
  /** Requests in flight at start (`llm.concurrency`). */
  concurrency: number;
  /** Cost units of one LLM answer. */
  costUnits: number;
  minConcurrency?: number;
  maxConcurrency?: number;
  /** Gate → answer limit, ms; Infinity disables deadlines (the FIFO baseline). @defaultValue 30000 */
  deadlineMs?: number;
  /** Extra wait past the deadline for an item whose deepest small stage is still cold (`llm.coldWaitMs`). @defaultValue 0 */
  coldWaitMs?: number;
  batchSize?: number;
  maxRequestsPerMinute?: number | undefined;
  maxTokensPerMinute?: number | undefined;
  /** 'fifo' reproduces the pre-scheduler behaviour (the benchmark's baseline). @defaultValue 'priority' */
  order?: 'priority' | 'fifo';
  /** Adapt concurrency (AIMD) within [minConcurrency, maxConcurrency]. @defaultValue true */
  adaptive?: boolean;
  /** Lower the granted LLM share when the LLM cannot keep up (capacity-aware budgeting). @defaultValue true */
  capacityAware?: boolean;
  /** Single-flight key of a text (the cache's normalisation); absent: the exact text. */
  keyOf?: (text: string) => string;
  /** Scheduler events (AIMD steps, throttles, deadline misses) for the metrics. */
  observer?: SchedulerObserver;
}

/** Running totals, for reports and the embedded mode's live line. */
export interface CascadeCounters {
  items: number;
  llmCalls: number;
  llmErrors: number;
  unparseable: number;
  cacheHits: number;
  /** Items granted an LLM call but answered by a small stage because the answer could not arrive in time. */
  deadlineMisses: number;
  /** Items answered by another item's call to the same (normalised) text. */
  sharedAnswers: number;
  /** With LLM tiers: calls made to each tier (index 0: the cheapest); empty without tiers. */
  tierCalls: number[];
  /** With LLM tiers: items asked of a stronger tier after tier 0 disagreed with the small stages (or gave no label). */
  escalations: number;
  /** With `cascade.selfTraining`: items no LLM answer reached whose small stages' answer the stages learned. */
  pseudoLabels: number;
  /** Items held at the cold gate (and the input behind them) while the LLM's labels warmed their stage. */
  coldHeld: number;
  /** Tokens of the LLM answers, from the API's usage (batch usage split across the items). */
  promptTokens: number;
  completionTokens: number;
  /** Annotations by reason. */
  reasons: Record<AnnotationReason, number>;
  answeredBy: Record<StageName, number>;
  deferredBy: Record<string, number>;
}

/** How walkStages walks: see there. */
interface WalkOptions {
  /** Walk every stage even when one would answer (warm-up, exploration, audits, learning from a label). @defaultValue false */
  forceDefer?: boolean;
  /** Continue a walk the multiplexer cut short, from its last stage. @defaultValue a fresh walk */
  resume?: StageWalk;
  /** Let the multiplexer send the item to the LLM gate early, skipping stages. @defaultValue true */
  allowSkip?: boolean;
}

/** One annotation's facts, as the cascade knows them (the task and the stages are its own). */
type AnnotateInput = Omit<AnnotationInput, 'task' | 'stages'>;

/** One LLM tier as the cascade runs it: its teacher, its cost and its own scheduler (endpoint, limits, batches). */
interface TierRuntime {
  teacher: Teacher;
  costUnits: number;
  scheduler: LlmScheduler;
}

interface StageWalk {
  traces: StageTrace[];
  signals: StageSignal[];
  exitAt: number;
  cost: number;
  /** Set when the multiplexer skipped the remaining stages: the score the LLM gate judges. */
  gateScore?: number;
}

export class Cascade {
  readonly task: Task;
  readonly parts: CascadeParts;
  readonly counters: CascadeCounters;
  private readonly options: CascadeOptions;
  private readonly log: Logger;
  /** The LLM scheduler (absent without a teacher). */
  readonly scheduler: LlmScheduler | undefined;
  private readonly governor: CapacityGovernor | undefined;
  /** Holds items with no budget and a cold stage (and the input behind them) while LLM labels warm it; see cold-gate.ts. */
  private readonly coldGate: ColdGate | undefined;
  private pending = 0;
  private drained: Array<() => void> = [];
  private readonly saver: ((parts: CascadeParts) => Promise<void>) | undefined;
  private saving: Promise<void> = Promise.resolve();
  private reportedThreshold = Number.NaN;
  private reportedShare = Number.NaN;
  /** Aborts in-flight LLM calls and gate waits on stop(). */
  private readonly stopping = new AbortController();
  /** Present with `onUnavailable: 'pause'` and a teacher. */
  readonly llmGate: LlmGate | undefined;
  /** The LLM tiers, cheapest first (tier 0 runs on `scheduler`); empty without `escalation`. */
  private readonly tiers: TierRuntime[] = [];
  /** The model name LLM answers are cached under: the teacher's, or the tiers' joined by `>`. */
  private readonly answerModel: string;

  /** Which small stages have earned the right to answer (cold start, issue 9). */
  private readonly warmth: StageWarmth;
  /** The task objective's class weights and recall cut-offs (issue 9). */
  private readonly costs: CostSensitivity;
  /** Self- or co-training on answers no LLM saw (issue 9, item 5); calibrated on every LLM label. */
  private readonly pseudo: PseudoLabeler;
  private readonly saveEveryItems: number;
  private readonly learnInline: boolean;
  private externalLabels = 0;
  private readonly saveEveryMs: number;
  private lastSaveMs = performance.now();

  /**
   * Use createCascade(); `saver` persists the parts (absent: save() is a no-op), and runs on its own every
   * `saveEveryItems` answered items and every `saveEveryMs` while items flow (0: only when asked).
   */
  constructor(options: CascadeOptions, parts: CascadeParts, saver?: (parts: CascadeParts) => Promise<void>, saveEveryItems = 0, saveEveryMs = 0) {
    this.options = options;
    this.saver = saver;
    this.saveEveryItems = saveEveryItems;
    this.learnInline = options.learnInline ?? true;
    this.saveEveryMs = saveEveryMs;
    this.task = options.task;
    this.parts = parts;
    this.log = options.logger.child({ module: 'cascade' });
    const cfg = options.config;
    this.warmth = new StageWarmth(
      parts.stages.length,
      { minLabels: cfg.warmMinLabels, agreementFloor: cfg.warmAgreementFloor ?? 1 / options.task.labels.length + 0.1 },
      parts.stages.map((s) => s.labels),
    );
    this.costs = new CostSensitivity(options.task.objective, options.task.labels.length, parts.stages.length);
    this.pseudo = new PseudoLabeler({
      // Shared learning trains every worker on the label topic alone, in one order: no local pseudo-labels.
      mode: this.learnInline && options.teacher !== undefined ? cfg.selfTraining : 'off',
      stages: parts.stages.length,
      precisionFloor: cfg.pseudoLabelPrecision,
      perLabel: cfg.pseudoLabelsPerLabel,
    });
    const llm = options.llm;
    const deadlineMs = llm.deadlineMs ?? 30_000;
    const teachers = options.teacher === undefined ? [] : [options.teacher, ...(options.escalation ?? []).map((t) => t.teacher)];
    this.answerModel = teachers.map((t) => t.model).join('>');
    if (options.teacher !== undefined && options.onUnavailable === 'pause') {
      this.llmGate = new LlmGate({
        logger: options.logger,
        // Every tier must answer: an item escalated to a tier that is down would wait at the gate again.
        probe: async (signal) => {
          for (const teacher of teachers) {
            if (teacher.probe !== undefined) await teacher.probe(signal);
            else await teacher.classify('ping', signal);
          }
        },
        ...(options.probeBaseMs === undefined ? {} : { probeBaseMs: options.probeBaseMs }),
        ...(options.probeMaxMs === undefined ? {} : { probeMaxMs: options.probeMaxMs }),
      });
      this.llmGate.onChange((up) => options.observer?.onLlmAvailability?.(up));
    }
    if (options.teacher !== undefined) {
      const schedulerFor = (teacher: Teacher): LlmScheduler =>
        new LlmScheduler({
          teacher: watchTeacher(teacher, this.llmGate, this.stopping.signal),
          concurrency: llm.concurrency,
          ...(llm.minConcurrency === undefined ? {} : { minConcurrency: llm.minConcurrency }),
          ...(llm.maxConcurrency === undefined ? {} : { maxConcurrency: llm.maxConcurrency }),
          adaptive: llm.adaptive ?? true,
          deadlineMs,
          order: llm.order ?? 'priority',
          batchSize: llm.batchSize ?? 1,
          maxRequestsPerMinute: llm.maxRequestsPerMinute,
          maxTokensPerMinute: llm.maxTokensPerMinute,
          ...(llm.keyOf === undefined ? {} : { keyOf: llm.keyOf }),
          ...(llm.observer === undefined ? {} : { observer: llm.observer }),
          logger: options.logger,
        });
      this.scheduler = schedulerFor(options.teacher);
      const escalation = options.escalation ?? [];
      if (escalation.length > 0) {
        this.tiers.push({ teacher: options.teacher, costUnits: llm.costUnits, scheduler: this.scheduler });
        for (const tier of escalation) this.tiers.push({ teacher: tier.teacher, costUnits: tier.costUnits, scheduler: schedulerFor(tier.teacher) });
      }
      // Not with shared learning: labels then reach the stages through the label topic only once their items
      // commit, in partition order, so a held item would hold back the very labels that warm its stage.
      if ((llm.coldWaitMs ?? 0) > 0 && this.learnInline)
        this.coldGate = new ColdGate({
          queue: this.scheduler,
          onHold: () =>
            this.log.info({ labels: parts.stages.map((s) => s.labels) }, 'cold start: the LLM is behind the input, holding items until their stage warms'),
        });
      if (llm.capacityAware !== false && Number.isFinite(deadlineMs)) {
        this.governor = new CapacityGovernor({
          budget: parts.budget,
          scheduler: this.scheduler,
          deadlineMs,
          onChange: (cap, expectedWaitMs) => this.log.debug({ cap, expectedWaitMs }, 'LLM share capped to the LLM capacity'),
        });
      }
    }
    this.counters = {
      items: 0,
      llmCalls: 0,
      llmErrors: 0,
      unparseable: 0,
      cacheHits: 0,
      deadlineMisses: 0,
      sharedAnswers: 0,
      promptTokens: 0,
      completionTokens: 0,
      tierCalls: this.tiers.map(() => 0),
      escalations: 0,
      pseudoLabels: 0,
      coldHeld: 0,
      reasons: { confident: 0, deferred: 0, warmup: 0, exploration: 0, audit: 0, deadline: 0, budget: 0, 'llm-failed': 0, cache: 0, cold: 0 },
      answeredBy: { lr: 0, mid: 0, llm: 0 },
      deferredBy: Object.fromEntries(parts.stages.map((s) => [s.name, 0])),
    };
  }

  /** Answers one item. Never rejects for an LLM failure: the last small stage answers instead. */
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
    const saver = this.saver;
    if (saver === undefined) return Promise.resolve();
    const run = this.saving.catch(() => undefined).then(() => saver(this.parts));
    this.saving = run;
    this.lastSaveMs = performance.now();
    return run.then(
      () => this.options.observer?.onModelSave?.(true),
      (err: unknown) => {
        this.options.observer?.onModelSave?.(false, err);
        throw err;
      },
    );
  }

  /**
   * Shutting down: aborts in-flight LLM calls (their items are answered by the small stages, flagged
   * `llmFailed`), hands queued ones back, and releases items paused at the gate. Idempotent.
   */
  stop(): void {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort(new Error('the cascade is stopping'));
    this.llmGate?.close();
    this.coldGate?.releaseAll();
    this.scheduler?.close();
    for (const tier of this.tiers) tier.scheduler.close();
  }

  /**
   * Waits for in-flight items and for LLM answers still on their way (they teach the stages), at most
   * `drainTimeoutMs` (then stops them), then saves.
   * @throws ModelSaveError when the state cannot be saved.
   */
  async close(drainTimeoutMs = Number.POSITIVE_INFINITY): Promise<void> {
    const settled = async (): Promise<void> => {
      await this.drain();
      await this.scheduler?.idle();
      for (const tier of this.tiers) await tier.scheduler.idle();
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
    this.llmGate?.close();
    this.scheduler?.close();
    for (const tier of this.tiers) tier.scheduler.close();
    await this.save();
  }

  /**
   * Frees the stages' tfjs memory after {@link close}: a process that builds many cascades (the benchmarks)
   * would otherwise keep every one's weights. The cascade is unusable afterwards.
   */
  dispose(): void {
    for (const stage of this.parts.stages) stage.dispose?.();
    if (this.parts.ownsEncoder === true) this.parts.encoder?.dispose();
  }

  /** Labels learned through {@link learnFromLabel}. */
  get labelsLearned(): number {
    return this.externalLabels;
  }

  /**
   * Learns from a label that arrived from outside (another worker's, or this one's, LLM answer read back
   * from the label topic): every stage and policy takes the step the cascade takes on an LLM answer, with
   * the signals of the models as they are now. Deterministic: the same labels in the same order give the
   * same models. Throws RangeError for a label id outside the task's labels.
   */
  async learnFromLabel(text: string, labelId: number): Promise<void> {
    if (!Number.isInteger(labelId) || labelId < 0 || labelId >= this.task.labels.length) {
      throw new RangeError(`label id ${labelId} is not one of the ${this.task.labels.length} labels of task ${this.task.name}`);
    }
    const ctx: ItemContext = { features: await this.withSentence(this.parts.featurizer.featurize(text), text), probs: [] };
    const walk = this.walkStages(ctx, { forceDefer: true, allowSkip: false });
    this.learn(ctx, walk.signals, walk.traces, labelId);
    this.externalLabels++;
  }

  /**
   * What every small stage would answer for `text` now, in stage order, without deferral, LLM call, learning
   * or counting: for evaluation (how good the stages are, whatever the policy lets them answer).
   */
  async smallStageAnswers(text: string): Promise<Array<{ stage: SmallStage['name']; labelId: number; confidence: number }>> {
    const features = await this.withSentence(this.parts.featurizer.featurize(text), text);
    return this.currentAnswers(features).map((probs, i) => {
      const labelId = this.costs.answer(i, probs, argmax(probs));
      return { stage: (this.parts.stages[i] as SmallStage).name, labelId, confidence: probs[labelId] as number };
    });
  }

  /** Adds the encoder's sentence vector to the features (a no-op without an encoder). */
  private async withSentence(features: Features, text: string): Promise<Features> {
    const encoder = this.parts.encoder;
    if (encoder !== undefined) features.sentence = await encoder.embed(text);
    return features;
  }

  private async submitToLlm(
    scheduler: LlmScheduler,
    teacher: Teacher,
    text: string,
    score: number,
    timing: { deadlineMs?: number; hold?: { while: () => boolean; extraMs: number } } = {},
  ): Promise<ScheduledOutcome> {
    const stop = this.stopping.signal;
    for (;;) {
      const gate = this.llmGate;
      if (gate !== undefined && !gate.up && !stop.aborted) await gate.ready(stop).catch(() => undefined);
      // Stopping: the scheduler is closed; the item is answered by the small stages, flagged.
      if (stop.aborted) return { kind: 'failed', err: stop.reason, shared: false };
      const outcome = await scheduler.submit(text, score, timing);
      if (outcome.kind !== 'failed' || stop.aborted || !isLlmUnavailable(outcome.err)) return outcome;
      if (this.options.onUnavailable === 'fail') {
        this.counters.llmErrors++;
        this.options.observer?.onLlmError(outcome.err);
        throw describeLlmFailure(outcome.err, { model: teacher.model });
      }
      // Paused, not failed: the item waits for the LLM instead of taking an answer nothing stands behind.
      if (gate === undefined) return outcome;
    }
  }

  /** The budget controller's view: target, share so far, current threshold. */
  get budgetStatus(): { target: number; llmShare: number; threshold: number; items: number; calls: number } {
    const b = this.parts.budget;
    return { target: b.budget, llmShare: b.llmShare, threshold: b.threshold, items: b.items, calls: b.calls };
  }

  private async run(item: Item): Promise<Annotation> {
    const started = performance.now();
    const { policies, budget, rng, featurizer } = this.parts;
    const cfg = this.options.config;
    const features = featurizer.featurize(item.text);
    if (features.truncated) this.log.warn({ id: item.id, chars: item.text.length, keptChars: featurizer.maxTextChars }, 'text truncated');
    let ctx: ItemContext = { features, probs: [] };
    const teacher = this.options.teacher;

    // Await only when there is a cache: an await per item costs a microtask hop on the hot path.
    const cache = this.options.cache;
    const cached = teacher === undefined || cache === undefined ? undefined : await cache.get(this.task.name, this.answerModel, item.text);
    if (cached !== undefined && cached.answer.labelId !== null) {
      budget.exclude();
      this.counters.cacheHits++;
      const source: LlmSource = cached.tier === 'l1' ? 'cache-l1' : cached.tier === 'redis' ? 'cache-redis' : 'cache-near';
      const llm: LlmOutcome = { labelId: cached.answer.labelId, source, failed: false };
      if (cached.tier !== 'redis')
        return this.annotate({ item, traces: [], exitAt: -1, llm, audited: false, costUnits: 0, startedMs: started, reason: 'cache' });
      if (this.parts.encoder !== undefined) await this.withSentence(features, item.text);
      // An answer another worker paid for: learn from it once here (an L1 hit was learned here already).
      const walk = this.walkStages(ctx, { forceDefer: true });
      if (this.learnInline) this.learn(ctx, walk.signals, walk.traces, cached.answer.labelId);
      return this.annotate({ item, traces: walk.traces, exitAt: -1, llm, audited: false, costUnits: walk.cost, startedMs: started, reason: 'cache' });
    }

    // Awaited only with an encoder, for the same reason as the cache above.
    if (this.parts.encoder !== undefined) await this.withSentence(features, item.text);
    // Exploration (decaying with the last policy's maturity) and audits send an item the policy would
    // keep on to the LLM: DAgger needs labels on the states the policy visits, operators an unbiased sample.
    const lastPolicy = policies[policies.length - 1] as DeferralScorer;
    // When the LLM cannot keep up (capacity cap below the budget), exploration and audits shrink with the
    // granted share: forced calls would otherwise crowd out the uncertain items and miss their deadlines.
    const cap = budget.capacityShare;
    const capacityFactor = cap === undefined ? 1 : Math.min(1, cap / budget.budget);
    const explore = rng.next() < (capacityFactor * cfg.explorationRate) / Math.sqrt(1 + lastPolicy.updates / 100);
    const audit = cfg.auditRate > 0 && rng.next() < capacityFactor * cfg.auditRate;
    const warmingUp = budget.warmingUp;
    const forced = teacher !== undefined && cached === undefined && (warmingUp || explore || audit);
    let walk = this.walkStages(ctx, { forceDefer: forced });
    let llm: LlmOutcome | undefined;
    let last = walk.traces[walk.traces.length - 1] as StageTrace;
    let granted = false;
    let reason: AnnotationReason = cached !== undefined ? 'llm-failed' : 'confident';
    this.governor?.onItem();
    // Cold start: the deepest stage reached has not earned its place, so its answer is not a confident one:
    // the item goes to the LLM whatever the policy says, within the warm-up allowance (the budget's hard cap).
    const cold = walk.exitAt < 0 && !this.warmth.isWarm(walk.traces.length - 1);
    if (walk.exitAt >= 0 || teacher === undefined || cached !== undefined) {
      budget.decide(-Infinity); // answered early, no LLM, or its answer is known to be unparseable
      if (cold) reason = 'cold';
    } else {
      const score = walk.gateScore ?? last.pDefer;
      granted = budget.decide(score, forced || cold);
      if (!granted) reason = cold ? 'cold' : score > budget.threshold ? 'budget' : reason;
      if (!granted && walk.gateScore !== undefined) {
        // The multiplexer skipped stages but the budget said no: run them after all, they answer.
        walk = this.walkStages(ctx, { resume: { ...walk, gateScore: undefined }, allowSkip: false });
        last = walk.traces[walk.traces.length - 1] as StageTrace;
      }
    }
    let cost = walk.cost;
    if (!granted && cold && teacher !== undefined && cached === undefined && this.coldGate !== undefined) {
      // No budget for it and no stage to stand behind its answer (a backlog poured in faster than the LLM
      // answers): rather than publish it flagged `cold`, hold it, and the input behind it, while the LLM's
      // labels warm the stage; then the stages as they are answer it.
      const depth = walk.traces.length - 1;
      const warming = (): boolean => this.warmth.warmingUp(depth) && !this.stopping.signal.aborted;
      const heldMs = await this.coldGate.wait(warming, this.options.llm.coldWaitMs ?? 0);
      if (heldMs > 0) {
        this.counters.coldHeld++;
        this.options.observer?.onColdHold?.(heldMs / 1000);
        ctx = { features: ctx.features, probs: [] };
        walk = this.walkStages(ctx, { allowSkip: false });
        last = walk.traces[walk.traces.length - 1] as StageTrace;
        cost += walk.cost;
        reason = walk.exitAt >= 0 ? 'confident' : !this.warmth.isWarm(walk.traces.length - 1) ? 'cold' : 'budget';
      }
    }
    let llmTier: number | undefined;
    if (granted && teacher !== undefined && this.scheduler !== undefined) {
      // As above: a forced call is not the policy's deferral unless the gate would have sent it anyway.
      last.deferred = !(forced || cold) || last.pDefer > budget.threshold;
      reason = warmingUp || (cold && !last.deferred) ? 'warmup' : last.deferred ? 'deferred' : audit ? 'audit' : 'exploration';
      // A cold item may wait `llm.coldWaitMs` past the deadline while its stage stays cold: the untrained
      // stage's label is none we can stand behind. Once the stage is warm, a deadline already past applies.
      // The pipeline's window (pipeline.maxInFlight) holds the input back meanwhile.
      const depth = walk.traces.length - 1;
      const coldWaitMs = this.options.llm.coldWaitMs ?? 0;
      const hold = cold && coldWaitMs > 0 ? { while: () => !this.warmth.isWarm(depth) && !this.stopping.signal.aborted, extraMs: coldWaitMs } : undefined;
      // Escalations (LLM tiers) get what is left of the item's deadline, a cold item's hold included.
      const deadlineAtMs = performance.now() + (this.options.llm.deadlineMs ?? 30_000) + (hold === undefined ? 0 : coldWaitMs);
      const outcome = await this.submitToLlm(this.scheduler, teacher, item.text, walk.gateScore ?? last.pDefer, hold === undefined ? {} : { hold });
      if (outcome.kind === 'deadline') {
        // The deepest small stage answers; a call already running still teaches the stages when it lands.
        budget.refund();
        reason = 'deadline';
        this.counters.deadlineMisses++;
        if (cold) {
          // The stage has learned while the item waited (it may be warm now): it answers as it is now.
          ctx = { features: ctx.features, probs: [] };
          walk = this.walkStages(ctx, { forceDefer: true });
          last = walk.traces[walk.traces.length - 1] as StageTrace;
          cost += walk.cost;
          if (!this.warmth.isWarm(depth)) reason = 'cold';
        }
        if (outcome.late !== undefined) {
          cost += this.options.llm.costUnits;
          const traces = walk.traces.slice();
          const signals = walk.signals;
          // With tiers a late tier-0 answer is final only where it agrees with the small stages.
          const final = this.tiers.length === 0 ? undefined : last.labelId;
          void outcome.late.then((answer) => this.learnLate(item, ctx, signals, traces, answer, final));
        }
      } else {
        if (outcome.shared) {
          budget.refund();
          this.counters.sharedAnswers++;
        } else cost += this.options.llm.costUnits;
        llm = await this.useOutcome(item, outcome);
        if (this.tiers.length > 0) {
          const tiered = await this.escalate(item, outcome, llm, last.labelId, walk.gateScore ?? last.pDefer, deadlineAtMs);
          llm = tiered.llm;
          llmTier = tiered.tier;
          cost += tiered.costUnits;
        }
        // Forced (warm-up, exploration, audit, cold) calls were chosen whatever the scores: an unbiased sample.
        if (llm.labelId === null) reason = 'llm-failed';
        else if (this.learnInline) this.learn(ctx, walk.signals, walk.traces, llm.labelId, !last.deferred);
      }
    }
    this.reportBudget();
    // Only items no LLM answer reached, not even a late one: never one that was sent.
    if (!granted && cached === undefined && llm === undefined) this.learnPseudo(ctx, walk.traces.length);
    // Audited: sent to the LLM as a random sample (exploration or audit), not because the policy deferred it.
    const audited = forced && !warmingUp && llm?.source === 'call';
    const route = this.parts.multiplexer === undefined ? undefined : [...walk.traces.map((t) => t.stage), ...(llm === undefined ? [] : (['llm'] as const))];
    return this.annotate({
      item,
      traces: walk.traces,
      exitAt: walk.exitAt,
      ...(llm === undefined ? {} : { llm }),
      audited,
      costUnits: cost,
      startedMs: started,
      reason,
      ...(route === undefined ? {} : { route }),
      ...(llmTier === undefined ? {} : { llmTier }),
    });
  }

  /**
   * An answer that arrived after its item's deadline: learned from and cached, not published. With tiers
   * (`agreeWith`: the small stages' answer) a late tier-0 answer is used only when it agrees with them, as it
   * would then have been final.
   */
  private async learnLate(
    item: Item,
    ctx: ItemContext,
    signals: StageSignal[],
    traces: StageTrace[],
    answer: LlmAnswer | undefined,
    agreeWith?: number,
  ): Promise<void> {
    if (answer === undefined) return;
    this.counters.llmCalls++;
    this.countUsage(answer);
    if (agreeWith !== undefined) this.countTierCall(0);
    if (answer.labelId === null) {
      this.counters.unparseable++;
      return;
    }
    if (agreeWith !== undefined && answer.labelId !== agreeWith) return;
    // Shared learning publishes labels with their annotations; a late answer has none, so it is only cached.
    if (this.learnInline) this.learn(ctx, signals, traces, answer.labelId);
    await this.cacheAnswer(item, answer.labelId, answer.model, this.options.llm.costUnits).catch((err: unknown) =>
      this.log.warn({ id: item.id, err }, 'caching a late LLM answer failed'),
    );
  }

  /**
   * The LLM tiers' answer for an item tier 0 has answered (`first`, from `outcome`): while the latest answer
   * disagrees with the small stages' (`smallLabel`), names no label or failed, the next tier is asked, within
   * what is left of the item's deadline (`deadlineAtMs`, performance.now() time; Infinity for a cold item). The last tier's answer is final; when it names no
   * label, the latest answer that does. The final answer is cached; a stronger tier's answer that arrives after
   * the deadline is counted and paid for, not used.
   */
  private async escalate(
    item: Item,
    outcome: Exclude<ScheduledOutcome, { kind: 'deadline' }>,
    first: LlmOutcome,
    smallLabel: number,
    score: number,
    deadlineAtMs: number,
  ): Promise<{ llm: LlmOutcome; tier: number; costUnits: number }> {
    if (!outcome.shared) this.countTierCall(0);
    let latest = first;
    let final = { llm: first, tier: 0 };
    let model = this.tiers[0]?.teacher.model ?? '';
    let costUnits = 0;
    let itemCost = outcome.shared ? 0 : this.options.llm.costUnits;
    for (let k = 1; k < this.tiers.length && !(latest.labelId !== null && latest.labelId === smallLabel); k++) {
      const tier = this.tiers[k] as TierRuntime;
      const leftMs = deadlineAtMs - performance.now();
      if (!(leftMs > 0)) break;
      if (k === 1) this.counters.escalations++;
      const next = await this.submitToLlm(tier.scheduler, tier.teacher, item.text, score, { deadlineMs: leftMs });
      if (next.kind === 'deadline') {
        if (next.late !== undefined) {
          costUnits += tier.costUnits;
          void next.late.then((answer) => {
            if (answer === undefined) return;
            this.counters.llmCalls++;
            this.countUsage(answer);
            this.countTierCall(k);
          });
        }
        break;
      }
      if (!next.shared) {
        costUnits += tier.costUnits;
        itemCost += tier.costUnits;
        this.countTierCall(k);
      }
      latest = await this.useOutcome(item, next);
      if (latest.labelId !== null || final.llm.labelId === null) {
        final = { llm: latest, tier: k };
        model = tier.teacher.model;
      }
    }
    const label = final.llm.labelId;
    if (label !== null) {
      await this.cacheAnswer(item, label, model, itemCost).catch((err: unknown) => this.log.warn({ id: item.id, err }, 'caching an LLM answer failed'));
    }
    return { llm: final.llm, tier: final.tier, costUnits };
  }

  private countTierCall(tier: number): void {
    const calls = this.counters.tierCalls;
    calls[tier] = (calls[tier] ?? 0) + 1;
    this.options.observer?.onLlmTierCall?.(tier, this.tiers[tier]?.teacher.model ?? '');
  }

  /**
   * Runs the small stages in order (from where `resume` stopped) until one answers (or all of them, when `forceDefer`).
   * `exitAt` is the index of the stage that answered, or -1 when the item reached the LLM gate;
   * `gateScore` is set when the multiplexer sent it there early, skipping the stages after `traces`.
   */
  private walkStages(ctx: ItemContext, options: WalkOptions = {}): StageWalk {
    const { forceDefer = false, allowSkip = true } = options;
    const walk = options.resume ?? { traces: [], signals: [], exitAt: -1, cost: 0 };
    const { stages, policies, budget, multiplexer } = this.parts;
    const cfg = this.options.config;
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
      // An earlier stage answers when its disagreement risk is below what the LLM gate would accept,
      // less μ × the next stage's cost (the price of asking it).
      // `deferred` records the policy's own decision; a forced item (warm-up, exploration, audit) walks on
      // regardless, so audits can compare the stage that would have answered with the LLM.
      const policyDefers = next !== undefined && pDefer > budget.threshold * cfg.earlyExitFactor + cfg.deferralCostWeight * next.costUnits;
      walk.traces.push({ stage: stage.name, labelId, confidence: probs[labelId] as number, pDefer, deferred: policyDefers });
      // A cold stage (too few labels, or its agreement with the LLM under the floor) never answers early.
      if (next !== undefined && !policyDefers && !forceDefer && this.warmth.isWarm(i)) {
        walk.exitAt = i;
        return walk;
      }
      // Multiplexing (Zhu et al. 2023): when the next stage is predicted to disagree with the LLM as
      // often as the gate's threshold, running it would only delay the LLM call: go to the gate now.
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

  /**
   * Tells the observer the budget's threshold and LLM share whenever either changed, so /status, /metrics and
   * the dashboard show the controller's current figure (reporting only on threshold moves left the share stale).
   */
  private reportBudget(): void {
    const observer = this.options.observer;
    const budget = this.parts.budget;
    const share = budget.llmShare;
    if (observer === undefined || (budget.threshold === this.reportedThreshold && share === this.reportedShare)) return;
    this.reportedThreshold = budget.threshold;
    this.reportedShare = share;
    observer.onBudgetChange(budget.threshold, share);
  }

  /** Turns the scheduler's answer (or failure) into the item's LLM outcome; counts, reports and caches it. */
  private async useOutcome(item: Item, outcome: Exclude<ScheduledOutcome, { kind: 'deadline' }>): Promise<LlmOutcome> {
    this.counters.llmCalls++;
    if (outcome.kind === 'failed') {
      this.counters.llmErrors++;
      // Calls aborted by a shutdown are expected: not a warning.
      if (this.stopping.signal.aborted) this.log.info({ id: item.id }, 'LLM call stopped by the shutdown; the last small stage answers');
      else this.log.warn({ id: item.id, err: outcome.err }, 'LLM call failed; the last small stage answers');
      this.options.observer?.onLlmError(outcome.err);
      return { labelId: null, source: 'call', failed: true };
    }
    const answer = outcome.answer;
    // A shared answer's tokens were counted for the item whose call it was.
    if (!outcome.shared) this.countUsage(answer);
    this.options.observer?.onLlmLatency?.(answer.latencyMs / 1000);
    if (answer.labelId === null) this.counters.unparseable++;
    // With tiers, the final answer is cached once known (escalate).
    if (!outcome.shared && this.tiers.length === 0) await this.cacheAnswer(item, answer.labelId, answer.model, this.options.llm.costUnits);
    return { labelId: answer.labelId, source: 'call', failed: false, ...(answer.probability === undefined ? {} : { probability: answer.probability }) };
  }

  private countUsage(answer: LlmAnswer): void {
    const usage = answer.usage;
    if (usage === undefined) return;
    this.counters.promptTokens += usage.promptTokens;
    this.counters.completionTokens += usage.completionTokens;
    this.options.observer?.onLlmUsage?.(usage.promptTokens, usage.completionTokens, answer.model);
  }

  /** Caches an LLM answer (`model`: the model that gave it) under the cascade's answer model; `costUnits`: what it cost. */
  private async cacheAnswer(item: Item, labelId: number | null, model: string, costUnits: number): Promise<void> {
    const cache = this.options.cache;
    if (cache === undefined) return;
    await cache.set(this.task.name, this.answerModel, item.text, { labelId, model, costUnits, answeredAtMs: Date.now() }, costUnits);
  }

  /** Every stage's answer to `features` as the stages are now, on a scratch context (the item's is left as walked). */
  private currentAnswers(features: ItemContext['features']): Float32Array[] {
    const scratch: ItemContext = { features, probs: [], peek: true };
    for (const stage of this.parts.stages) scratch.probs.push(stage.run(scratch));
    return scratch.probs;
  }

  /** Learns from an LLM label; `unbiased`: the item was sent whatever its scores (warm-up, exploration, audit, cold). */
  private learn(ctx: ItemContext, signals: StageSignal[], traces: StageTrace[], label: number, unbiased = false): void {
    const { stages, policies } = this.parts;
    const observer = this.options.observer;
    const costs = this.costs;
    costs.observe(label);
    const weight = costs.weight(label);
    const recallLabel = costs.objective.kind === 'recall' ? costs.objective.label : -1;
    // A cold stage is judged on what it answers now, before it learns this label: the answer it gave when the
    // item was walked may be hundreds of labels old when the LLM lags behind a backlog, and would keep a stage
    // that has long learned enough from warming up. Only while a stage is warming up (bounded in labels).
    const judged = this.warmth.anyWarmingUp ? this.currentAnswers(ctx.features) : undefined;
    for (let i = 0; i < traces.length; i++) {
      const policy = policies[i] as DeferralScorer;
      // Under a cost-sensitive objective a missed rare label weighs more: the policy learns to defer likely positives.
      policy.update(signals[i] as StageSignal, (traces[i] as StageTrace).labelId !== label, weight);
      const probs = ctx.probs[i] as Float32Array;
      // Warmth judges the stage's own answer (argmax), not the objective's override of it.
      this.warmth.record(i, argmax(judged?.[i] ?? probs) === label);
      // The recall cut-off needs positives the stage's scores did not select (those it was sure of never reach the LLM).
      if (label === recallLabel && unbiased) costs.recordPositive(i, probs[label] as number);
      const stage = stages[i] as SmallStage;
      if (stage.learn(ctx, label, weight)) observer?.onModelUpdate(stage.name, stage.version);
    }
    // Stages the item did not reach (the multiplexer skipped them) still learn from the label.
    for (let i = traces.length; i < stages.length; i++) {
      const stage = stages[i] as SmallStage;
      const probs = stage.run(ctx);
      ctx.probs.push(probs);
      this.warmth.record(i, argmax(judged?.[i] ?? probs) === label);
      if (label === recallLabel && unbiased) costs.recordPositive(i, probs[label] as number);
      if (stage.learn(ctx, label, weight)) observer?.onModelUpdate(stage.name, stage.version);
    }
    // Calibrates the pseudo-labeler: how often answers of each confidence agree with the LLM, before learning.
    if (this.pseudo.mode !== 'off') this.pseudo.record(ctx.probs, label);
    // The multiplexer learns whether the next stage agreed with the LLM, from this stage's output.
    const mux = this.parts.multiplexer;
    if (mux !== undefined) {
      for (let i = 0; i < mux.length && i + 1 < ctx.probs.length; i++) {
        (mux[i] as DeferralScorer).update(signals[i] as StageSignal, argmax(ctx.probs[i + 1] as Float32Array) !== label);
      }
    }
  }

  /**
   * Self- or co-training (`cascade.selfTraining`) on an item no LLM answer reached, which ran through the first
   * `reached` stages: the pseudo-labeler's safeguards decide; only the stages learn, at `pseudoLabelWeight`
   * (the deferral policies, warmth, the objective's counts and the multiplexer never see a pseudo-label).
   */
  private learnPseudo(ctx: ItemContext, reached: number): void {
    if (this.pseudo.mode === 'off') return;
    const verdict = this.pseudo.judge(ctx.probs.slice(0, reached), (i) => this.warmth.isWarm(i));
    if (verdict === undefined) return;
    this.counters.pseudoLabels++;
    const weight = this.options.config.pseudoLabelWeight * this.costs.weight(verdict.label);
    for (const i of verdict.learners) {
      const stage = this.parts.stages[i] as SmallStage;
      if (stage.learnPseudo(ctx, verdict.label, weight)) this.options.observer?.onModelUpdate(stage.name, stage.version);
    }
  }

  private annotate(input: AnnotateInput): Annotation {
    const annotation = buildAnnotation({ ...input, task: this.task, stages: this.parts.stages });
    const { traces, reason } = input;
    if (annotation.answeredBy !== 'llm') {
      // A cold stage's answer never goes out as a confident one: its confidence is capped at how often the
      // stage has been seen to agree with the LLM (Wilson lower bound; 0 before any label).
      const at = this.parts.stages.findIndex((s) => s.name === annotation.answeredBy);
      if (at >= 0 && !this.warmth.isWarm(at)) annotation.confidence = Math.min(annotation.confidence, this.warmth.standing(at).lowerBound);
    }
    const c = this.counters;
    c.items++;
    c.reasons[reason]++;
    c.answeredBy[annotation.answeredBy]++;
    for (const t of traces) if (t.deferred && t.stage !== 'llm') c.deferredBy[t.stage] = (c.deferredBy[t.stage] ?? 0) + 1;
    this.options.observer?.onAnnotation(annotation);
    const due =
      (this.saveEveryItems > 0 && c.items % this.saveEveryItems === 0) || (this.saveEveryMs > 0 && performance.now() - this.lastSaveMs >= this.saveEveryMs);
    if (due && this.saver !== undefined) {
      this.save().catch((err: unknown) => this.log.error({ err }, 'periodic model save failed'));
    }
    return annotation;
  }
}
