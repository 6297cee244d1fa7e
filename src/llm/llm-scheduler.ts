/**
 * The LLM scheduler, between the cascade and the client (after RT-LM, Li et al. 2023, "Uncertainty-aware
 * resource management for real-time inference of language models"):
 * - a bounded priority queue of LLM-bound items, most uncertain first (the gate's deferral score), with
 *   aging so that nothing starves;
 * - a deadline per item: one whose answer cannot arrive in time is handed back (`deadline`) for the deepest
 *   small stage to answer, early when its rank in the queue says it will not be reached in time; a call
 *   still running at the deadline goes on, and its answer is handed over later (`late`) for learning;
 * - single-flight: items whose normalised texts are equal share one call;
 * - consolidation: up to `batchSize` items per request; items a batch answer missed are asked again alone;
 * - rate limits (requests and tokens per minute), Retry-After pauses, and AIMD concurrency.
 */
import type { Logger } from 'pino';
import { LlmTimeoutError, RetriesExhaustedError } from '../errors.js';
import type { SchedulerObserver } from '../types.js';
import { AimdController } from './aimd-controller.js';
import { PriorityQueue } from './priority-queue.js';
import { RateLimiter } from './rate-limiter.js';
import type { CallHooks, LlmAnswer } from './types.js';
import type { Flight, LlmSchedulerOptions, ScheduledOutcome, SchedulerStats } from './scheduler-types.js';

export type { LlmSchedulerOptions, ScheduledOutcome, SchedulerStats };

/** What the scheduler reports: the core's SchedulerObserver (src/types.ts). */
export type { SchedulerObserver };

export class LlmScheduler {
  private readonly opts: LlmSchedulerOptions;
  private readonly now: () => number;
  private readonly queue = new PriorityQueue<Flight>();
  private readonly flights = new Map<string, Flight>();
  private readonly running = new Set<Flight>();
  private readonly aimd: AimdController;
  private readonly limiter: RateLimiter;
  private readonly batchSize: number;
  private readonly agingMs: number;
  private readonly maxQueue: number;
  private readonly log: Logger | undefined;
  private inFlightRequests = 0;
  private latencyMs: number;
  private latencySamples = 0;
  private pausedUntilMs = 0;
  private wakeTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private idleWaiters: Array<() => void> = [];
  private readonly stats = { requests: 0, deadlineMisses: 0, throttled: 0, sharedAnswers: 0, batchRetries: 0 };

  constructor(options: LlmSchedulerOptions) {
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
    this.batchSize = Math.max(1, options.batchSize ?? 1);
    this.agingMs = options.agingMs ?? (Number.isFinite(options.deadlineMs) ? options.deadlineMs / 2 : 10_000);
    this.maxQueue = options.maxQueue ?? 10_000;
    this.latencyMs = options.initialLatencyMs ?? Math.min(1_000, options.deadlineMs / 4);
    this.log = options.logger?.child({ module: 'llm-scheduler' });
    this.limiter = new RateLimiter({ maxRequestsPerMinute: options.maxRequestsPerMinute, maxTokensPerMinute: options.maxTokensPerMinute }, this.now);
    this.aimd = new AimdController({
      initial: options.concurrency,
      min: Math.min(options.minConcurrency ?? options.concurrency, options.concurrency),
      max: Math.max(options.maxConcurrency ?? options.concurrency, options.concurrency),
      adaptive: options.adaptive ?? true,
      // Slower than half the deadline: the endpoint is queueing our requests, fewer at once helps.
      slowMs: Number.isFinite(options.deadlineMs) ? options.deadlineMs / 2 : Infinity,
      now: this.now,
      onChange: (limit, reason) => {
        this.log?.debug({ limit, reason }, 'LLM concurrency adjusted');
        options.observer?.onConcurrencyChange?.(limit, reason);
      },
    });
  }

  /** Items per request. */
  get batch(): number {
    return this.batchSize;
  }

