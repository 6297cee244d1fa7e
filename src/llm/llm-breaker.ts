/**
 * One LLM endpoint's shared back-off and its health, a circuit breaker over every call to it (items, batches,
 * tiers, retries, the probe's chat call): while the endpoint answers, calls go at once. From the first call that
 * fails as an outage (isLlmUnavailable: 5xx, 429, timeouts, refused connections, a refused key) calls wait;
 * after a back-off that doubles with every failed trial (jittered, capped at `llm.retryMaxMs`, never shorter
 * than the endpoint's Retry-After) one call goes as the trial, and only its answer lets the others through.
 * So an endpoint failing for good sees one call per back-off, however many items wait, and its models list
 * answering changes nothing: only an answered call closes the breaker.
 *
 * Health: the endpoint is down while the breaker is open or the last probe failed, and stalled when a call has
 * waited `stallMs` with no answer from any call meanwhile.
 */
import { LlmHttpError } from '../errors.js';
import { isLlmUnavailable } from './llm-health.js';
import { backoffMs } from './retry.js';

/** Longest Retry-After obeyed, ms (as withRetry). */
const MAX_RETRY_AFTER_MS = 60_000;

/** Options of {@link LlmBreaker}. */
export interface LlmBreakerOptions {
  /** First back-off after a failure, ms (`llm.retryBaseMs`); doubles per failed trial. */
  retryBaseMs: number;
  /** Cap on one back-off, ms (`llm.retryMaxMs`). */
  retryMaxMs: number;
  /** A call waiting this long with no answer from any call counts as a stall, ms (`llm.stallMs`); 0: never. */
  stallMs: number;
  /** Jitter source in [0, 1). @defaultValue Math.random */
  random?: () => number;
  /** @defaultValue Date.now */
  now?: () => number;
}

/** A call's place at the breaker: returned by {@link LlmBreaker.acquire}, handed back to {@link LlmBreaker.settle}. */
export interface BreakerPermit {
  readonly id: number;
  /** The one call let through after a back-off to find out whether the endpoint answers again. */
  readonly trial: boolean;
}

/** What /healthz and spillway_llm_up say of an endpoint. */
export interface LlmHealthReport {
  up: boolean;
  /** Why it is down. */
  reason?: string;
}

/** How a call ended, for the breaker. */
export type CallOutcome = 'answered' | 'outage' | 'aborted';

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The shared back-off and health of one endpoint. */
export class LlmBreaker {
  private failures = 0;
  private retryAtMs = 0;
  private trialOut = false;
  private failure: { err: unknown; sinceMs: number } | undefined;
  private probeFailure: { err: unknown; sinceMs: number } | undefined;
  private lastAnswerMs: number;
  private readonly inFlight = new Map<number, number>();
  private nextId = 0;
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  constructor(private readonly options: LlmBreakerOptions) {
    this.now = options.now ?? Date.now;
    this.lastAnswerMs = this.now();
  }

  /** Consecutive failed trials since the endpoint last answered (0: closed). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /** When the next trial may go (ms, the clock of `now`); 0 while closed. */
  get nextTrialAtMs(): number {
    return this.failures === 0 ? 0 : this.retryAtMs;
  }

  /**
   * Resolves when a call may go: at once while the endpoint answers; while it fails, as the next trial after
   * the back-off, or when a trial brings an answer. Rejects with the signal's reason when it aborts first.
   */
  async acquire(signal?: AbortSignal): Promise<BreakerPermit> {
    for (;;) {
      if (signal?.aborted === true) throw signal.reason;
      const trial = this.failures > 0;
      if (!trial || (!this.trialOut && this.now() >= this.retryAtMs)) {
        if (trial) this.trialOut = true;
        const id = ++this.nextId;
        this.inFlight.set(id, this.now());
        return { id, trial };
      }
      await this.waitForChange(signal);
    }
  }

