/**
 * The Redis tier against the real Redis at 127.0.0.1:6379: eviction order of each policy (the same as L1's),
 * the byte budget, several workers at once, and sharing through the tiered cache.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeAnswer, entrySizeBytes } from '../../src/cache/entry.js';
import { createCache, MemoryCache, RedisCache } from '../../src/cache/index.js';
import { createPolicy, type CachePolicyName } from '../../src/cache/policies/index.js';
import { DEFAULTS } from '../../src/config.js';
import { ANSWER, SEQUENCE as SHARED_SEQUENCE, type Step } from './access-sequence.js';
import { deletePrefix, REDIS_URL, testPrefix } from './redis-helpers.js';

const log = pino({ level: 'silent' });
const ENTRY_BYTES = entrySizeBytes('a'.repeat(40), encodeAnswer(ANSWER));
const prefix = testPrefix();
let admin: Redis;
const opened: RedisCache[] = [];

async function openCache(policy: CachePolicyName, maxBytes: number, lecHalfLifeAccesses = 2): Promise<RedisCache> {
  const cache = new RedisCache({
    url: REDIS_URL,
    keyPrefix: prefix,
    maxBytes,
    policy: createPolicy(policy, { lecHalfLifeAccesses }),
    logger: log,
    commandTimeoutMs: 2_000,
  });
  opened.push(cache);
  expect(await cache.waitUntilReady(5_000)).toBe(true);
  return cache;
}

/** Members of the namespace's sorted set, lowest priority first. */
async function order(cache: RedisCache): Promise<string[]> {
  return (await admin.zrange(`${cache.namespace}z`, '0', '-1')).map((k) => k.charAt(0));
}

beforeAll(async () => {
  admin = new Redis(REDIS_URL);
});

afterAll(async () => {
  await Promise.all(opened.map((c) => c.close()));
  await deletePrefix(admin, prefix);
  await admin.quit();
});

/** The in-process tier's sequence, then a second newcomer e: two evictions. */
const SEQUENCE: readonly Step[] = [...SHARED_SEQUENCE, ['set', 'e', 15]];

describe('RedisCache eviction', () => {
  for (const [policy, evictedFirst] of [
    ['lru', ['a', 'c']],
    ['gdsf', ['d', 'c']],
    ['lec', ['c', 'd']],
  ] as const) {
    it(`evicts in ${policy} order, exactly as the in-process tier does`, async () => {
      const redis = await openCache(policy, ENTRY_BYTES * 3);
      const l1 = new MemoryCache({ maxBytes: ENTRY_BYTES * 3, policy: createPolicy(policy, { lecHalfLifeAccesses: 2 }) });
      for (const step of SEQUENCE) {
        const k = step[1].repeat(40);
        if (step[0] === 'set') {
          expect(await redis.set(k, ANSWER, step[2])).toBe(true);
          l1.set(k, ANSWER, step[2]);
        } else {
          expect((await redis.get(k))?.answer).toEqual(ANSWER);
          l1.get(k);
        }
      }
      const remaining = await order(redis);
      expect(remaining).toEqual(l1.evictionOrder().map((k) => k.charAt(0)));
      expect(['a', 'b', 'c', 'd', 'e'].filter((k) => !remaining.includes(k))).toEqual([...evictedFirst].sort());
      expect(await admin.hget(`${redis.namespace}m`, 'evictions')).toBe('2');
      await deletePrefix(admin, redis.namespace);
    });
  }

  it('starts an LEC entry from the lookups it had before it was stored', async () => {
    const redis = await openCache('lec', ENTRY_BYTES * 2, 1000);
    for (const prior of [0, 3]) {
      await redis.set('a'.repeat(40), ANSWER, 10);
      await redis.set('b'.repeat(40), ANSWER, 10);
      await redis.get('a'.repeat(40));
      await redis.get('b'.repeat(40));
      await redis.set('c'.repeat(40), ANSWER, 10, prior);
      // Without history the newcomer c (1 access) loses to a and b (2 each); with 3 earlier lookups it stays.
      expect(await order(redis)).toEqual(prior === 0 ? ['a', 'b'] : ['b', 'c']);
      await deletePrefix(admin, redis.namespace);
    }
  });

  it('evicts the least recently used of entries tied in priority', async () => {
    const redis = await openCache('gdsf', ENTRY_BYTES * 3);
    for (const k of ['c', 'b', 'a']) await redis.set(k.repeat(40), ANSWER, 10);
    await redis.set('d'.repeat(40), ANSWER, 20);
    expect((await order(redis)).sort()).toEqual(['a', 'b', 'd']);
    await deletePrefix(admin, redis.namespace);
  });

  it('stays within its byte budget and misses evicted keys', async () => {
    const redis = await openCache('gdsf', ENTRY_BYTES * 10 + 5);
    for (let i = 0; i < 40; i += 1) await redis.set(String(i).padStart(40, '0'), ANSWER, 1 + i);
    expect(Number(await admin.hget(`${redis.namespace}m`, 'bytes'))).toBe(ENTRY_BYTES * 10);
    expect(await admin.zcard(`${redis.namespace}z`)).toBe(10);
    expect(await redis.get(String(0).padStart(40, '0'))).toBeUndefined();
    expect((await redis.get(String(39).padStart(40, '0')))?.costUnits).toBe(40);
    await deletePrefix(admin, redis.namespace);
  });
});

