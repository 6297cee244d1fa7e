import type { EntryMeta, EvictionPolicy, PolicyClock } from './types.js';

/**
 * Greedy-Dual-Size-Frequency (Cherkasova 1998; the cost-aware baseline of Zhu et al. 2023, "On Optimal Caching
 * and Model Multiplexing for Large Model Inference"): priority = L + frequency × cost / size, where the clock L
 * is the priority of the last evicted entry. L rises as the cache churns, so entries not touched for a while
 * fall below newcomers: aging without per-entry decay.
 */
export const gdsfPolicy: EvictionPolicy = {
  name: 'gdsf',
  usesHistory: false,
  bump: (previous: number | undefined): number => (previous ?? 0) + 1,
  priority: (meta: EntryMeta, state: PolicyClock): number => state.clock + (meta.frequency * meta.costUnits) / meta.sizeBytes,
  lua: `
    freq = (prevFreq or 0) + 1
    prio = clock + freq * cost / size`,
};