  /** A call ended: its outcome moves the breaker (see the module's comment). `err` is its error, if any. */
  settle(permit: BreakerPermit, outcome: CallOutcome, err?: unknown): void {
    if (!this.inFlight.delete(permit.id)) return;
    if (permit.trial) this.trialOut = false;
    const now = this.now();
    if (outcome === 'answered') {
      this.lastAnswerMs = now;
      this.failures = 0;
      this.failure = undefined;
      this.probeFailure = undefined;
    } else if (outcome === 'outage') {
      // Calls already out when the breaker opened fail together: only the opening failure and trials count.
      if (this.failures === 0 || permit.trial) {
        this.failures++;
        this.retryAtMs = Math.max(this.retryAtMs, now + backoffMs(this.failures, this.options));
      }
      this.failure = { err, sinceMs: this.failure?.sinceMs ?? now };
      this.obeyRetryAfter(err, now);
    }
    this.wake();
  }

  /** Classifies a call's error (undefined: it answered) and settles its permit. */
  settleWith(permit: BreakerPermit, err: unknown, aborted: boolean): void {
    if (err === undefined) this.settle(permit, 'answered');
    else if (aborted) this.settle(permit, 'aborted');
    else this.settle(permit, isLlmUnavailable(err) ? 'outage' : 'answered', err);
  }

  /** A probe (the models list) ended: a failure makes the endpoint down until a probe or a call answers. */
  recordProbe(err?: unknown): void {
    if (err === undefined) this.probeFailure = undefined;
    else if (isLlmUnavailable(err)) this.probeFailure = { err, sinceMs: this.probeFailure?.sinceMs ?? this.now() };
  }

  /** Whether the endpoint is usable now, and why not. */
  health(): LlmHealthReport {
    const now = this.now();
    const down = this.failure ?? this.probeFailure;
    if (this.failures > 0 || this.probeFailure !== undefined) {
      const forS = Math.round((now - (down?.sinceMs ?? now)) / 1000);
      return { up: false, reason: `failing for ${forS} s: ${describe(down?.err)}` };
    }
    const stallMs = this.options.stallMs;
    if (stallMs > 0 && now - this.lastAnswerMs >= stallMs) {
      let oldest = Infinity;
      for (const started of this.inFlight.values()) oldest = Math.min(oldest, started);
      if (now - oldest >= stallMs) {
        return {
          up: false,
          reason: `stalled: a call has waited ${Math.round((now - oldest) / 1000)} s and none has answered for ${Math.round((now - this.lastAnswerMs) / 1000)} s`,
        };
      }
    }
    return { up: true };
  }

  /** Retry-After (429/503) applies to every call, not only the one that was told. */
  private obeyRetryAfter(err: unknown, now: number): void {
    const after = err instanceof LlmHttpError ? err.retryAfterMs : undefined;
    if (after !== undefined && after > 0) {
      if (this.failures === 0) this.failures = 1;
      this.retryAtMs = Math.max(this.retryAtMs, now + Math.min(MAX_RETRY_AFTER_MS, after));
    }
  }

  private waitForChange(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        this.waiters = this.waiters.filter((w) => w !== done);
        reject(signal?.reason);
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(done);
      this.armTimer();
    });
  }

  /** Wakes the waiters when the next trial is due (they re-check; one takes it). */
  private armTimer(): void {
    if (this.timer !== undefined || this.trialOut || this.failures === 0) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.wake();
      },
      Math.max(1, this.retryAtMs - this.now()),
    );
  }

  private wake(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}

/** The health of several endpoints (LLM tiers): down when any is, naming it. */
export function combinedHealth(endpoints: ReadonlyArray<{ model: string; breaker: LlmBreaker }>): LlmHealthReport {
  for (const { model, breaker } of endpoints) {
    const report = breaker.health();
    if (!report.up) return { up: false, reason: endpoints.length > 1 ? `${model}: ${report.reason ?? ''}` : (report.reason ?? '') };
  }
  return { up: true };
}
