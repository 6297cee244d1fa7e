/**
 * What the cascade tells whoever watches it. The cascade owns this interface; the monitor implements it
 * (prom-client metrics and rolling windows) without importing the cascade, and the CLI passes one to the
 * other. The cascade holds an optional reference and calls it once per event.
 */
import type { QualityStatus } from '../quality/index.js';
import type { Annotation, StageName } from '../types.js';

export interface CascadeObserver {
  /** One item answered. */
  onAnnotation(annotation: Annotation): void;
  /** A stage's model took a training step; `version` counts its updates. */
  onModelUpdate(stage: StageName, version: number): void;
  /** The budget controller moved its threshold; `llmShare` is the share of items sent to the LLM so far. */
  onBudgetChange(threshold: number, llmShare: number): void;
  /** Optional: the quality targets' standing (certified bounds, threshold, audits), when targets are set. */
  onQualityStatus?(status: QualityStatus): void;
  /** An LLM call failed after retries (the item was answered by the last small stage). */
  onLlmError(err: unknown): void;
  /** Optional: a model-state save finished (`ok`), or failed with `err`. */
  onModelSave?(ok: boolean, err?: unknown): void;
  /** Optional: the LLM became unavailable (`up: false`) or answers again. */
  onLlmAvailability?(up: boolean): void;
  /** Optional: one LLM call finished (success or not); wall time including retries, seconds. Feeds the latency histogram. */
  onLlmLatency?(seconds: number): void;
  /** Optional: tokens one item's LLM answer cost (its share of a batch request), from the API's `usage`; `model` answered. */
  onLlmUsage?(promptTokens: number, completionTokens: number, model?: string): void;
  /** Optional, with LLM tiers (`llm.tiers`): one call was made to tier `tier` (0: the cheapest), model `model`. */
  onLlmTierCall?(tier: number, model: string): void;
  /** Optional: an item waited `seconds` at the cold gate (no budget, its stage cold) while LLM labels warmed the stage. */
  onColdHold?(seconds: number): void;
}
