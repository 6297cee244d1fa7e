import type { EntryMeta, EvictionPolicy, PolicyClock } from './types.js';

/** Accesses after which an access counts half as much, by default. */
export const DEFAULT_LEC_HALF_LIFE_ACCESSES = 20_000;

/** log2(2^a + 2^b) without overflow. */
function log2AddExp(a: number, b: number): number {
  const hi = Math.max(a, b);
  return hi + Math.log2(1 + 2 ** (Math.min(a, b) - hi));
}

/**
 * Least Expected Cost (Zhu et al. 2023): evict the entry whose expected saving, frequency × cost of a miss, is
 * lowest. The cost is what the cascade would otherwise pay for the query (`expectedCostUnits`), not the LLM's
 * price: an item the small stages answer well is cheap to miss even if its answer came from the LLM.
 *
 * The frequency is an online, exponentially decayed access count with a half-life in accesses, so the estimate
 * follows a drifting stream. Decaying every entry at each access would be O(n); instead each access adds
 * 2^(tick / halfLife) — growing weights keep the same order as decaying counts (all entries share the factor
 * 2^(-now / halfLife)) — and we store log2 of the sum so the numbers never overflow. The priority is then
 * log2(frequency) + log2(cost): the same order as frequency × cost.
 *
 * A new entry starts from the lookups its query had before it was stored (`priorAccesses`, from the L1's
 * frequency sketch), as the paper estimates a query's frequency from the whole request stream.
 */
export function lecPolicy(halfLifeAccesses: number = DEFAULT_LEC_HALF_LIFE_ACCESSES): EvictionPolicy {
  return {
    name: 'lec',
    usesHistory: true,
    bump: (previous: number | undefined, state: PolicyClock, priorAccesses = 0): number => {
      const weight = state.tick / halfLifeAccesses;
      // A new entry starts with the lookups it had before it was stored (counted as recent: the sketch that
      // supplies them ages on its own), so a popular query is not evicted as a newcomer.
      return previous === undefined ? weight + Math.log2(1 + priorAccesses) : log2AddExp(previous, weight);
    },
    priority: (meta: EntryMeta): number => meta.frequency + Math.log2(meta.costUnits),
    lua: `
    local w = tick / ${halfLifeAccesses}
    if prevFreq then
      local hi = math.max(prevFreq, w)
      freq = hi + math.log(1 + 2 ^ (math.min(prevFreq, w) - hi)) / math.log(2)
    else
      freq = w + math.log(1 + prior) / math.log(2)
    end
    prio = freq + math.log(cost) / math.log(2)`,
  };
}

/**
 * The decayed access count an LEC frequency state stands for at `tick` (for diagnostics and tests).
 */
export function lecDecayedCount(frequency: number, tick: number, halfLifeAccesses: number = DEFAULT_LEC_HALF_LIFE_ACCESSES): number {
  return 2 ** (frequency - tick / halfLifeAccesses);
}
