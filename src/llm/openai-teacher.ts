/**
 * The LLM stage: an OpenAI-compatible chat-completions client (OpenAI, vLLM, Ollama, llama.cpp server,
 * LiteLLM, or our replay server) that labels one text for one task.
 *
 * The openai client's own retries are disabled so that withRetry (capped, jittered, counted) is the only
 * retry loop. Logs carry status and attempts, never the API key or the prompt text.
 */
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletion, ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions';
import type { Logger } from 'pino';
import type { LlmConfig } from '../config.js';
import { ConfigError, LlmHttpError, LlmTimeoutError } from '../errors.js';
import { AnswerParser } from './answer-parser.js';
import { renderMessages } from './prompt.js';
import { withRetry } from './retry.js';
import type { LlmAnswer, Task, Teacher } from './types.js';

/** Where the endpoint is and how to call it; field names and meanings follow `config.llm`. */
export interface OpenAiTeacherOptions {
  task: Task;
  /** Base URL of the OpenAI-compatible API, e.g. `http://127.0.0.1:8088/v1`. */
  baseUrl: string;
  /** Model name sent with each request. */
  model: string;
  /** API key. Local servers need none: a placeholder is sent then. Never logged. */
  apiKey?: string | undefined;
  /** Per-attempt timeout, ms. */
  timeoutMs: number;
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
  logger?: Logger;
}

/** Sent when no key is configured, because the openai client refuses to start without one. */
const PLACEHOLDER_API_KEY = 'not-needed';

/** A Teacher backed by an OpenAI-compatible chat-completions endpoint. */
export class OpenAiTeacher implements Teacher {
  readonly model: string;
  private readonly client: OpenAI;
  private readonly task: Task;
  private readonly parser: AnswerParser;
  private readonly options: OpenAiTeacherOptions;
  private readonly log: Logger | undefined;

  /**
   * A teacher for the configured endpoint (`config.llm`).
   * @throws ConfigError when `llm.baseUrl` is unset (SPILLWAY_LLM_BASE_URL / config file / flag).
   */
  static fromConfig(task: Task, llm: Readonly<LlmConfig>, logger?: Logger): OpenAiTeacher {
    if (llm.baseUrl === undefined) {
      throw new ConfigError([{ key: 'llm.baseUrl', message: 'no LLM endpoint: set SPILLWAY_LLM_BASE_URL, llm.baseUrl in the config file, or start `spillway replay-llm`' }]);
    }
    return new OpenAiTeacher({
      task,
      baseUrl: llm.baseUrl,
      model: llm.model,
      apiKey: llm.apiKey,
      timeoutMs: llm.timeoutMs,
      maxRetries: llm.maxRetries,
      retryBaseMs: llm.retryBaseMs,
      retryMaxMs: llm.retryMaxMs,
      logprobs: llm.logprobs,
      ...(logger === undefined ? {} : { logger }),
    });
  }

  constructor(options: OpenAiTeacherOptions) {
    this.options = options;
    this.model = options.model;
    this.task = options.task;
    this.parser = new AnswerParser(options.task);
    this.log = options.logger?.child({ module: 'llm' });
    this.client = new OpenAI({
      baseURL: options.baseUrl,
      apiKey: options.apiKey !== undefined && options.apiKey !== '' ? options.apiKey : PLACEHOLDER_API_KEY,
      maxRetries: 0,
      timeout: options.timeoutMs,
    });
  }

  /**
   * Labels one text. An answer that names no label is not an error: it resolves with `labelId: null`.
   * @throws LlmHttpError (non-retriable status, e.g. 400/401/404) at once; RetriesExhaustedError wrapping
   * the last LlmHttpError/LlmTimeoutError when retriable failures outlast the retries; the abort reason
   * (or the client's abort error) when `signal` aborts.
   */
  async classify(text: string, signal?: AbortSignal): Promise<LlmAnswer> {
    const started = performance.now();
    const body: ChatCompletionCreateParamsNonStreaming = {
      model: this.model,
      messages: renderMessages(this.task, text),
      temperature: 0,
      max_tokens: this.options.maxTokens ?? 16,
      ...(this.options.logprobs === true ? { logprobs: true } : {}),
    };
    let attempts = 0;
    const completion = await withRetry(
      (attempt) => {
        attempts = attempt;
        return this.callOnce(body, signal);
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
    const choice = completion.choices[0];
    const raw = choice?.message.content ?? '';
    const firstToken = choice?.logprobs?.content?.[0];
    return {
      labelId: this.parser.parse(raw),
      raw,
      ...(firstToken === undefined ? {} : { probability: Math.exp(firstToken.logprob) }),
      model: completion.model || this.model,
      latencyMs: performance.now() - started,
      attempts,
    };
  }

  private async callOnce(body: ChatCompletionCreateParamsNonStreaming, signal: AbortSignal | undefined): Promise<ChatCompletion> {
    try {
      return await this.client.chat.completions.create(body, signal === undefined ? {} : { signal });
    } catch (err: unknown) {
      throw this.toSpillwayError(err);
    }
  }

  /** Maps the openai client's errors onto ours, so retry decisions read `retriable`, not messages. */
  private toSpillwayError(err: unknown): unknown {
    // Order matters: a timeout is a connection error, and an abort is an APIError without status.
    if (err instanceof APIUserAbortError) return err;
    if (err instanceof APIConnectionTimeoutError) return new LlmTimeoutError(this.options.timeoutMs, { cause: err });
    if (err instanceof APIConnectionError) return new LlmHttpError('cannot reach the LLM endpoint', undefined, { cause: err });
    if (err instanceof APIError) return new LlmHttpError(`LLM endpoint answered HTTP ${String(err.status)}`, err.status, { cause: err });
    return err;
  }
}
