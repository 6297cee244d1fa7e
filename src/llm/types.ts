/** The LLM stage's contract: a teacher that labels one text for one task. */

/** A classification task: label names, optional positive label, and the prompt template. */
export interface Task {
  name: string;
  description?: string;
  /** Label names; a label id is an index into this list. */
  labels: readonly string[];
  /** The positive class's id for binary tasks (reports recall/precision for it). */
  positiveLabel?: number;
  prompt: {
    system: string;
    /** User message template; `{text}` is replaced by the item's text. */
    user: string;
    /** Batch user template (task file `prompt.batch_user`); `{items}` becomes the numbered list. Default: batch-prompt.ts. */
    batchUser?: string;
    /** Batch system prompt (task file `prompt.batch_system`). @defaultValue `system` */
    batchSystem?: string;
  };
  /** What quality means for this task (task file `objective`, see objective.ts). @defaultValue accuracy */
  objective?: Objective;
}

/**
 * A task's quality objective: plain accuracy, macro F1, or one label's recall with a floor (0..1) to reach
 * at the best accuracy that allows. Training and deferral become cost-sensitive for the latter two.
 */
export type Objective = { kind: 'accuracy' } | { kind: 'macro_f1' } | { kind: 'recall'; label: number; floor: number };

/** What the LLM answered for one text. */
export interface LlmAnswer {
  /** Label id parsed from the answer, or null when the answer names no label (unparseable). */
  labelId: number | null;
  /** The raw answer text, for audit logs (never the prompt). */
  raw: string;
  /** Probability of the answer from logprobs, when requested and returned. */
  probability?: number;
  /** Model that answered. */
  model: string;
  /** Wall time of the call including retries, ms. */
  latencyMs: number;
  /** Attempts it took (1 when the first succeeded). */
  attempts: number;
  /** Tokens this answer cost, from the API's `usage` (a batch request's usage split across its items). */
  usage?: TokenUsage;
}

/** Tokens of one request (or one item's share of a batch request), as the API's `usage` reports them. */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
}

/** Per-call options: cancellation, and a hook the scheduler uses to hear about throttling. */
export interface CallHooks {
  signal?: AbortSignal;
  /** The endpoint answered 429/503; `retryAfterMs` from its Retry-After header when it sent one. */
  onThrottle?: (status: number, retryAfterMs: number | undefined) => void;
}

/** What the LLM answered for a batch of texts, in the texts' order. */
export interface BatchAnswer {
  /** One entry per text: its answer, or undefined when the batch answer did not cover it (re-ask it alone). */
  answers: Array<LlmAnswer | undefined>;
  /** The whole request's usage. */
  usage?: TokenUsage;
  latencyMs: number;
}

/** Anything that can label a text for a task: the OpenAI-compatible client, or a test double behind HTTP. */
export interface Teacher {
  /** Model name, part of cache keys. */
  readonly model: string;
  /** Where it is asked (an OpenAI-compatible base URL), when it is an endpoint: named in failure messages. */
  readonly baseUrl?: string;
  /** Labels one text. Rejects with a SpillwayError when the endpoint fails after retries. */
  classify(text: string, signal?: AbortSignal, hooks?: CallHooks): Promise<LlmAnswer>;
  /**
   * Labels several texts in one request (optional: teachers without it are asked one text at a time).
   * Never mislabels: an item the answer does not clearly cover comes back undefined.
   */
  classifyBatch?(texts: readonly string[], hooks?: CallHooks): Promise<BatchAnswer>;
  /**
   * Optional: checks that the endpoint is reachable, accepts the key and knows the model, without retries.
   * Used before consuming and, while paused, to learn when the LLM is back. Rejects with the typed error.
   */
  probe?(signal?: AbortSignal): Promise<void>;
}
