/**
 * Trace-driven cache simulation, beside the live runs: replays the no-cache cascade run's per-item costs
 * through each policy. A live run's cost also moves with the cascade's trajectory (which items hit changes what
 * its models learn and when its budget is spent), by a few percent; the replay holds the cascade fixed, so it
 * isolates what the eviction policy itself saves, as the simulations of Zhu et al. 2023 do.
 *
 * A hit saves the cost the cascade paid for that item in the trace; a miss pays it and, when the trace called
 * the LLM there, stores the answer with the cost the live cascade passes as `expectedCostUnits` (the LLM's).
 * Measured on the shared datasets, a per-text running mean of the cost paid instead made GDSF and LEC worse:
 * the cascade's cost per item is bimodal (small stages or LLM) and a text's mean over a few misses is noise.
 */
import { createPolicy, MemoryCache, type CachePolicyName } from '../../src/cache/index.js';

/** One item of the no-cache run. */
export interface TraceStep {
  /** Which dataset row (repeats share it). */
  row: number;
  costUnits: number;
  llmCalled: boolean;
}

export interface TraceResult {
  policy: CachePolicyName;
  cache_size: number;
  llm_calls: number;
  /** In cost units of the trace (the caller converts). */
  cost_units: number;
  cache_hits: number;
}

const ANSWER = { labelId: 0, model: 'trace', costUnits: 1, answeredAtMs: 0 };

/** Replays `trace` through a cache of `cacheSize` entries under `policy`; `llmCostUnits` is the cost stored. */
export function simulateTrace(trace: readonly TraceStep[], policy: CachePolicyName, cacheSize: number, llmCostUnits: number): TraceResult {
  const cache = new MemoryCache({ maxBytes: Number.MAX_SAFE_INTEGER, maxEntries: cacheSize, policy: createPolicy(policy) });
  let llmCalls = 0;
  let costUnits = 0;
  let hits = 0;
  for (const step of trace) {
    const key = String(step.row);
    if (cache.get(key) !== undefined) {
      hits += 1;
      continue;
    }
    costUnits += step.costUnits;
    if (step.llmCalled) {
      llmCalls += 1;
      cache.set(key, ANSWER, llmCostUnits);
    }
  }
  return { policy, cache_size: cacheSize, llm_calls: llmCalls, cost_units: costUnits, cache_hits: hits };
}
