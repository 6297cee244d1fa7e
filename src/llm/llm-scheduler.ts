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
import { HedgePolicy } from './hedge-policy.js';
import type { CallHooks, LlmAnswer, TokenUsage } from './types.js';
import type { Flight, LlmSchedulerOptions, ScheduledOutcome, SchedulerStats } from './scheduler-types.js';

/** How soon a request whose hedge had to wait (a busy slot, a spent share) is looked at again, ms. */
const HEDGE_RECHECK_MS = 100;

/** One request: its items, and its attempts (the first, and its hedge when one was sent). */
interface Request {
  batch: Flight[];
  estimatedTokens: number;
  sentMs: number;
  /** Attempts still running. */
  attempts: number;
  /** An attempt answered (or every attempt failed): the items have their outcome. */
  settled: boolean;
  hedged: boolean;
  hedgeTimer?: NodeJS.Timeout;
  /** One per attempt: the first answer aborts the other attempt. */
  calls: AbortController[];
}

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
  private readonly hedging: HedgePolicy;
  private closed = false;
  /** When an item last came to the scheduler (the LLM's work is quiet a median answer time later). */
  private lastSubmitMs = -Infinity;
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
  private readonly stats = { requests: 0, deadlineMisses: 0, throttled: 0, sharedAnswers: 0, batchRetries: 0, hedged: 0, hedgesWon: 0 };

  constructor(options: LlmSchedulerOptions) {
    this.opts = options;
    this.now = options.now ?? (() => performance.now());
    this.batchSize = Math.max(1, options.batchSize ?? 1);
    this.agingMs = options.agingMs ?? (Number.isFinite(options.deadlineMs) ? options.deadlineMs / 2 : 10_000);
    this.maxQueue = options.maxQueue ?? 10_000;
    this.latencyMs = options.initialLatencyMs ?? Math.min(1_000, options.deadlineMs / 4);
    this.log = options.logger?.child({ module: 'llm-scheduler' });
    this.hedging = new HedgePolicy({
      share: options.hedgeShare ?? 0,
      quantile: options.hedgeQuantile ?? 0.99,
      ...(options.hedgeMinSamples === undefined ? {} : { minSamples: options.hedgeMinSamples }),
    });
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
    this.lastSubmitMs = this.now();
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
    this.closed = true;
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

  /** Sends a request for `batch`, and arms its hedge. */
  private send(batch: Flight[], estimatedTokens: number): void {
    for (const f of batch) {
      f.state = 'in-flight';
      this.running.add(f);
    }
    const request: Request = { batch, estimatedTokens, sentMs: this.now(), attempts: 0, settled: false, hedged: false, calls: [] };
    this.hedging.onRequest();
    void this.attempt(request, false);
    // First looked at when it would be slow for quiet work, the earlier of the two.
    this.armHedge(request, this.hedging.delayMs(true));
  }

  /** One attempt at a request (the first, or its hedge): the first answer settles the request's items. */
  private async attempt(request: Request, hedge: boolean): Promise<void> {
    const { batch, estimatedTokens } = request;
    this.inFlightRequests++;
    request.attempts++;
    this.stats.requests++;
    this.opts.observer?.onRequest?.(batch.length);
    const started = this.now();
    const call = new AbortController();
    request.calls.push(call);
    const hooks: CallHooks = {
      signal: call.signal,
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
      let answers: Array<LlmAnswer | undefined>;
      let usage: TokenUsage | undefined;
      if (batch.length === 1 || teacher.classifyBatch === undefined) {
        const each = await Promise.all(batch.map((f) => teacher.classify(f.text, call.signal, hooks)));
        answers = each;
        usage = sumUsage(each);
      } else {
        const result = await teacher.classifyBatch(
          batch.map((f) => f.text),
          hooks,
        );
        answers = result.answers;
        usage = result.usage;
      }
      this.limiter.settle(estimatedTokens, usage === undefined ? estimatedTokens : usage.promptTokens + usage.completionTokens);
      const latency = this.now() - started;
      // The first answers replace the initial guess; later ones move a moving average.
      const weight = Math.max(0.2, 1 / ++this.latencySamples);
      this.latencyMs = (1 - weight) * this.latencyMs + weight * latency;
      this.hedging.onAnswer(latency);
      this.aimd.onSuccess(latency, this.queue.size > 0);
      if (request.settled) {
        // The other attempt answered first, and this one was not stopped in time: paid for all the same.
        if (usage !== undefined) this.opts.onUnusedUsage?.(usage, answers.find((a) => a !== undefined)?.model);
        return;
      }
      this.settleRequest(request, call);
      if (hedge) {
        this.stats.hedgesWon++;
        this.opts.observer?.onHedge?.('won');
      }
      this.useAnswers(batch, answers);
    } catch (err: unknown) {
      if (request.settled && call.signal.aborted) {
        // Stopped because the other attempt answered: what the endpoint may bill for it is not reported, so the
        // estimate is counted. Its answer time was at least this long: the slow answers stay in the quantile.
        this.opts.onUnusedUsage?.({ promptTokens: estimatedTokens, completionTokens: 0 }, undefined);
        this.hedging.onAnswer(this.now() - started);
        return;
      }
      if (isTimeout(err)) this.aimd.onCongestion('failed');
      // The other attempt may still answer: its answer settles the items.
      if (request.settled || request.attempts > 1) return;
      this.settleRequest(request, call);
      for (const f of batch) this.settle(f, { kind: 'failed', err, shared: false });
    } finally {
      request.attempts--;
      this.inFlightRequests--;
      this.pump();
      this.checkIdle();
    }
  }

  /** The request has its outcome (from `winner`): no hedge after it, and the other attempt is stopped. */
  private settleRequest(request: Request, winner: AbortController): void {
    request.settled = true;
    clearTimeout(request.hedgeTimer);
    for (const call of request.calls) if (call !== winner) call.abort(new Error('the other attempt of a hedged request answered first'));
  }

  /** Hands a request's answers to its items; an item a batch answer missed is asked again alone, never guessed. */
  private useAnswers(batch: readonly Flight[], answers: ReadonlyArray<LlmAnswer | undefined>): void {
    batch.forEach((f, i) => {
      const answer = answers[i];
      if (answer !== undefined) return this.settle(f, { kind: 'answer', answer, shared: false });
      this.stats.batchRetries++;
      this.running.delete(f);
      if (f.state === 'expired') return f.late?.resolve(undefined);
      f.state = 'queued';
      f.single = true;
      this.enqueue(f);
    });
  }

  /** Looks at the request again in `delayMs` (undefined: hedging is off, or the answer times are not known yet). */
  private armHedge(request: Request, delayMs: number | undefined): void {
    if (delayMs === undefined) return;
    request.hedgeTimer = setTimeout(() => this.hedge(request), Math.max(1, delayMs));
    request.hedgeTimer.unref?.();
  }

  /** No item has come to the LLM for a median answer time: what is out is all that is left to wait for. */
  private quiet(): boolean {
    return this.now() - this.lastSubmitMs >= this.hedging.medianMs;
  }

  /**
   * Sends the request's hedge once it is slow (for the LLM's work now, busy or quiet) and it costs no one
   * anything but the call: nothing waits for a slot or for the rate limits, its items still want the answer
   * (none past its deadline), and the share allows it. Otherwise it looks again shortly: the work may go
   * quiet, or a queue drain, while the slow request is still out.
   */
  private hedge(request: Request): void {
    if (this.closed || request.settled || request.hedged || request.attempts === 0) return;
    if (!request.batch.every((f) => f.state === 'in-flight')) return;
    const due = this.hedging.delayMs(this.quiet());
    if (due === undefined) return;
    const age = this.now() - request.sentMs;
    const busy =
      age < due ||
      this.queue.size > 0 ||
      this.inFlightRequests >= this.aimd.limit ||
      this.pausedUntilMs > this.now() ||
      this.limiter.waitMs(request.estimatedTokens) > 0;
    if (busy || !this.hedging.take()) return this.armHedge(request, Math.min(Math.max(1, due - age), HEDGE_RECHECK_MS));
    request.hedged = true;
    this.limiter.take(request.estimatedTokens);
    this.stats.hedged++;
    this.opts.observer?.onHedge?.('sent');
    void this.attempt(request, true);
  }

  private settle(flight: Flight, outcome: ScheduledOutcome): void {
    if (flight.state === 'done') return;
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

/** What the answers of one item-at-a-time request cost together (undefined when the endpoint reports no usage). */
function sumUsage(answers: readonly LlmAnswer[]): TokenUsage | undefined {
  let usage: TokenUsage | undefined;
  for (const a of answers) {
    if (a.usage === undefined) continue;
    usage = { promptTokens: (usage?.promptTokens ?? 0) + a.usage.promptTokens, completionTokens: (usage?.completionTokens ?? 0) + a.usage.completionTokens };
  }
  return usage;
}

function isTimeout(err: unknown): boolean {
  const cause = err instanceof RetriesExhaustedError ? err.cause : err;
  return cause instanceof LlmTimeoutError;
}

/** A longer deadline while a condition lasts. */
