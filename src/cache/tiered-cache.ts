/**
 * The AnswerCache the cascade uses: L1 (in process) in front of L2 (Redis, shared by the workers), with an
 * optional near-duplicate lookup in L1. A Redis hit is promoted into L1; a set writes both tiers.
 */
import type { MemoryCache } from './memory-cache.js';
import type { NearDuplicateIndex } from './near-duplicate-index.js';
import { cacheKey, cacheScope, normalizeText } from './normalize.js';
import type { RedisCache } from './redis-cache.js';
import type { AnswerCache, CachedAnswer, CacheHit, CacheStats, CacheTier } from './types.js';

export interface TieredCacheOptions {
  l1: MemoryCache;
  /** The shared tier; absent: L1 only. */
  redis?: RedisCache;
  /** Near-duplicate index over L1's keys; absent: exact hits only. Evictions from L1 must be forwarded to it. */
  near?: NearDuplicateIndex;
}

export class TieredCache implements AnswerCache {
  private readonly hits: Record<CacheTier, number> = { l1: 0, redis: 0, near: 0 };
  private misses = 0;
  private sets = 0;

  constructor(private readonly options: TieredCacheOptions) {}

  async get(task: string, model: string, text: string): Promise<CacheHit | undefined> {
    const key = cacheKey(task, model, text);
    const local = this.options.l1.get(key);
    if (local !== undefined) return this.hit('l1', local.answer);
    const shared = await this.options.redis?.get(key);
    if (shared !== undefined) {
      this.options.l1.set(key, shared.answer, shared.costUnits);
      this.indexNear(key, task, model, text);
      return this.hit('redis', shared.answer);
    }
    const near = this.options.near;
    if (near !== undefined) {
      const match = near.query(near.probe(cacheScope(task, model), normalizeText(text)), key);
      const entry = match === undefined ? undefined : this.options.l1.get(match.key);
      if (entry !== undefined) return this.hit('near', entry.answer);
    }
    this.misses += 1;
    return undefined;
  }

  async set(task: string, model: string, text: string, answer: CachedAnswer, expectedCostUnits?: number): Promise<void> {
    const key = cacheKey(task, model, text);
    const cost = expectedCostUnits ?? answer.costUnits;
    this.sets += 1;
    const prior = this.options.l1.priorAccesses(key);
    if (this.options.l1.set(key, answer, cost)) this.indexNear(key, task, model, text);
    await this.options.redis?.set(key, answer, cost, prior);
  }

  stats(): CacheStats {
    const redis = this.options.redis?.stats();
    const l1 = this.options.l1;
    return {
      hits: { ...this.hits },
      misses: this.misses,
      sets: this.sets,
      l1Entries: l1.size,
      l1Bytes: l1.bytes,
      l1Evictions: l1.evictions,
      redisAvailable: redis?.available ?? false,
      redisFailedGets: redis?.failedGets ?? 0,
      redisDroppedSets: redis?.droppedSets ?? 0,
      redisOutages: redis?.outages ?? 0,
    };
  }

  async close(): Promise<void> {
    await this.options.redis?.close();
  }

  private hit(tier: CacheTier, answer: CachedAnswer): CacheHit {
    this.hits[tier] += 1;
    return { answer, tier };
  }

  private indexNear(key: string, task: string, model: string, text: string): void {
    const near = this.options.near;
    // The entry may have been refused or evicted at once (GDSF admission); index only what L1 holds.
    if (near !== undefined && this.options.l1.has(key)) near.add(key, near.probe(cacheScope(task, model), normalizeText(text)));
  }
}
