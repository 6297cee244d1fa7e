/**
 * Retry with capped, jittered exponential backoff (STYLE §3; after kafkajs `src/retry/index.js`).
 * Only errors that say they are retriable (SpillwayError.retriable) are retried; anything else — a
 * TypeError, a 400 — is rethrown at once, unchanged. When retries run out the last error is wrapped
 * in RetriesExhaustedError with the number of attempts made. An LlmHttpError carrying `retryAfterMs`
 * (the endpoint's Retry-After) waits at least that long before the next attempt.
 */
import { LlmHttpError, RetriesExhaustedError, SpillwayError } from '../errors.js';

/** Longest Retry-After obeyed, ms; a longer one is capped (the item's deadline will have passed anyway). */
const MAX_RETRY_AFTER_MS = 60_000;

/** How many times to retry and how long to wait between attempts. */
export interface RetryOptions {
  /** Attempts after the first. */
  maxRetries: number;
  /** Delay before the first retry, ms; doubles per retry. */
  retryBaseMs: number;
  /** Cap on one delay, ms. */
  retryMaxMs: number;
  /** Source of jitter in [0, 1); Math.random unless a test seeds it. */
  random?: () => number;
  /** Aborts the waiting between attempts; the abort reason is thrown. */
  signal?: AbortSignal;
  /** Called before each retry, e.g. to log it; `attempt` is the attempt that failed (1-based). */
  onRetry?: (info: { attempt: number; delayMs: number; err: unknown }) => void;
}

/** True when an error may go away if the operation is tried again. */
export function isRetriable(err: unknown): boolean {
  return err instanceof SpillwayError && err.retriable;
}

/**
 * The backoff before retry number `retry` (1-based): base·2^(retry-1), capped, then jittered into
 * [½, 1] of that so that concurrent callers that failed together do not retry together.
 */
export function backoffMs(retry: number, options: Pick<RetryOptions, 'retryBaseMs' | 'retryMaxMs' | 'random'>): number {
  const exp = Math.min(options.retryMaxMs, options.retryBaseMs * 2 ** Math.min(retry - 1, 30));
  const random = options.random ?? Math.random;
  return Math.round(exp * (0.5 + 0.5 * random()));
}

/**
 * Runs `fn` until it succeeds, a non-retriable error occurs, or `maxRetries` retries have failed.
 * `fn` receives the 1-based attempt number.
 * @throws the non-retriable error as is, or RetriesExhaustedError{attempts, cause: last error}.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err: unknown) {
      if (!isRetriable(err)) throw err;
      if (attempt > options.maxRetries) throw new RetriesExhaustedError(attempt, err);
      // An endpoint that said when to come back (Retry-After on 429/503) is obeyed, up to a minute.
      const retryAfterMs = err instanceof LlmHttpError ? err.retryAfterMs : undefined;
      const delayMs = Math.max(backoffMs(attempt, options), Math.min(MAX_RETRY_AFTER_MS, retryAfterMs ?? 0));
      options.onRetry?.({ attempt, delayMs, err });
      await sleep(delayMs, options.signal);
    }
  }
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (signal?.aborted === true) return Promise.reject(signal.reason);
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
