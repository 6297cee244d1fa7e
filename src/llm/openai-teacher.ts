/**
 * The LLM stage: an OpenAI-compatible chat-completions client (OpenAI, vLLM, Ollama, llama.cpp server,
 * LiteLLM, or our replay server) that labels one text for one task.
 *
 * The openai client's own retries are disabled so that withRetry (capped, jittered, counted) is the only
 * retry loop. Requests go through guardedFetch: one deadline over headers and body, a cap on the body's size.
 * Errors are rebuilt from status and code with the endpoint's message scrubbed of secrets, never wrapping the
 * client's error (it carries headers and the raw body): logs carry status and attempts, never the API key or
 * the prompt text.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Logger } from 'pino';
import type { LlmConfig } from '../config.js';
import { ConfigError, LlmHttpError, LlmResponseTooLargeError, LlmTimeoutError, redactSecrets } from '../errors.js';
import { AnswerParser } from './answer-parser.js';
import { guardedFetch } from './guarded-fetch.js';
import { LlmBreaker } from './llm-breaker.js';
import { parseBatchAnswer } from './batch-answer-parser.js';
import { renderBatchMessages } from './batch-prompt.js';
import { renderMessages } from './prompt.js';
import { withRetry } from './retry.js';
import type { BatchAnswer, CallHooks, LlmAnswer, Task, Teacher, TokenUsage } from './types.js';

/** Where the endpoint is and how to call it; field names and meanings follow `config.llm`. */
export interface OpenAiTeacherOptions {
  task: Task;
  /** Base URL of the OpenAI-compatible API, e.g. `http://127.0.0.1:8088/v1`. */
  baseUrl: string;
  /** Model name sent with each request. */
  model: string;
  /** API key. Local servers need none: a placeholder is sent then. Never logged. */
  apiKey?: string | undefined;
  /** Deadline of one attempt, headers and body, ms. */
  timeoutMs: number;
  /** Largest response body read, bytes. @defaultValue 1 MiB */
  maxResponseBytes?: number;
  /** Retries after the first attempt, for timeouts, connection errors, 429 and 5xx. */
  maxRetries: number;
  /** First backoff delay, ms. */
  retryBaseMs: number;
  /** Cap on one backoff delay, ms. */
  retryMaxMs: number;
  /** Ask for logprobs and report the probability of the answer's first token. @defaultValue false */
  logprobs?: boolean;
  /** Completion tokens allowed; a label needs few. @defaultValue 16 */
  maxTokens?: number;
  /** Jitter source for backoff; tests seed it. @defaultValue Math.random */
  random?: () => number;
  /**
   * The endpoint's shared back-off and health (every call waits at it while the endpoint fails).
   * @defaultValue one of its own, from retryBaseMs, retryMaxMs and `stallMs`
   */
  breaker?: LlmBreaker;
  /** A call waiting this long with no answer from any call makes the endpoint "stalled", ms; 0: never. @defaultValue 0 */
  stallMs?: number;
  logger?: Logger;
}

/** Sent when no key is configured, because the openai client refuses to start without one. */
const PLACEHOLDER_API_KEY = 'not-needed';

/** A Teacher backed by an OpenAI-compatible chat-completions endpoint. */
export class OpenAiTeacher implements Teacher {
  readonly model: string;
  /** The endpoint's shared back-off and health: /healthz and spillway_llm_up read it. */
  readonly breaker: LlmBreaker;
  private readonly client: OpenAI;
  private readonly task: Task;
  private readonly parser: AnswerParser;
  private readonly options: OpenAiTeacherOptions;
  private readonly log: Logger | undefined;
  /** Ask for `response_format: json_object` in batch requests; off after the endpoint refuses it. */
  private jsonMode = true;

