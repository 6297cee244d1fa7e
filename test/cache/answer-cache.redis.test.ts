import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll } from 'vitest';
import { createCache, type TieredCache } from '../../src/cache/index.js';
import { DEFAULTS } from '../../src/config.js';
import { answerCacheContract } from './answer-cache.contract.js';
import { deletePrefix, REDIS_URL, testPrefix } from './redis-helpers.js';

const prefix = testPrefix();
let run = 0;

afterAll(async () => {
  const admin = new Redis(REDIS_URL);
  await deletePrefix(admin, prefix);
  await admin.quit();
});

/** Waits (bounded) for the connection so the contract exercises the Redis tier, not only L1. */
async function connected(cache: TieredCache): Promise<TieredCache> {
  const deadline = Date.now() + 5_000;
  while (!cache.stats().redisAvailable) {
    if (Date.now() > deadline) throw new Error('redis cache did not connect');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return cache;
}

answerCacheContract('TieredCache with Redis', async () => {
  run += 1;
  const config = { cache: { ...DEFAULTS.cache, enabled: true }, redis: { url: REDIS_URL, keyPrefix: `${prefix}${run}:` } };
  return connected(createCache(config, pino({ level: 'silent' })));
});
