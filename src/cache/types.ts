/** The cache's contract as the cascade uses it. Implementations: in-process (L1), Redis (L2), tiered. */

/** An LLM answer worth keeping: what it said and what it cost. */
export interface CachedAnswer {
  /** Parsed label id, or null when the answer was unparseable. */
  labelId: number | null;
  /** Model that answered. */
  model: string;
  /** Cost units the answer cost (or would cost again), for cost-aware eviction. */
  costUnits: number;
  /** When it was answered, ms since the epoch. */
  answeredAtMs: number;
}

/** Where a hit came from. */
export type CacheTier = 'l1' | 'redis' | 'near';

export interface CacheHit {
  answer: CachedAnswer;
  tier: CacheTier;
}

/** An LLM answer cache keyed by task + teacher + normalized text. Never throws for an unavailable backend: it misses. */
export interface AnswerCache {
  get(task: string, model: string, text: string): Promise<CacheHit | undefined>;
  /** Stores an answer; `expectedCostUnits` is what a miss would cost the cascade (LEC's estimate). */
  set(task: string, model: string, text: string, answer: CachedAnswer, expectedCostUnits?: number): Promise<void>;
  close(): Promise<void>;
  /** Counters for monitoring (optional: a cache may not keep any). */
  stats?(): CacheStats;
}

/** What a cache has done so far: counts since it was created, and its current occupancy. */
export interface CacheStats {
  /** Hits by tier. */
  hits: Record<CacheTier, number>;
  misses: number;
  sets: number;
  /** L1 entries, accounted bytes and evictions. */
  l1Entries: number;
  l1Bytes: number;
  l1Evictions: number;
  /** Whether the Redis tier is connected (false when there is none). */
  redisAvailable: boolean;
  /** Redis gets that became misses and sets that were dropped because Redis was down or slow. */
  redisFailedGets: number;
  redisDroppedSets: number;
  /** Times the Redis connection was lost. */
  redisOutages: number;
}