  /**
   * Asks the LLM about `text` once its turn comes, most uncertain (`score`, the gate's P(defer)) first.
   * Never rejects: failures and missed deadlines are outcomes. `deadlineMs` overrides the scheduler's for
   * this item (Infinity: it waits for its answer, however long; an item joining a call in flight extends
   * that call's deadline to its own).
   */
  submit(text: string, score: number, options: { deadlineMs?: number } = {}): Promise<ScheduledOutcome> {
    const key = this.opts.keyOf === undefined ? text : this.opts.keyOf(text);
    const existing = this.flights.get(key);
    const deadlineMs = options.deadlineMs ?? this.opts.deadlineMs;
    if (existing !== undefined && (existing.state === 'queued' || existing.state === 'in-flight')) {
      this.stats.sharedAnswers++;
      existing.deadlineAtMs = Math.max(existing.deadlineAtMs, this.now() + deadlineMs);
      return new Promise((resolve) => existing.waiters.push((o) => resolve(o.kind === 'deadline' ? o : { ...o, shared: true })));
    }
    const t = this.now();
    return new Promise((resolve) => {
      const flight: Flight = { key, text, score, enqueuedAtMs: t, deadlineAtMs: t + deadlineMs, waiters: [resolve], state: 'queued', single: false };
      this.flights.set(key, flight);
      this.enqueue(flight);
      if (this.queue.size > this.maxQueue * 1.25) this.shed();
      this.pump();
      this.armSweep();
    });
  }

  /** True while a call for `text` (by its single-flight key) is queued or in flight: asking again would share it. */
  has(text: string): boolean {
    const flight = this.flights.get(this.opts.keyOf === undefined ? text : this.opts.keyOf(text));
    return flight !== undefined && (flight.state === 'queued' || flight.state === 'in-flight');
  }

  /** True while answers are on their way: items queued or requests in flight. */
  get busy(): boolean {
    return this.queue.size > 0 || this.inFlightRequests > 0;
  }

  /** Expected wait of a newly queued item before its request is sent, ms (0 when a slot is free). */
  get expectedWaitMs(): number {
    const rate = this.dispatchRatePerMs();
    return this.queue.size === 0 ? 0 : this.queue.size / rate;
  }

  /** The LLM's answer time as the scheduler estimates it (a moving average of recent requests), ms. */
  get latencyEstimateMs(): number {
    return this.latencyMs;
  }

  /** Items the LLM can answer per second at the current concurrency, latency and rate limits. */
  get capacityPerSecond(): number {
    return this.dispatchRatePerMs() * 1000;
  }

  snapshot(): SchedulerStats {
    return {
      queued: this.queue.size,
      inFlightRequests: this.inFlightRequests,
      concurrency: this.aimd.limit,
      latencyEstimateMs: this.latencyMs,
      expectedWaitMs: this.expectedWaitMs,
      ...this.stats,
    };
  }