  /** The endpoint's base URL (`llm.baseUrl`). */
  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /**
   * A teacher for the configured endpoint (`config.llm`).
   * @throws ConfigError when `llm.baseUrl` is unset (SPILLWAY_LLM_BASE_URL / config file / flag).
   */
  static fromConfig(task: Task, llm: Readonly<LlmConfig>, logger?: Logger): OpenAiTeacher {
    if (llm.baseUrl === undefined) {
      throw new ConfigError([
        { key: 'llm.baseUrl', message: 'no LLM endpoint: set SPILLWAY_LLM_BASE_URL, llm.baseUrl in the config file, or start `spillway replay-llm`' },
      ]);
    }
    return new OpenAiTeacher({
      task,
      baseUrl: llm.baseUrl,
      model: llm.model,
      apiKey: llm.apiKey,
      timeoutMs: llm.timeoutMs,
      maxResponseBytes: llm.maxResponseBytes,
      maxRetries: llm.maxRetries,
      retryBaseMs: llm.retryBaseMs,
      retryMaxMs: llm.retryMaxMs,
      logprobs: llm.logprobs,
      stallMs: llm.stallMs,
      ...(logger === undefined ? {} : { logger }),
    });
  }

  constructor(options: OpenAiTeacherOptions) {
    this.options = options;
    this.model = options.model;
    this.task = options.task;
    this.parser = new AnswerParser(options.task);
    this.log = options.logger?.child({ module: 'llm' });
    this.breaker =
      options.breaker ??
      new LlmBreaker({
        retryBaseMs: options.retryBaseMs,
        retryMaxMs: options.retryMaxMs,
        stallMs: options.stallMs ?? 0,
        ...(options.random === undefined ? {} : { random: options.random }),
      });
    this.client = new OpenAI({
      baseURL: options.baseUrl,
      apiKey: options.apiKey !== undefined && options.apiKey !== '' ? options.apiKey : PLACEHOLDER_API_KEY,
      maxRetries: 0,
      timeout: options.timeoutMs,
      fetch: guardedFetch({ timeoutMs: options.timeoutMs, maxResponseBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES }),
    });
  }

  /**
   * Checks that the endpoint answers, accepts the key and knows the model: the models list first (no tokens
   * spent); when the list does not name the model, or the endpoint has no list, one 1-token chat call decides.
   * LlmTimeoutError, or LlmHttpError without status (unreachable). No retries: the caller decides. The list
   * answering does not close the breaker (the chat calls may still fail); its failing marks the endpoint down.
   */
  async probe(signal?: AbortSignal): Promise<void> {
    try {
      const page = await this.client.models.list(signal === undefined ? {} : { signal });
      this.breaker.recordProbe();
      if (page.data.some((m) => m.id === this.model)) return;
    } catch (err: unknown) {
      const mapped = this.toSpillwayError(err);
      // No models route (some servers): only the chat call can tell. Anything else is the answer.
      if (!(mapped instanceof LlmHttpError && (mapped.status === 404 || mapped.status === 405))) {
        if (!(signal?.aborted === true)) this.breaker.recordProbe(mapped);
        throw mapped;
      }
    }
    await this.callOnce({ model: this.model, messages: [{ role: 'user', content: 'ping' }], temperature: 0, max_tokens: 1 }, signal);
  }

