/**
 * The cascade's running totals: what the reports, the embedded mode's live line and the benchmarks read. The
 * parts count what they see (the LLM path its calls, tokens and tiers; the coordinator each annotation), into
 * one object.
 */
import { ANNOTATION_REASONS, type Annotation, type AnnotationReason, type StageName } from './types.js';

/** Running totals, for reports and the embedded mode's live line. */
export interface CascadeCounters {
  items: number;
  llmCalls: number;
  llmErrors: number;
  unparseable: number;
  cacheHits: number;
  /** Items granted an LLM call but answered by a small stage because the answer could not arrive in time. */
  deadlineMisses: number;
  /** Items answered by another item's call to the same (normalised) text. */
  sharedAnswers: number;
  /** With LLM tiers: calls made to each tier (index 0: the cheapest); empty without tiers. */
  tierCalls: number[];
  /** With LLM tiers: items asked of a stronger tier after tier 0 disagreed with the small stages (or gave no label). */
  escalations: number;
  /** With `cascade.selfTraining`: items no LLM answer reached whose small stages' answer the stages learned. */
  pseudoLabels: number;
  /** Items whose decision waited for LLM labels on their way (the learning pace; see learning-pace.ts). */
  paced: number;
  /** Items held while their stage was cold and the budget could not send them (the input behind them waited too). */
  coldHeld: number;
  /** LLM requests sent a second time because the first was slow (`llm.hedgeShare`): paid calls beyond the items'. */
  hedgedRequests: number;
  /** Tokens of the LLM answers, from the API's usage (batch usage split across the items), hedges included. */
  promptTokens: number;
  completionTokens: number;
  /** Annotations by reason. */
  reasons: Record<AnnotationReason, number>;
  answeredBy: Record<StageName, number>;
  deferredBy: Record<string, number>;
}

/** Zeroed counters for a cascade with these small stages and `tiers` LLM tiers (0 without tiers). */
export function createCounters(stageNames: readonly string[], tiers: number): CascadeCounters {
  return {
    items: 0,
    llmCalls: 0,
    llmErrors: 0,
    unparseable: 0,
    cacheHits: 0,
    deadlineMisses: 0,
    sharedAnswers: 0,
    hedgedRequests: 0,
    promptTokens: 0,
    completionTokens: 0,
    tierCalls: new Array<number>(tiers).fill(0),
    escalations: 0,
    pseudoLabels: 0,
    paced: 0,
    coldHeld: 0,
    reasons: Object.fromEntries(ANNOTATION_REASONS.map((r) => [r, 0])) as Record<AnnotationReason, number>,
    answeredBy: { lr: 0, mid: 0, llm: 0 },
    deferredBy: Object.fromEntries(stageNames.map((s) => [s, 0])),
  };
}

/** Counts one published annotation: items, its reason, who answered, which stages deferred it. */
export function countAnnotation(c: CascadeCounters, annotation: Annotation): void {
  c.items++;
  c.reasons[annotation.reason]++;
  c.answeredBy[annotation.answeredBy]++;
  for (const t of annotation.stages) if (t.deferred && t.stage !== 'llm') c.deferredBy[t.stage] = (c.deferredBy[t.stage] ?? 0) + 1;
}

/** What a run's final log line says of the LLM: items sent, requests sent twice, tokens (operators compare it with the bill). */
export function llmTotals(c: Readonly<CascadeCounters>): { items: number; hedgedRequests: number; promptTokens: number; completionTokens: number } {
  return { items: c.llmCalls, hedgedRequests: c.hedgedRequests, promptTokens: c.promptTokens, completionTokens: c.completionTokens };
}
