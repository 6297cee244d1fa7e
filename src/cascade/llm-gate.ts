/**
 * Whether the LLM can be used now, for `llm.onUnavailable: pause`. When a call fails because the LLM is
 * unusable (see isLlmUnavailable), the gate closes: LLM-bound items wait at it instead of being answered by
 * models that cannot learn, and the owner (the Kafka worker) pauses consumption. The gate probes the endpoint
 * with capped, jittered exponential backoff, never sooner than the endpoint's Retry-After.
 *
 * A probe that answers only half-opens the gate: the waiting items go and try (the endpoint's breaker lets one
 * call through at a time, llm-breaker.ts), but consumption stays paused and the back-off keeps its count, since
 * an endpoint may list its models while every chat call fails. Only an answered call opens the gate, resumes
 * consumption and resets the back-off.
 */
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import { LlmHttpError, RetriesExhaustedError } from '../errors.js';
import { backoffMs, isLlmUnavailable, type Teacher } from '../llm/index.js';

/** Longest Retry-After obeyed by the probes, ms. */
const MAX_RETRY_AFTER_MS = 300_000;

function retryAfterOf(err: unknown): number {
  const e = err instanceof RetriesExhaustedError ? err.cause : err;
  return e instanceof LlmHttpError && e.retryAfterMs !== undefined ? Math.min(MAX_RETRY_AFTER_MS, e.retryAfterMs) : 0;
}

/** Options of {@link LlmGate}. */
export interface LlmGateOptions {
  /** Checks the endpoint once (Teacher.probe, or one classify call); resolves when it answers. */
  probe(signal: AbortSignal): Promise<void>;
  logger: Logger;
  /** First wait before a probe, ms; doubles per failed probe. @defaultValue 500 */
  probeBaseMs?: number;
  /** Cap on one wait, ms. @defaultValue 30000 */
  probeMaxMs?: number;
}

/** A listener told when the LLM becomes unusable (`up: false`, with the failure) and usable again. */
export type LlmGateListener = (up: boolean, err?: unknown) => void;

/** Open while the LLM answers; closed (items wait, probes run) from a failure until a probe answers, then half-open until a call does. */
export class LlmGate {
  private readonly options: LlmGateOptions;
  private readonly log: Logger;
  private downSinceMs: number | undefined;
  /** A probe answered since the last failure: items may try; the LLM is not back until a call answers. */
  private halfOpen = false;
  /** Probes made since the last answered call: the back-off keeps growing across half-open episodes. */
  private attempts = 0;
  private failure: unknown;
  private waiting: Array<() => void> = [];
  private readonly listeners: LlmGateListener[] = [];
  private probing: AbortController | undefined;
  private closed = false;

  constructor(options: LlmGateOptions) {
    this.options = options;
    this.log = options.logger.child({ module: 'llm-gate' });
  }

  /** True unless a failure closed the gate and no call has answered since (half-open counts as down). */
  get up(): boolean {
    return this.downSinceMs === undefined;
  }

  /** True while items may go to the LLM: open, or half-open after a probe answered. */
  get passable(): boolean {
    return this.up || this.halfOpen;
  }

  /** The failure that closed the gate, while it is down. */
  get lastError(): unknown {
    return this.up ? undefined : this.failure;
  }

  /** Calls `listener` on every change (down, up). */
  onChange(listener: LlmGateListener): void {
    this.listeners.push(listener);
  }

  /** Resolves when items may go (open or half-open); rejects with the signal's reason when `signal` aborts first. */
  ready(signal?: AbortSignal): Promise<void> {
    if (this.passable || this.closed) return Promise.resolve();
    if (signal?.aborted === true) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(signal?.reason);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }

  /** A call failed because the LLM is unusable: close the gate and probe (again, with a longer back-off when half-open). */
  markDown(err: unknown): void {
    if (this.closed) return;
    this.failure = err;
    if (this.up) {
      this.downSinceMs = Date.now();
      this.log.warn({ err }, 'LLM unavailable: pausing LLM-bound items until it answers again');
      for (const listener of this.listeners) listener(false, err);
    } else if (this.halfOpen) {
      this.log.warn({ err, attempt: this.attempts }, 'LLM still failing after its probe answered; paused again');
    } else return; // already closed and probing
    this.halfOpen = false;
    void this.probeUntilUp(retryAfterOf(err));
  }

