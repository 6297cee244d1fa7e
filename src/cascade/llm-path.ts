/**
 * The cascade's side of the LLM: the scheduler (priority, deadlines, batches, rate limits; src/llm), the pause
 * gate (`llm.onUnavailable: pause`), the LLM tiers (`llm.tiers`, escalation on disagreement), answers that arrive
 * after their deadline, caching the answers it paid for, and counting calls, failures and tokens. It answers one
 * question per item: what did the LLM say, and what did it cost.
 */
import type { Logger } from 'pino';
import type { AnswerCache } from '../cache/index.js';
import type { LlmConfig } from '../config.js';
import {
  describeLlmFailure,
  isLlmUnavailable,
  LlmScheduler,
  type LlmAnswer,
  type ScheduledOutcome,
  type SchedulerObserver,
  type Teacher,
  type TokenUsage,
} from '../llm/index.js';
import type { LlmOutcome } from './annotation.js';
import type { CascadeCounters } from './counters.js';
import { LlmGate, watchTeacher } from './llm-gate.js';
import { escalate, type TierRuntime } from './llm-tiers.js';
import type { CascadeObserver } from './observer.js';
import type { Item } from './types.js';

/** A stronger LLM tier the cascade escalates to (`llm.tiers` after the first). */
export interface LlmTier {
  teacher: Teacher;
  /** Cost units of one call to this tier. */
  costUnits: number;
}

/** Scheduler settings that are no configuration key (the live benchmark's FIFO baseline, fixed concurrency). */
export interface SchedulingOverrides {
  /** 'fifo' reproduces the scheduler-less behaviour. @defaultValue 'priority' */
  order?: 'priority' | 'fifo';
  /** Adapt concurrency (AIMD). @defaultValue true */
  adaptive?: boolean;
  /** Lower the granted LLM share when the LLM cannot keep up within the deadline. @defaultValue true */
  capacityAware?: boolean;
}

export interface LlmPathOptions {
  /** The LLM (with tiers: tier 0, the cheapest). */
  teacher: Teacher;
  /** Stronger tiers after `teacher`, cheap to strong (`llm.tiers`); empty: one endpoint. */
  escalation: readonly LlmTier[];
  /** The `llm` section of the configuration, as parsed. */
  llm: Readonly<LlmConfig>;
  /** Cost units of one call to tier 0 (`llm.costUnits`, or the first tier's). */
  costUnits: number;
  scheduling?: SchedulingOverrides;
  /** Timing of the pause gate's probes, ms (tests shorten it). @defaultValue LlmGate's */
  probeTiming?: { baseMs: number; maxMs: number };
  /** Single-flight key of a text (the cache's normalisation); absent: the exact text. */
  keyOf?: (text: string) => string;
  cache?: AnswerCache;
  taskName: string;
  counters: CascadeCounters;
  observer?: CascadeObserver;
  schedulerObserver?: SchedulerObserver;
  logger: Logger;
}

/** How long an item may wait for its answer. */
export interface AskTiming {
  /** This item's deadline instead of `llm.deadlineMs`, ms (what is left of the item's latency bound). */
  deadlineMs?: number;
}

/** What the LLM said about one item. */
export type LlmResult =
  /** An answer (its `labelId` null when the call failed or named no label); `shared`: another item's call answered it. */
  | { kind: 'answer'; llm: LlmOutcome; shared: boolean; tier?: number; costUnits: number }
  /** No answer in time; `lateLabel` resolves with the label of a call that was already running (counted, cached). */
  | { kind: 'deadline'; costUnits: number; lateLabel?: Promise<number | undefined> };

export class LlmPath {
  readonly scheduler: LlmScheduler;
  /** Present with `llm.onUnavailable: pause`. */
  readonly gate: LlmGate | undefined;
  /** The model name LLM answers are cached under: the teacher's, or the tiers' joined by `>`. */
  readonly answerModel: string;
  /** The latency bound (`llm.deadlineMs`), ms; Infinity without one: every granted item waits for its answer. */
  readonly deadlineMs: number;
  private readonly tiers: TierRuntime[] = [];
  private readonly log: Logger;
  /** Aborts in-flight LLM calls and gate waits on stop(). */
  private readonly stopping = new AbortController();

  constructor(private readonly options: LlmPathOptions) {
    const { llm, teacher } = options;
    this.log = options.logger.child({ module: 'cascade' });
    this.deadlineMs = llm.deadlineMs ?? Number.POSITIVE_INFINITY;
    const teachers = [teacher, ...options.escalation.map((t) => t.teacher)];
    this.answerModel = teachers.map((t) => t.model).join('>');
    if (llm.onUnavailable === 'pause') this.gate = pauseGate(teachers, options);
    this.scheduler = this.schedulerFor(teacher);
    if (options.escalation.length > 0) {
      this.tiers.push({ teacher, costUnits: options.costUnits, scheduler: this.scheduler });
      for (const tier of options.escalation) this.tiers.push({ teacher: tier.teacher, costUnits: tier.costUnits, scheduler: this.schedulerFor(tier.teacher) });
    }
  }

