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
  };
}

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
}

/** Anything that can label a text for a task: the OpenAI-compatible client, or a test double behind HTTP. */
export interface Teacher {
  /** Model name, part of cache keys. */
  readonly model: string;
  /** Labels one text. Rejects with a SpillwayError when the endpoint fails after retries. */
  classify(text: string, signal?: AbortSignal): Promise<LlmAnswer>;
}