  /** A call answered: open the gate, release the waiting items, resume, and reset the back-off. */
  markUp(): void {
    this.attempts = 0;
    if (this.up) return;
    const downMs = Date.now() - (this.downSinceMs ?? Date.now());
    this.downSinceMs = undefined;
    this.halfOpen = false;
    this.failure = undefined;
    this.probing?.abort();
    this.probing = undefined;
    this.log.info({ downMs }, 'LLM answers again: resuming');
    this.release();
    for (const listener of this.listeners) listener(true);
  }

  /** A probe answered: let the waiting items try, without resuming anything yet. */
  private halfOpenAfterProbe(): void {
    if (this.up || this.closed) return;
    this.halfOpen = true;
    this.probing = undefined;
    this.log.info({ attempt: this.attempts }, 'LLM probe answered: letting waiting items try');
    this.release();
  }

  /** Stops probing and lets waiting items through (they then fail fast: the owner is shutting down). */
  close(): void {
    this.closed = true;
    this.probing?.abort();
    this.release();
  }

  private release(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }

  private async probeUntilUp(notBeforeMs: number): Promise<void> {
    this.probing?.abort();
    const controller = new AbortController();
    this.probing = controller;
    const timing = { retryBaseMs: this.options.probeBaseMs ?? 500, retryMaxMs: this.options.probeMaxMs ?? 30_000 };
    let floorMs = notBeforeMs;
    while (!controller.signal.aborted) {
      const delayMs = Math.max(backoffMs(++this.attempts, timing), floorMs);
      const waited = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), delayMs);
        controller.signal.addEventListener('abort', () => (clearTimeout(timer), resolve(false)), { once: true });
      });
      if (!waited) return;
      try {
        await this.options.probe(controller.signal);
        if (!controller.signal.aborted) this.halfOpenAfterProbe();
        return;
      } catch (err: unknown) {
        if (controller.signal.aborted) return;
        this.failure = err;
        floorMs = retryAfterOf(err);
        this.log.warn({ err, attempt: this.attempts, nextInMs: Math.max(backoffMs(this.attempts + 1, timing), floorMs) }, 'LLM probe failed; still paused');
      }
    }
  }
}

/**
 * The teacher as the scheduler sees it: every call carries `stop` beside its own signal (through a child
 * signal per call: the client leaves its listener on the signal it gets, so handing it the long-lived stop
 * signal itself would pile up one listener per call), and every outcome tells `gate` whether the LLM is usable
 * (late answers and failures included).
 */
export function watchTeacher(teacher: Teacher, gate: LlmGate | undefined, stop: AbortSignal): Teacher {
  // One short-lived listener per call in flight (removed when it settles): more than Node's default of 10 is
  // normal at llm.maxConcurrency, not a leak, so the warning would only alarm operators.
  setMaxListeners(0, stop);
  const seen = async <T>(call: Promise<T>): Promise<T> => {
    try {
      const result = await call;
      gate?.markUp();
      return result;
    } catch (err: unknown) {
      if (!stop.aborted && isLlmUnavailable(err)) gate?.markDown(err);
      throw err;
    }
  };
  /** A signal that aborts when `own` (the caller's, e.g. a hedged request's other answer came) or `stop` does. */
  const joined = <T>(own: AbortSignal | undefined, call: (signal: AbortSignal) => Promise<T>): Promise<T> => {
    const both = new AbortController();
    const onAbort = (): void => both.abort(own?.aborted === true ? own.reason : stop.reason);
    if (stop.aborted || own?.aborted === true) onAbort();
    stop.addEventListener('abort', onAbort, { once: true });
    own?.addEventListener('abort', onAbort, { once: true });
    return seen(call(both.signal)).finally(() => {
      stop.removeEventListener('abort', onAbort);
      own?.removeEventListener('abort', onAbort);
    });
  };
  const classifyBatch = teacher.classifyBatch?.bind(teacher);
  const probe = teacher.probe?.bind(teacher);
  return {
    model: teacher.model,
    classify: (text, signal, hooks) => joined(signal ?? hooks?.signal, (both) => teacher.classify(text, both, hooks)),
    ...(classifyBatch === undefined
      ? {}
      : {
          classifyBatch: (texts: readonly string[], hooks?: Parameters<typeof classifyBatch>[1]) =>
            joined(hooks?.signal, (both) => classifyBatch(texts, { ...hooks, signal: both })),
        }),
    ...(probe === undefined ? {} : { probe }),
  };
}