  /**
   * Labels one text. An answer that names no label is not an error: it resolves with `labelId: null`.
   * @throws LlmHttpError (non-retriable status, e.g. 400/401/404) at once; RetriesExhaustedError wrapping
   * the last LlmHttpError/LlmTimeoutError when retriable failures outlast the retries; the abort reason
   * (or the client's abort error) when `signal` aborts.
   */
  async classify(text: string, signal?: AbortSignal, hooks?: CallHooks): Promise<LlmAnswer> {
    const started = performance.now();
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: this.model,
      messages: renderMessages(this.task, text),
      temperature: 0,
      max_tokens: this.options.maxTokens ?? 16,
      ...(this.options.logprobs === true ? { logprobs: true } : {}),
    };
    const { completion, attempts } = await this.complete(body, signal ?? hooks?.signal, hooks);
    const choice = completion.choices[0];
    const raw = choice?.message.content ?? '';
    const firstToken = choice?.logprobs?.content?.[0];
    const usage = usageOf(completion);
    return {
      labelId: this.parser.parse(raw),
      raw,
      ...(firstToken === undefined ? {} : { probability: Math.exp(firstToken.logprob) }),
      model: completion.model || this.model,
      latencyMs: performance.now() - started,
      attempts,
      ...(usage === undefined ? {} : { usage }),
    };
  }

  /**
   * Labels several texts in one request: a numbered list in, a JSON answer out (`response_format` json_object,
   * dropped for good after an endpoint refuses it with HTTP 400). Items the answer does not clearly cover are
   * undefined, for the caller to ask again alone. The request's usage is split evenly across the items.
   * @throws as classify().
   */
  async classifyBatch(texts: readonly string[], hooks?: CallHooks): Promise<BatchAnswer> {
    const started = performance.now();
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: this.model,
      messages: renderBatchMessages(this.task, texts),
      temperature: 0,
      // Per item: `{"id": 12, "label": "sadness"},` is about 12 tokens, plus the envelope.
      max_tokens: 16 + texts.length * (this.options.maxTokens ?? 16),
      ...(this.jsonMode ? { response_format: { type: 'json_object' as const } } : {}),
    };
    let result: { completion: ChatCompletion; attempts: number };
    try {
      result = await this.complete(body, hooks?.signal, hooks);
    } catch (err: unknown) {
      if (!(this.jsonMode && err instanceof LlmHttpError && err.status === 400)) throw err;
      this.jsonMode = false;
      this.log?.warn({ status: err.status }, 'the endpoint refused response_format json_object; batch requests go without it');
      const { response_format: _dropped, ...plain } = body;
      result = await this.complete(plain, hooks?.signal, hooks);
    }
    const { completion, attempts } = result;
    const raw = completion.choices[0]?.message.content ?? '';
    const usage = usageOf(completion);
    const share =
      usage === undefined ? undefined : { promptTokens: usage.promptTokens / texts.length, completionTokens: usage.completionTokens / texts.length };
    const latencyMs = performance.now() - started;
    const model = completion.model || this.model;
    const answers = parseBatchAnswer(raw, texts.length, this.parser).map((a): LlmAnswer | undefined =>
      a === undefined ? undefined : { labelId: a.labelId, raw: a.raw, model, latencyMs, attempts, ...(share === undefined ? {} : { usage: share }) },
    );
    return { answers, latencyMs, ...(usage === undefined ? {} : { usage }) };
  }

  /** One chat completion through the retry loop; throttling (429/503) is reported to `hooks` as it happens. */
  private async complete(
    body: ChatCompletionCreateParamsNonStreaming,
    signal: AbortSignal | undefined,
    hooks: CallHooks | undefined,
  ): Promise<{ completion: ChatCompletion; attempts: number }> {
    let attempts = 0;
    const completion = await withRetry(
      (attempt) => {
        attempts = attempt;
        return this.callOnce(body, signal, hooks);
      },
      {
        maxRetries: this.options.maxRetries,
        retryBaseMs: this.options.retryBaseMs,
        retryMaxMs: this.options.retryMaxMs,
        ...(this.options.random === undefined ? {} : { random: this.options.random }),
        ...(signal === undefined ? {} : { signal }),
        onRetry: ({ attempt, delayMs, err }) =>
          this.log?.warn({ attempt, delayMs, status: err instanceof LlmHttpError ? err.status : undefined, err }, 'LLM call failed, retrying'),
      },
    );
    return { completion, attempts };
  }

  /** One request, after the breaker lets it go (see llm-breaker.ts); its outcome moves the breaker. */
  private async callOnce(body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal | undefined, hooks?: CallHooks): Promise<ChatCompletion> {
    const permit = await this.breaker.acquire(signal);
    try {
      const completion = await this.client.chat.completions.create(body, signal === undefined ? {} : { signal });
      this.breaker.settleWith(permit, undefined, false);
      return completion;
    } catch (err: unknown) {
      const mapped = this.toSpillwayError(err);
      this.breaker.settleWith(permit, mapped, signal?.aborted === true || mapped instanceof APIUserAbortError);
      if (mapped instanceof LlmHttpError && (mapped.status === 429 || mapped.status === 503)) hooks?.onThrottle?.(mapped.status, mapped.retryAfterMs);
      throw mapped;
    }
  }

  /**
   * Maps the openai client's errors onto ours, so retry decisions read `retriable`, not messages. The client's
   * error is not kept as `cause`: it holds the response headers and body, which an endpoint may fill with the key.
   */
  private toSpillwayError(err: unknown): unknown {
    const own = guardError(err);
    if (own !== undefined) return own;
    // Order matters: a timeout is a connection error, and an abort is an APIError without status.
    if (err instanceof APIUserAbortError) return err;
    if (err instanceof APIConnectionTimeoutError) return new LlmTimeoutError(this.options.timeoutMs);
    if (err instanceof APIConnectionError) {
      const code = networkCode(err);
      return new LlmHttpError(
        `cannot reach the LLM endpoint at ${this.options.baseUrl}${code === undefined ? '' : ` (${code})`}`,
        undefined,
        code === undefined ? {} : { code },
      );
    }
    if (err instanceof APIError) {
      const code = typeof err.code === 'string' ? err.code : undefined;
      const detail = redactSecrets(endpointMessage(err), [this.options.apiKey]);
      return new LlmHttpError(
        `LLM endpoint answered HTTP ${String(err.status)}${code === undefined ? '' : ` (${code})`}${detail === '' ? '' : `: ${detail}`}`,
        err.status,
        { code, retryAfterMs: retryAfterMs(err.headers) },
      );
    }
    if (err instanceof Error && err.name === 'SyntaxError')
      return new LlmHttpError('LLM endpoint sent a body that is not JSON', undefined, { retriable: false });
    return err;
  }
}