  /** The signal that aborts when the path stops. */
  get stopSignal(): AbortSignal {
    return this.stopping.signal;
  }

  /** Lower the granted share when the LLM falls behind its deadline (off only in the live benchmark's baseline). */
  get capacityAware(): boolean {
    return this.options.scheduling?.capacityAware ?? true;
  }

  /** With LLM tiers: how many. 0 with one endpoint. */
  get tierCount(): number {
    return this.tiers.length;
  }

  /**
   * Asks the LLM about `item` (with tiers: tier 0, then stronger tiers while the answer disagrees with
   * `smallLabel`, the deepest small stage's). `score` orders the queue. Rejects only with `llm.onUnavailable:
   * fail` when the LLM is unusable (LlmUnavailableError); every other failure is an answer with no label.
   */
  async ask(item: Item, score: number, smallLabel: number, timing: AskTiming = {}): Promise<LlmResult> {
    const started = performance.now();
    const outcome = await this.submit(this.scheduler, this.options.teacher, item.text, score, timing);
    const cost = this.options.costUnits;
    if (outcome.kind === 'deadline') {
      this.options.counters.deadlineMisses++;
      if (outcome.late === undefined) return { kind: 'deadline', costUnits: 0 };
      // With tiers a late tier-0 answer is final only where it agrees with the small stages.
      const agreeWith = this.tiers.length === 0 ? undefined : smallLabel;
      return { kind: 'deadline', costUnits: cost, lateLabel: outcome.late.then((answer) => this.useLate(item, answer, agreeWith)) };
    }
    if (outcome.shared) this.options.counters.sharedAnswers++;
    const llm = await this.useOutcome(item, outcome);
    if (this.tiers.length === 0) return { kind: 'answer', llm, shared: outcome.shared, costUnits: outcome.shared ? 0 : cost };
    // Escalations get what is left of the item's deadline.
    const deadlineAtMs = started + (timing.deadlineMs ?? this.deadlineMs);
    const tiered = await escalate(
      { tiers: this.tiers, counters: this.options.counters, observer: this.options.observer, useOutcome: (o) => this.useOutcome(item, o) },
      { item, outcome, first: llm, smallLabel, score, deadlineAtMs },
      (tier, leftMs) => this.submit(tier.scheduler, tier.teacher, item.text, score, { deadlineMs: leftMs }),
    );
    if (tiered.llm.labelId !== null) await this.cache(item, tiered.llm.labelId, tiered.model, tiered.itemCost);
    return { kind: 'answer', llm: tiered.llm, shared: outcome.shared, tier: tiered.tier, costUnits: (outcome.shared ? 0 : cost) + tiered.costUnits };
  }

  /** Shutting down: aborts in-flight calls (their items fall back, flagged), releases items paused at the gate. Idempotent. */
  stop(): void {
    if (this.stopping.signal.aborted) return;
    this.stopping.abort(new Error('the cascade is stopping'));
    this.gate?.close();
    this.scheduler.close();
    for (const tier of this.tiers) tier.scheduler.close();
  }

  /** Resolves once nothing is queued or in flight on any tier (late answers included). */
  async idle(): Promise<void> {
    await this.scheduler.idle();
    for (const tier of this.tiers) await tier.scheduler.idle();
  }

  /** After {@link idle}: closes the gate and the schedulers. */
  close(): void {
    this.gate?.close();
    this.scheduler.close();
    for (const tier of this.tiers) tier.scheduler.close();
  }

  private schedulerFor(teacher: Teacher): LlmScheduler {
    const { llm, scheduling } = this.options;
    return new LlmScheduler({
      teacher: watchTeacher(teacher, this.gate, this.stopping.signal),
      concurrency: llm.concurrency,
      minConcurrency: llm.minConcurrency,
      maxConcurrency: llm.maxConcurrency,
      adaptive: scheduling?.adaptive ?? true,
      deadlineMs: this.deadlineMs,
      order: scheduling?.order ?? 'priority',
      batchSize: llm.batchSize,
      maxRequestsPerMinute: llm.maxRequestsPerMinute,
      maxTokensPerMinute: llm.maxTokensPerMinute,
      hedgeShare: llm.hedgeShare,
      hedgeQuantile: llm.hedgeQuantile,
      // A hedged request's second answer is paid for like the first: counted in the tokens and the money.
      onUnusedUsage: (usage, model) => this.countTokens(usage, model ?? teacher.model),
      ...(this.options.keyOf === undefined ? {} : { keyOf: this.options.keyOf }),
      observer: this.countingObserver(),
      logger: this.options.logger,
    });
  }