describe('when several workers share the Redis tier', () => {
  it('keeps the accounting exact under interleaved gets and sets from 4 connections', async () => {
    const budget = ENTRY_BYTES * 25;
    const workers = await Promise.all([0, 1, 2, 3].map(() => openCache('lec', budget)));
    const namespace = workers[0]?.namespace ?? '';
    await Promise.all(
      workers.map(async (worker, w) => {
        for (let i = 0; i < 300; i += 1) {
          const k = String((i * 7 + w * 13) % 60).padStart(40, 'k');
          const ops = [worker.get(k), worker.set(k, { ...ANSWER, labelId: w }, 1 + ((i + w) % 9))];
          await Promise.all(ops);
        }
      }),
    );
    const members = await admin.zrange(`${namespace}z`, '0', '-1');
    const sizes = await Promise.all(members.map((m) => admin.hget(`${namespace}e:${m}`, 's')));
    expect(sizes.every((s) => s !== null)).toBe(true);
    const total = sizes.reduce((sum, s) => sum + Number(s), 0);
    expect(Number(await admin.hget(`${namespace}m`, 'bytes'))).toBe(total);
    expect(total).toBeLessThanOrEqual(budget);
    expect(members.length).toBe(25);
    // No entry hash outside the sorted set.
    const entryKeys = await admin.keys(`${namespace}e:*`);
    expect(entryKeys.sort()).toEqual(members.map((m) => `${namespace}e:${m}`).sort());
    await deletePrefix(admin, namespace);
  });

  it('lets one worker hit what another stored, promoting it into its own L1', async () => {
    const config = { cache: { ...DEFAULTS.cache, policy: 'lru' as const }, redis: { url: REDIS_URL, keyPrefix: prefix } };
    const first = createCache(config, log);
    const second = createCache(config, log);
    try {
      const answer = { labelId: 4, model: 'gpt', costUnits: 1000, answeredAtMs: 9 };
      await pollUntil(() => first.stats().redisAvailable && second.stats().redisAvailable);
      await first.set('isear', 'gpt', 'Shared text', answer, 500);
      expect(await second.get('isear', 'gpt', 'shared  TEXT')).toEqual({ answer, tier: 'redis' });
      expect(await second.get('isear', 'gpt', 'shared text')).toEqual({ answer, tier: 'l1' });
      expect(second.stats()).toMatchObject({ hits: { l1: 1, redis: 1, near: 0 }, l1Entries: 1 });
    } finally {
      await first.close();
      await second.close();
    }
  });
});

async function pollUntil(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
