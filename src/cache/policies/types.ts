/**
 * Eviction policies: pure priority formulas shared by the in-process cache (TypeScript) and the Redis cache
 * (the same formula as a Lua snippet, so both tiers evict in the same order). The entry with the LOWEST
 * priority is evicted first.
 */

/** Names of the eviction policies (`cache.policy`). */
export type CachePolicyName = 'lru' | 'gdsf' | 'lec';

/** What a policy knows about an entry. */
export interface EntryMeta {
  /** Policy-specific frequency state (a count for GDSF, a log2 decayed count for LEC, unused by LRU). */
  frequency: number;
  /** Cost units a miss on this entry would cost (the cascade's `expectedCostUnits`), > 0. */
  costUnits: number;
  /** Accounted size of the entry, bytes, > 0. */
  sizeBytes: number;
}

/** State shared by all entries of one cache: the access counter and GDSF's clock. */
export interface PolicyClock {
  /** Accesses (gets that hit and sets) so far, starting at 1. */
  tick: number;
  /** GDSF's inflation value L: the priority of the last evicted entry (0 at start). */
  clock: number;
}

/**
 * One eviction policy. `bump` and `priority` are pure; the cache calls `bump` on every access of an entry
 * (a hit or a set), then `priority` to place it, and sets `clock` to the victim's priority after an eviction
 * (only GDSF reads it).
 */
export interface EvictionPolicy {
  readonly name: CachePolicyName;
  /** True when the policy wants `priorAccesses` (lookups of a key before it entered the cache). */
  readonly usesHistory: boolean;
  /**
   * The frequency state after one more access at `state.tick`; `previous` is undefined for a new entry, whose
   * `priorAccesses` (estimated lookups before it was stored, 0 when unknown) only history-aware policies read.
   */
  bump(previous: number | undefined, state: PolicyClock, priorAccesses?: number): number;
  /** The entry's priority after an access at `state.tick` (higher stays longer). */
  priority(meta: EntryMeta, state: PolicyClock): number;
  /**
   * The same two steps in Lua, for the Redis scripts. Reads locals `prevFreq` (number or nil), `prior`, `tick`,
   * `clock`, `cost`, `size`; assigns locals `freq` and `prio`. Parameters (LEC's half-life) are inlined.
   */
  readonly lua: string;
}
