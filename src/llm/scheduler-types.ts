/** The LLM scheduler's options, outcomes and statistics (llm-scheduler.ts), and the record of one call it tracks. */
import type { Logger } from 'pino';
import type { SchedulerObserver } from '../types.js';
import type { LlmAnswer, Teacher, TokenUsage } from './types.js';

/** How the scheduler runs; field meanings follow `config.llm`. */
export interface LlmSchedulerOptions {
  teacher: Teacher;
  /** Requests in flight at start (`llm.concurrency`). */
  concurrency: number;
  /** AIMD bounds; widened to include `concurrency`. @defaultValue concurrency (fixed) */
  minConcurrency?: number;
  maxConcurrency?: number;
  /** Adapt the concurrency (AIMD). @defaultValue true */
  adaptive?: boolean;
  /** Gate → answer limit, ms; Infinity: no deadline (the FIFO baseline). */
  deadlineMs: number;
  /** A waiting item gains one score point (a whole deferral probability) per this many ms. @defaultValue deadlineMs / 2, or 10 000 without a deadline */
  agingMs?: number;
  /** 'priority' (most uncertain first, aged) or 'fifo' (today's behaviour, the baseline). @defaultValue 'priority' */
  order?: 'priority' | 'fifo';
  /** Items per request. @defaultValue 1 */
  batchSize?: number;
  maxRequestsPerMinute?: number | undefined;
  maxTokensPerMinute?: number | undefined;
  /** Most items waiting; beyond it the least uncertain are handed back. @defaultValue 10 000 */
  maxQueue?: number;
  /** Single-flight key of a text (the cache's normalisation); absent: the exact text. */
  keyOf?: (text: string) => string;
  /** First latency estimate before any answer, ms (replaced by the first measured latency). @defaultValue min(1000, deadlineMs / 4) */
  initialLatencyMs?: number;
  /**
   * Most requests sent a second time, as a share of the requests (`llm.hedgeShare`): a request slower than
   * `hedgeQuantile` of recent answers is sent once more, and the first answer wins. @defaultValue 0 (never)
   */
  hedgeShare?: number;
  /** Quantile of recent answer times after which a request may be hedged (`llm.hedgeQuantile`). @defaultValue 0.99 */
  hedgeQuantile?: number;
  /** Answer times seen before anything is hedged. @defaultValue 100 */
  hedgeMinSamples?: number;
  /** Tokens of an answer that came second (a hedged request's other attempt): paid for, not used. */
  onUnusedUsage?: (usage: TokenUsage, model: string | undefined) => void;
  /** Completion tokens expected per item (for the tokens-per-minute pacing before usage is known). @defaultValue 16 */
  completionTokensPerItem?: number;
  now?: () => number;
  logger?: Logger;
  observer?: SchedulerObserver;
}

/** The scheduler's verdict on one item. `shared`: the answer came from another item's call (single-flight). */
export type ScheduledOutcome =
  | { kind: 'answer'; answer: LlmAnswer; shared: boolean }
  | { kind: 'failed'; err: unknown; shared: boolean }
  /** No answer in time. `late` resolves with the answer if the call was already running (undefined if it fails). */
  | { kind: 'deadline'; late?: Promise<LlmAnswer | undefined> };

export interface Flight {
  key: string;
  text: string;
  score: number;
  enqueuedAtMs: number;
  deadlineAtMs: number;
  waiters: Array<(outcome: ScheduledOutcome) => void>;
  state: 'queued' | 'in-flight' | 'expired' | 'done';
  /** Re-asked alone after a batch answer missed it. */
  single: boolean;
  late?: { promise: Promise<LlmAnswer | undefined>; resolve: (a: LlmAnswer | undefined) => void };
}

/** Snapshot for /status and the benchmark. */
export interface SchedulerStats {
  queued: number;
  inFlightRequests: number;
  concurrency: number;
  latencyEstimateMs: number;
  expectedWaitMs: number;
  requests: number;
  deadlineMisses: number;
  throttled: number;
  sharedAnswers: number;
  batchRetries: number;
  /** Requests sent a second time (hedges), and those whose second answer came first. */
  hedged: number;
  hedgesWon: number;
}
