/** The eviction policies by name. */
import { gdsfPolicy } from './gdsf.js';
import { lecPolicy } from './lec.js';
import { lruPolicy } from './lru.js';
import type { CachePolicyName, EvictionPolicy } from './types.js';

export type { CachePolicyName, EntryMeta, EvictionPolicy, PolicyClock } from './types.js';
export { DEFAULT_LEC_HALF_LIFE_ACCESSES, lecDecayedCount } from './lec.js';
export { gdsfPolicy, lecPolicy, lruPolicy };

/** The policy called `name`; `lecHalfLifeAccesses` tunes LEC's frequency decay. */
export function createPolicy(name: CachePolicyName, options: { lecHalfLifeAccesses?: number } = {}): EvictionPolicy {
  switch (name) {
    case 'lru':
      return lruPolicy;
    case 'gdsf':
      return gdsfPolicy;
    case 'lec':
      return lecPolicy(options.lecHalfLifeAccesses);
  }
}