  /** Resolves once nothing is queued or in flight (late answers included). */
  idle(): Promise<void> {
    if (this.queue.size === 0 && this.inFlightRequests === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the timers; queued items are handed back as missed deadlines. */
  close(): void {
    for (const f of this.queue.removeWhere(() => true)) this.expire(f, 'queued');
    clearTimeout(this.wakeTimer);
    clearInterval(this.sweepTimer);
    this.sweepTimer = undefined;
    this.checkIdle();
  }

  private enqueue(flight: Flight): void {
    // Items re-asked alone after a batch missed them go first: they have waited a whole request already.
    const key = flight.single
      ? Number.MAX_SAFE_INTEGER - flight.enqueuedAtMs
      : this.opts.order === 'fifo'
        ? -flight.enqueuedAtMs
        : flight.score - flight.enqueuedAtMs / this.agingMs;
    this.queue.push(flight, key);
    this.opts.observer?.onQueueSize?.(this.queue.size);
  }

  /** Items per ms the endpoint can take now. */
  private dispatchRatePerMs(): number {
    const byConcurrency = (this.aimd.limit * this.batchSize) / Math.max(1, this.latencyMs);
    const byRequests = (this.limiter.requestsPerSecond * this.batchSize) / 1000;
    const byTokens = this.limiter.tokensPerSecond / 1000 / this.tokensPerItem(100);
    return Math.max(1e-6, Math.min(byConcurrency, byRequests, byTokens));
  }

  private tokensPerItem(chars: number): number {
    return Math.ceil(chars / 4) + 8 + (this.opts.completionTokensPerItem ?? 16);
  }

  private pump(): void {
    while (this.queue.size > 0 && this.inFlightRequests < this.aimd.limit) {
      const t = this.now();
      if (this.pausedUntilMs > t) return this.wakeAt(this.pausedUntilMs - t);
      const head = this.queue.peek() as Flight;
      const estimate = this.tokensPerItem(head.text.length + 60) * (head.single ? 1 : Math.min(this.batchSize, this.queue.size));
      const wait = this.limiter.waitMs(estimate);
      if (wait > 0) return this.wakeAt(wait);
      const batch = this.takeBatch();
      if (batch.length === 0) continue;
      const tokens = batch.reduce((n, f) => n + this.tokensPerItem(f.text.length + 60), 0);
      this.limiter.take(tokens);
      void this.send(batch, tokens);
    }
  }

  /** Pops the next request's items: a re-asked item alone, else up to batchSize items still in time. */
  private takeBatch(): Flight[] {
    const batch: Flight[] = [];
    const t = this.now();
    while (batch.length < this.batchSize && this.queue.size > 0) {
      const next = this.queue.peek() as Flight;
      if (next.single && batch.length > 0) break;
      this.queue.pop();
      // Expected to miss its deadline: handed back, unless nothing is in flight. Then it goes anyway, as a
      // probe: its answer (late, for learning) keeps labels flowing and the latency estimate current.
      const probe = this.inFlightRequests === 0 && batch.length === 0;
      if (!probe && t + this.latencyMs > next.deadlineAtMs) {
        this.expire(next, 'queued');
        continue;
      }
      batch.push(next);
      if (next.single) break;
    }
    this.opts.observer?.onQueueSize?.(this.queue.size);
    return batch;
  }

  private async send(batch: Flight[], estimatedTokens: number): Promise<void> {
    this.inFlightRequests++;
    this.stats.requests++;
    this.opts.observer?.onRequest?.(batch.length);
    for (const f of batch) {
      f.state = 'in-flight';
      this.running.add(f);
    }
    const started = this.now();
    const hooks: CallHooks = {
      onThrottle: (status, retryAfterMs) => {
        this.stats.throttled++;
        this.opts.observer?.onThrottle?.(status);
        // Everyone waits out the endpoint's Retry-After, not only the request that was told.
        if (retryAfterMs !== undefined) this.pausedUntilMs = Math.max(this.pausedUntilMs, this.now() + retryAfterMs);
        this.aimd.onCongestion('throttled');
      },
    };
    const { teacher } = this.opts;
    try {
      if (batch.length === 1 || teacher.classifyBatch === undefined) {
        const answers = await Promise.all(batch.map((f) => teacher.classify(f.text, undefined, hooks)));
        answers.forEach((a, i) => this.settle(batch[i] as Flight, { kind: 'answer', answer: a, shared: false }));
        this.limiter.settle(
          estimatedTokens,
          answers.reduce((n, a) => n + (a.usage === undefined ? 0 : a.usage.promptTokens + a.usage.completionTokens), 0) || estimatedTokens,
        );
      } else {
        const result = await teacher.classifyBatch(
          batch.map((f) => f.text),
          hooks,
        );
        if (result.usage !== undefined) this.limiter.settle(estimatedTokens, result.usage.promptTokens + result.usage.completionTokens);
        batch.forEach((f, i) => {
          const answer = result.answers[i];
          if (answer !== undefined) return this.settle(f, { kind: 'answer', answer, shared: false });
          // Not covered by the batch answer: asked again alone, never guessed.
          this.stats.batchRetries++;
          this.running.delete(f);
          if (f.state === 'expired') return f.late?.resolve(undefined);
          f.state = 'queued';
          f.single = true;
          this.enqueue(f);
        });
      }
      const latency = this.now() - started;
      // The first answers replace the initial guess; later ones move a moving average.
      const weight = Math.max(0.2, 1 / ++this.latencySamples);
      this.latencyMs = (1 - weight) * this.latencyMs + weight * latency;
      this.aimd.onSuccess(latency, this.queue.size > 0);
    } catch (err: unknown) {
      if (isTimeout(err)) this.aimd.onCongestion('failed');
      for (const f of batch) this.settle(f, { kind: 'failed', err, shared: false });
    } finally {
      this.inFlightRequests--;
      this.pump();
      this.checkIdle();
    }
  }

  private settle(flight: Flight, outcome: ScheduledOutcome): void {
    this.running.delete(flight);
    if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    if (flight.state === 'expired') {
      flight.late?.resolve(outcome.kind === 'answer' ? outcome.answer : undefined);
      return;
    }
    flight.state = 'done';
    for (const w of flight.waiters) w(outcome);
  }

  /** Hands an item back for the small stages to answer. */
  private expire(flight: Flight, where: 'queued' | 'in-flight'): void {
    if (flight.state === 'expired' || flight.state === 'done') return;
    const waiters = flight.waiters.length;
    this.stats.deadlineMisses += waiters;
    for (let i = 0; i < waiters; i++) this.opts.observer?.onDeadline?.(where);
    let outcome: ScheduledOutcome = { kind: 'deadline' };
    if (where === 'in-flight') {
      let resolve!: (a: LlmAnswer | undefined) => void;
      const promise = new Promise<LlmAnswer | undefined>((r) => (resolve = r));
      flight.late = { promise, resolve };
      outcome = { kind: 'deadline', late: promise };
    } else if (this.flights.get(flight.key) === flight) this.flights.delete(flight.key);
    flight.state = 'expired';
    for (const w of flight.waiters) w(outcome);
  }

  /**
   * Every few ms while work is waiting: items whose answer cannot arrive before their deadline, given their
   * rank and the endpoint's pace, are handed back now rather than at the deadline (the least uncertain
   * first, as they rank last); calls still running at a deadline hand their items back.
   */
  private sweep(): void {
    const t = this.now();
    const margin = this.sweepMs();
    for (const f of this.running) if (t + margin >= f.deadlineAtMs) this.expire(f, 'in-flight');
    if (this.queue.size > 0 && Number.isFinite(this.opts.deadlineMs)) this.shed();
    if (this.queue.size === 0 && this.running.size === 0) {
      clearInterval(this.sweepTimer);
      this.sweepTimer = undefined;
    }
  }

  /** Drops queued items that rank too low to be answered in time, and any beyond `maxQueue`. */
  private shed(): void {
    const t = this.now();
    const rate = this.dispatchRatePerMs();
    const finite = Number.isFinite(this.opts.deadlineMs);
    const ranked = this.queue.ranked();
    const late = new Set<Flight>();
    ranked.forEach((f, rank) => {
      const finishAt = t + rank / rate + this.latencyMs;
      const probe = rank === 0 && this.inFlightRequests === 0;
      if (rank >= this.maxQueue || (!probe && finite && finishAt > f.deadlineAtMs)) late.add(f);
    });
    if (late.size === 0) return;
    this.queue.removeWhere((f) => late.has(f));
    for (const f of late) this.expire(f, 'queued');
    this.opts.observer?.onQueueSize?.(this.queue.size);
  }

  private sweepMs(): number {
    return Number.isFinite(this.opts.deadlineMs) ? Math.min(500, Math.max(20, this.opts.deadlineMs / 20)) : 500;
  }

  private armSweep(): void {
    if (this.sweepTimer !== undefined) return;
    this.sweepTimer = setInterval(() => this.sweep(), this.sweepMs());
    this.sweepTimer.unref();
  }

  private wakeAt(ms: number): void {
    if (this.wakeTimer !== undefined) return;
    this.wakeTimer = setTimeout(
      () => {
        this.wakeTimer = undefined;
        this.pump();
      },
      Math.max(1, ms),
    );
  }

  private checkIdle(): void {
    if (this.queue.size > 0 || this.inFlightRequests > 0) return;
    const waiting = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiting) resolve();
  }
}

function isTimeout(err: unknown): boolean {
  const cause = err instanceof RetriesExhaustedError ? err.cause : err;
  return cause instanceof LlmTimeoutError;
}

/** A longer deadline while a condition lasts. */
