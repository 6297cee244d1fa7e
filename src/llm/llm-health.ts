/**
 * What an LLM failure means for the service as a whole: the endpoint is unusable (refused key, unknown model,
 * unreachable, timing out, overloaded past retries) or only this one call went wrong (a 400 on this text, an
 * oversized answer). And, for the unusable kinds, the one line that says which setting to check.
 */
import { LlmHttpError, LlmResponseTooLargeError, LlmTimeoutError, LlmUnavailableError, RetriesExhaustedError } from '../errors.js';

/** The error behind a retry wrapper. */
function root(err: unknown): unknown {
  return err instanceof RetriesExhaustedError ? err.cause : err;
}

/**
 * True when the failure says the LLM cannot be used at all right now (so `llm.onUnavailable` applies), false
 * when it is about this call only (the item is answered by the small stages, flagged `llmFailed`).
 */
export function isLlmUnavailable(err: unknown): boolean {
  const e = root(err);
  if (e instanceof LlmUnavailableError || e instanceof LlmTimeoutError) return true;
  if (e instanceof LlmResponseTooLargeError) return false;
  if (e instanceof LlmHttpError) {
    const s = e.status;
    return s === undefined || s === 401 || s === 403 || s === 404 || s === 408 || s === 429 || s >= 500;
  }
  return false;
}

/**
 * True when waiting cannot help: the key, the model or the host name is wrong (a configuration error, not an
 * outage): 401, 403, 404, or a host name that does not resolve.
 */
export function isLlmMisconfigured(err: unknown): boolean {
  const e = root(err);
  return e instanceof LlmHttpError && (e.status === 401 || e.status === 403 || e.status === 404 || e.code === 'ENOTFOUND');
}

/**
 * A 429: the endpoint is reachable and takes the key; it limits our rate (wait, or ask less often), or the
 * account's quota is used up (OpenAI's `insufficient_quota`: the key's plan).
 */
function rateLimited(e: LlmHttpError, attempts: string): LlmUnavailableError {
  if (e.code === 'insufficient_quota') {
    return new LlmUnavailableError(
      `the LLM endpoint refused: the account's quota is used up (HTTP 429 insufficient_quota${attempts}); check the plan or billing of the key in SPILLWAY_LLM_API_KEY`,
      'SPILLWAY_LLM_API_KEY',
      429,
      { cause: e },
    );
  }
  return new LlmUnavailableError(
    `the LLM endpoint is rate-limiting this client (HTTP 429${e.code === undefined ? '' : ` ${e.code}`}${attempts}): it is reachable and takes the key; wait, raise the endpoint's limit, or lower llm.maxRequestsPerMinute / llm.concurrency`,
    'llm.maxRequestsPerMinute',
    429,
    { cause: e },
  );
}

/**
 * One line naming the setting to check, as an LlmUnavailableError (never retriable):
 * 401/403 → SPILLWAY_LLM_API_KEY; 404 `model_not_found` → SPILLWAY_LLM_MODEL; 429 → llm.maxRequestsPerMinute
 * (SPILLWAY_LLM_API_KEY for a used-up quota); other 404, unreachable, timeouts, 5xx → SPILLWAY_LLM_BASE_URL.
 */
export function describeLlmFailure(err: unknown, where: { baseUrl?: string | undefined; model: string }): LlmUnavailableError {
  const e = root(err);
  if (e instanceof LlmUnavailableError) return e;
  const attempts = err instanceof RetriesExhaustedError ? ` after ${err.attempts} attempts` : '';
  if (e instanceof LlmHttpError) {
    if (e.status === 401 || e.status === 403) {
      return new LlmUnavailableError(
        `the LLM endpoint refused the API key (HTTP ${e.status}${e.code === undefined ? '' : ` ${e.code}`}); check SPILLWAY_LLM_API_KEY`,
        'SPILLWAY_LLM_API_KEY',
        e.status,
        { cause: e },
      );
    }
    if (e.status === 404 && (e.code === 'model_not_found' || e.code === undefined || /model/i.test(e.code))) {
      return new LlmUnavailableError(
        `the LLM endpoint does not know the model "${where.model}" (HTTP 404${e.code === undefined ? '' : ` ${e.code}`}); check SPILLWAY_LLM_MODEL`,
        'SPILLWAY_LLM_MODEL',
        404,
        { cause: e },
      );
    }
    if (e.status === 404) {
      return new LlmUnavailableError(
        `the LLM endpoint ${where.baseUrl ?? ''} has no chat-completions route (HTTP 404 ${e.code ?? ''}); check SPILLWAY_LLM_BASE_URL (it usually ends in /v1)`,
        'SPILLWAY_LLM_BASE_URL',
        404,
        { cause: e },
      );
    }
    if (e.status === 429) return rateLimited(e, attempts);
    if (e.status !== undefined && e.status >= 500) {
      return new LlmUnavailableError(
        `the LLM server at ${where.baseUrl ?? 'SPILLWAY_LLM_BASE_URL'} answers HTTP ${e.status}${attempts} (a server error: it is reachable but failing or overloaded); check its status, or SPILLWAY_LLM_BASE_URL if it is the wrong server`,
        'SPILLWAY_LLM_BASE_URL',
        e.status,
        { cause: e },
      );
    }
    const why = e.status === undefined ? e.message : `HTTP ${e.status}${attempts}`;
    return new LlmUnavailableError(`the LLM endpoint is unavailable (${why}); check SPILLWAY_LLM_BASE_URL`, 'SPILLWAY_LLM_BASE_URL', e.status, { cause: e });
  }
  if (e instanceof LlmTimeoutError) {
    return new LlmUnavailableError(
      `the LLM endpoint ${where.baseUrl ?? ''} did not answer within ${e.timeoutMs} ms${attempts}; check SPILLWAY_LLM_BASE_URL`,
      'SPILLWAY_LLM_BASE_URL',
      undefined,
      { cause: e },
    );
  }
  const message = e instanceof Error ? e.message : String(e);
  return new LlmUnavailableError(`the LLM endpoint failed (${message}); check SPILLWAY_LLM_BASE_URL`, 'SPILLWAY_LLM_BASE_URL', undefined, { cause: e });
}
