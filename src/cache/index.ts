/**
 * The answer cache: exact (and optionally near-duplicate) reuse of LLM answers, in process and in Redis, with
 * cost-aware eviction (LRU, GDSF, LEC). See docs/cache.md.
 */
import type { Logger } from 'pino';
import type { CacheConfig, RedisConfig } from '../config.js';
import { MemoryCache } from './memory-cache.js';
import { NearDuplicateIndex } from './near-duplicate-index.js';
import { createPolicy } from './policies/index.js';
import { RedisCache } from './redis-cache.js';
import { TieredCache } from './tiered-cache.js';

export type { AnswerCache, CachedAnswer, CacheHit, CacheStats, CacheTier } from './types.js';
export type { CachePolicyName, EvictionPolicy } from './policies/index.js';
export { createPolicy } from './policies/index.js';
export { cacheKey, normalizeText } from './normalize.js';
export { MemoryCache } from './memory-cache.js';
export { NearDuplicateIndex } from './near-duplicate-index.js';
export { RedisCache } from './redis-cache.js';
export { TieredCache } from './tiered-cache.js';

/** The slices of the configuration the cache reads. */
export interface CreateCacheConfig {
  cache: CacheConfig;
  redis: RedisConfig;
}

/**
 * Builds the cache the configuration describes: L1 bounded by `cache.l1MaxBytes`, plus the Redis tier
 * (`cache.redisTier`, bounded by `cache.redisMaxBytes`, keys under `redis.keyPrefix`), plus the near-duplicate
 * index when `cache.nearDuplicates`. Never connects synchronously: Redis joins in the background.
 */
export function createCache(config: CreateCacheConfig, logger: Logger, options: { maxEntries?: number } = {}): TieredCache {
  const { cache } = config;
  const policy = createPolicy(cache.policy, { lecHalfLifeAccesses: cache.lecHalfLifeAccesses });
  const near = cache.nearDuplicates ? new NearDuplicateIndex(cache.nearDuplicateThreshold) : undefined;
  const l1 = new MemoryCache({
    maxBytes: cache.l1MaxBytes,
    ...(options.maxEntries === undefined ? {} : { maxEntries: options.maxEntries }),
    policy,
    historyHalfLife: cache.lecHalfLifeAccesses,
    ...(near === undefined ? {} : { onEvict: (key: string) => near.delete(key) }),
  });
  const redis = cache.redisTier
    ? new RedisCache({
        url: config.redis.url,
        keyPrefix: config.redis.keyPrefix,
        maxBytes: cache.redisMaxBytes,
        policy,
        commandTimeoutMs: cache.redisCommandTimeoutMs,
        logger,
      })
    : undefined;
  return new TieredCache({ l1, ...(redis === undefined ? {} : { redis }), ...(near === undefined ? {} : { near }) });
}