  /** The scheduler's reports, passed on to the monitor, its hedges counted in the cascade's totals too. */
  private countingObserver(): SchedulerObserver {
    const to = this.options.schedulerObserver;
    const counters = this.options.counters;
    return {
      onConcurrencyChange: (limit, reason) => to?.onConcurrencyChange?.(limit, reason),
      onThrottle: (status) => to?.onThrottle?.(status),
      onDeadline: (where) => to?.onDeadline?.(where),
      onRequest: (items) => to?.onRequest?.(items),
      onQueueSize: (size) => to?.onQueueSize?.(size),
      onHedge: (event) => {
        if (event === 'sent') counters.hedgedRequests++;
        to?.onHedge?.(event);
      },
    };
  }

  /** Submits to a tier's scheduler; while the pause gate is closed, waits at it and asks again. */
  private async submit(scheduler: LlmScheduler, teacher: Teacher, text: string, score: number, timing: AskTiming): Promise<ScheduledOutcome> {
    const stop = this.stopping.signal;
    for (;;) {
      const gate = this.gate;
      if (gate !== undefined && !gate.up && !stop.aborted) await gate.ready(stop).catch(() => undefined);
      // Stopping: the scheduler is closed; the item is answered by the small stages, flagged.
      if (stop.aborted) return { kind: 'failed', err: stop.reason, shared: false };
      const outcome = await scheduler.submit(text, score, timing);
      if (outcome.kind !== 'failed' || stop.aborted || !isLlmUnavailable(outcome.err)) return outcome;
      if (this.options.llm.onUnavailable === 'fail') {
        this.options.counters.llmErrors++;
        this.options.observer?.onLlmError(outcome.err);
        throw describeLlmFailure(outcome.err, { model: teacher.model, baseUrl: teacher.baseUrl });
      }
      // Paused, not failed: the item waits for the LLM instead of taking an answer nothing stands behind.
      if (gate === undefined) return outcome;
    }
  }

  /** Turns the scheduler's answer (or failure) into the item's LLM outcome; counts, reports and caches it. */
  private async useOutcome(item: Item, outcome: Exclude<ScheduledOutcome, { kind: 'deadline' }>): Promise<LlmOutcome> {
    const counters = this.options.counters;
    counters.llmCalls++;
    if (outcome.kind === 'failed') {
      counters.llmErrors++;
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
    if (answer.labelId === null) counters.unparseable++;
    // With tiers, the final answer is cached once known (ask).
    if (!outcome.shared && this.tiers.length === 0) await this.cache(item, answer.labelId, answer.model, this.options.costUnits);
    return { labelId: answer.labelId, source: 'call', failed: false, ...(answer.probability === undefined ? {} : { probability: answer.probability }) };
  }

  /**
   * An answer that arrived after its item's deadline: counted and cached, its label handed on for learning
   * (not published). With tiers (`agreeWith`: the small stages' answer) only when it agrees with them.
   */
  private async useLate(item: Item, answer: LlmAnswer | undefined, agreeWith?: number): Promise<number | undefined> {
    if (answer === undefined) return undefined;
    this.options.counters.llmCalls++;
    this.countUsage(answer);
    if (agreeWith !== undefined) {
      const calls = this.options.counters.tierCalls;
      calls[0] = (calls[0] ?? 0) + 1;
      this.options.observer?.onLlmTierCall?.(0, this.options.teacher.model);
    }
    if (answer.labelId === null) {
      this.options.counters.unparseable++;
      return undefined;
    }
    if (agreeWith !== undefined && answer.labelId !== agreeWith) return undefined;
    await this.cache(item, answer.labelId, answer.model, this.options.costUnits).catch((err: unknown) =>
      this.log.warn({ id: item.id, err }, 'caching a late LLM answer failed'),
    );
    return answer.labelId;
  }

  private countUsage(answer: LlmAnswer): void {
    if (answer.usage !== undefined) this.countTokens(answer.usage, answer.model);
  }

  private countTokens(usage: TokenUsage, model: string): void {
    this.options.counters.promptTokens += usage.promptTokens;
    this.options.counters.completionTokens += usage.completionTokens;
    this.options.observer?.onLlmUsage?.(usage.promptTokens, usage.completionTokens, model);
  }

  /** Caches an LLM answer (`model`: the model that gave it) under the path's answer model; `costUnits`: what it cost. */
  private async cache(item: Item, labelId: number | null, model: string, costUnits: number): Promise<void> {
    const cache = this.options.cache;
    if (cache === undefined) return;
    await cache.set(this.options.taskName, this.answerModel, item.text, { labelId, model, costUnits, answeredAtMs: Date.now() }, costUnits);
  }
}

/** The pause gate: probes every tier (an item escalated to a tier that is down would wait at the gate again). */
function pauseGate(teachers: readonly Teacher[], options: LlmPathOptions): LlmGate {
  const gate = new LlmGate({
    logger: options.logger,
    ...(options.probeTiming === undefined ? {} : { probeBaseMs: options.probeTiming.baseMs, probeMaxMs: options.probeTiming.maxMs }),
    probe: async (signal) => {
      for (const teacher of teachers) {
        if (teacher.probe !== undefined) await teacher.probe(signal);
        else await teacher.classify('ping', signal);
      }
    },
  });
  gate.onChange((up) => options.observer?.onLlmAvailability?.(up));
  return gate;
}
