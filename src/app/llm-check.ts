/**
 * The LLM check `run` and `start` make before consuming: a misconfigured endpoint (refused key, unknown model,
 * unknown host) stops the command with one line naming the setting; an endpoint that is down is waited for
 * (`llm.onUnavailable: pause`, with a back-off that doubles, jittered, and never shorter than the endpoint's
 * Retry-After), fatal (`fail`), or accepted with a warning (`fallback`).
 */
import type { LlmConfig } from '../config.js';
import { LlmHttpError, RetriesExhaustedError } from '../errors.js';
import { backoffMs, describeLlmFailure, isLlmMisconfigured, type Teacher } from '../llm/index.js';
import type { Logger } from './logger.js';

/** Longest Retry-After obeyed at start, ms; the back-off's own cap is 30 s. */
const MAX_RETRY_AFTER_MS = 300_000;

/** The wait an endpoint asked for (Retry-After of a 429/503), ms. */
function retryAfterOf(err: unknown): number {
  const e = err instanceof RetriesExhaustedError ? err.cause : err;
  return e instanceof LlmHttpError && e.retryAfterMs !== undefined ? Math.min(MAX_RETRY_AFTER_MS, e.retryAfterMs) : 0;
}

/**
 * Resolves when the teacher answers (or, with `fallback`, once the failure is logged); returns early when
 * `signal` aborts. A teacher without `probe` (the demo's simulated one) is not checked.
 * @throws LlmUnavailableError naming SPILLWAY_LLM_API_KEY, SPILLWAY_LLM_MODEL or SPILLWAY_LLM_BASE_URL.
 */
export async function checkLlm(teacher: Teacher | undefined, llm: Readonly<LlmConfig>, logger: Logger, signal: AbortSignal): Promise<void> {
  if (teacher?.probe === undefined) return;
  const where = { baseUrl: llm.baseUrl, model: llm.model };
  const timing = { retryBaseMs: 500, retryMaxMs: 30_000 };
  for (let attempt = 1; !signal.aborted; attempt++) {
    try {
      await teacher.probe(signal);
      logger.info({ baseUrl: llm.baseUrl, model: llm.model }, 'LLM endpoint answers');
      return;
    } catch (err: unknown) {
      if (signal.aborted) return;
      if (isLlmMisconfigured(err) || llm.onUnavailable === 'fail') throw describeLlmFailure(err, where);
      if (llm.onUnavailable === 'fallback') {
        logger.warn({ err: describeLlmFailure(err, where) }, 'LLM unavailable at start; the small stages answer meanwhile, flagged llmFailed');
        return;
      }
      const delayMs = Math.max(backoffMs(attempt, timing), retryAfterOf(err));
      logger.warn({ err: describeLlmFailure(err, where), attempt, nextInMs: delayMs }, 'LLM unavailable at start; waiting for it before consuming');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delayMs);
        signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  }
}
