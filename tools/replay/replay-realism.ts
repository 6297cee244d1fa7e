/**
 * What makes the replay server behave like a real hosted LLM: lognormal latency from a p50 and a p99,
 * requests- and tokens-per-minute limits answered with HTTP 429 and Retry-After, and `usage` token counts.
 *
 * Token counts are an approximation, documented here and in docs/llm-scheduler.md: one token per 4 characters
 * (OpenAI's rule of thumb for English), rounded up, plus 4 tokens per chat message for the role and framing.
 * It needs no tokenizer and is within ~20% of tiktoken's count on English prose such as isear's.
 */

/** Tokens of a text, approximated as ceil(chars / 4). */
export function approxTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Prompt tokens of chat messages: each message's text plus 4 for its framing. */
export function approxPromptTokens(messages: readonly unknown[]): number {
  let tokens = 0;
  for (const m of messages) {
    const content = typeof m === 'object' && m !== null ? (m as { content?: unknown }).content : undefined;
    tokens += 4 + (typeof content === 'string' ? approxTokens(content) : 0);
  }
  return tokens;
}

/** A latency in ms drawn from the lognormal with the given median and 99th percentile. */
export function lognormalSampler(p50Ms: number, p99Ms: number, random: () => number): () => number {
  const mu = Math.log(p50Ms);
  // z(0.99) = 2.3263: p99 = exp(mu + 2.3263 σ).
  const sigma = p99Ms > p50Ms ? Math.log(p99Ms / p50Ms) / 2.3263 : 0;
  return () => {
    // Box–Muller from two uniforms of the seeded generator.
    const u = Math.max(1e-12, random());
    const v = random();
    const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.exp(mu + sigma * z);
  };
}

/**
 * A per-minute limit enforced like a provider: a bucket of two seconds' worth that refills continuously.
 * `admit` answers undefined (go) or the ms until the request would fit (answer 429 with that Retry-After).
 */
export class MinuteLimit {
  private level: number;
  private lastMs = performance.now();
  private readonly perMs: number;
  private readonly capacity: number;

  constructor(perMinute: number) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 30);
    this.level = this.capacity;
  }

  /** Units the bucket can hold: a request larger than this always waits for a full bucket. */
  check(units: number): number | undefined {
    const t = performance.now();
    this.level = Math.min(this.capacity, this.level + (t - this.lastMs) * this.perMs);
    this.lastMs = t;
    const need = Math.min(units, this.capacity);
    if (this.level >= need) return undefined;
    return Math.ceil((need - this.level) / this.perMs);
  }

  take(units: number): void {
    this.level -= units;
  }
}
