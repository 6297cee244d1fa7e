/**
 * Trace-driven cache simulation, beside the live runs: replays the no-cache cascade run's per-item costs
 * through each policy. A live run's cost also moves with the cascade's trajectory (which items hit changes what
 * its models learn and when its budget is spent), by a few percent; the replay holds the cascade fixed, so it
 * isolates what the eviction policy itself saves, as the simulations of Zhu et al. 2023 do.
 *
 * A hit saves the cost the cascade paid for that item in the trace; a miss pays it and, when the trace called
 * the LLM there, stores the answer. The cost a policy sees (`expectedCostUnits`) is the running mean of what
 * the cascade paid for that text so far: the online estimate of the cost of a miss.
 */
import { MemoryCache } from '../src/cache/index.js';
import { createPolicy, type CachePolicyName } from '../src/cache/policies/index.js';

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

/** Replays `trace` through a cache of `cacheSize` entries under `policy`. */
export function simulateTrace(trace: readonly TraceStep[], policy: CachePolicyName, cacheSize: number): TraceResult {
  const cache = new MemoryCache({ maxBytes: Number.MAX_SAFE_INTEGER, maxEntries: cacheSize, policy: createPolicy(policy) });
  const paid = new Map<number, { total: number; misses: number }>();
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
    const history = paid.get(step.row) ?? { total: 0, misses: 0 };
    history.total += step.costUnits;
    history.misses += 1;
    paid.set(step.row, history);
    if (step.llmCalled) {
      llmCalls += 1;
      cache.set(key, ANSWER, history.total / history.misses);
    }
  }
  return { policy, cache_size: cacheSize, llm_calls: llmCalls, cost_units: costUnits, cache_hits: hits };
}
