/**
 * What the cascade tells whoever watches it. The monitor implements it with prom-client metrics and rolling
 * windows; the cascade holds an optional reference and calls it once per event.
 *
 * `ObservedAnnotation` lists only the fields the monitor reads; the cascade's Annotation satisfies it
 * structurally, so the monitor does not depend on the cascade.
 *
 * How the monitor reads an annotation: the LLM's label is the `stages[]` entry of stage 'llm' when present, else
 * `labelId` when `answeredBy` is 'llm'. An audit (`audited: true`) must therefore carry the LLM's answer that way
 * and the audited small stage's own label in its `stages[]` entry with `deferred: false`: `deferred` is what the
 * deferral policy decided, even when the item was sent on regardless (audit, exploration).
 */
export interface ObservedAnnotation {
  answeredBy: string;
  stages: ReadonlyArray<{ stage: string; labelId: number; deferred: boolean; pDefer: number }>;
  labelId: number;
  llmCalled: boolean;
  llmSource: string;
  llmUnparseable: boolean;
  /** True when the LLM call failed after retries (already reported through onLlmError). */
  llmFailed?: boolean;
  audited: boolean;
  /** Why the LLM was or was not asked (the cascade's AnnotationReason). */
  reason?: string;
  costUnits: number;
  latencyMs: number;
}

export interface CascadeObserver {
  /** One item answered. */
  onAnnotation(annotation: ObservedAnnotation): void;
  /** A stage's model (or a deferral policy) took a training step; `version` counts updates. */
  onModelUpdate(stage: string, version: number): void;
  /** The budget controller moved its threshold; `llmShare` is the share of items sent to the LLM so far. */
  onBudgetChange(threshold: number, llmShare: number): void;
  /** An LLM call failed after retries (the item was answered by the last small stage). */
  onLlmError(err: unknown): void;
  /** Optional: a model-state save finished (`ok`), or failed with `err`. */
  onModelSave?(ok: boolean, err?: unknown): void;
  /** Optional: the LLM became unavailable (`up: false`) or answers again. */
  onLlmAvailability?(up: boolean): void;
  /** Optional: one LLM call finished (success or not); wall time including retries, seconds. Feeds the latency histogram. */
  onLlmLatency?(seconds: number): void;
  /** Optional: tokens one item's LLM answer cost (its share of a batch request), from the API's `usage`. */
  onLlmUsage?(promptTokens: number, completionTokens: number): void;
}

/**
 * The LLM scheduler's events (structurally the scheduler's SchedulerObserver; the monitor does not import
 * the LLM layer). All optional.
 */
export interface LlmSchedulerEvents {
  onConcurrencyChange?(limit: number, reason: string): void;
  onThrottle?(status: number): void;
  onDeadline?(where: 'queued' | 'in-flight'): void;
  onRequest?(items: number): void;
  onQueueSize?(size: number): void;
}