/** Bodies larger than this are not read (`llm.maxResponseBytes`): a label needs a few hundred bytes. */
export const DEFAULT_MAX_RESPONSE_BYTES = 1_048_576;

/** The guard's own error (deadline, size cap) anywhere in a cause chain. */
function guardError(err: unknown): LlmTimeoutError | LlmResponseTooLargeError | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof LlmTimeoutError || e instanceof LlmResponseTooLargeError) return e;
  }
  return undefined;
}

/** The endpoint's own error message, bounded (it is echoed into logs). */
function endpointMessage(err: APIError): string {
  const body: unknown = err.error;
  const message = typeof body === 'object' && body !== null && 'message' in body && typeof body.message === 'string' ? body.message : '';
  return message.length > 300 ? `${message.slice(0, 300)}…` : message;
}

/** ECONNREFUSED, ENOTFOUND, …: the one word that says why a connection failed. */
function networkCode(err: Error): string | undefined {
  for (let e: unknown = err.cause, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') return code;
  }
  return undefined;
}

/** The request's token counts from the API's `usage`, when it sent them. */
function usageOf(completion: ChatCompletion): TokenUsage | undefined {
  const u = completion.usage;
  return u === undefined || u === null ? undefined : { promptTokens: u.prompt_tokens, completionTokens: u.completion_tokens };
}

/**
 * The wait an endpoint asked for, ms: `retry-after-ms` (OpenAI, Azure) or `retry-after` as seconds or an
 * HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable.
 */
export function retryAfterMs(headers: Headers | undefined, nowMs: number = Date.now()): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms != null && ms.trim() !== '' && Number.isFinite(Number(ms))) return Math.max(0, Number(ms));
  const raw = headers?.get('retry-after');
  if (raw == null || raw.trim() === '') return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}
