import type { EntryMeta, EvictionPolicy, PolicyClock } from './types.js';

/** Least recently used: the priority is the tick of the last access, so the oldest access goes first. The baseline. */
export const lruPolicy: EvictionPolicy = {
  name: 'lru',
  usesHistory: false,
  bump: (previous: number | undefined): number => (previous ?? 0) + 1,
  priority: (_meta: EntryMeta, state: PolicyClock): number => state.tick,
  lua: `
    freq = (prevFreq or 0) + 1
    prio = tick`,
};
