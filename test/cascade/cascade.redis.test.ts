/**
 * The cascade's Redis-learned branch, on the real Redis: an answer another worker paid for (a hit
 * in the shared tier) teaches this worker's stages once, and later hits of the same text, now in L1, teach
 * nothing more. The teacher is the scripted one (the replay LLM server over HTTP).
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createCache, type TieredCache } from '../../src/cache/index.js';
import type { Cascade } from '../../src/cascade/index.js';
import { DEFAULTS } from '../../src/config.js';
import { deletePrefix, REDIS_URL, testPrefix } from '../cache/redis-helpers.js';
import { useScriptedCascades } from './scripted-teacher.js';
import { testConfig } from '../helpers/test-config.js';

const logger = pino({ level: 'silent' });
const prefix = testPrefix();
const cascades = useScriptedCascades(200);
const caches: TieredCache[] = [];

afterAll(async () => {
  for (const cache of caches) await cache.close();
  const admin = new Redis(REDIS_URL);
  await deletePrefix(admin, prefix);
  await admin.quit();
});

/** One worker: its own L1, the shared Redis tier under this run's prefix, a fresh cascade. */
async function worker(warmupItems: number): Promise<{ cascade: Cascade; cache: TieredCache }> {
  const cache = createCache({ cache: { ...DEFAULTS.cache, enabled: true }, redis: { url: REDIS_URL, keyPrefix: prefix } }, logger);
  caches.push(cache);
  const deadline = Date.now() + 5_000;
  while (!cache.stats().redisAvailable) {
    if (Date.now() > deadline) throw new Error('the Redis tier did not connect');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const config = testConfig({ cascade: { stages: ['lr'], pretrainedVectors: false, explorationRate: 0, featureDim: 2 ** 14, warmupItems } });
  const cascade = await cascades.build(config.cascade, { concurrency: 4, costUnits: 1000, cache });
  return { cascade, cache };
}

describe('when another worker already paid for an answer', () => {
  it('learns from the shared (Redis) hit once, with no LLM call, then answers repeats from L1 without learning again', async () => {
    const items = cascades.teacher().items(0, 5);
    const a = await worker(10);
    const paid = [];
    for (const item of items) paid.push(await a.cascade.process(item));
    expect(paid.every((x) => x.llmCalled && x.llmSource === 'call')).toBe(true);
    const calls = cascades.teacher().server.stats().answered;

    const b = await worker(10);
    const first = [];
    for (const item of items) first.push(await b.cascade.process(item));
    // Redis tier: the label is the teacher's, the LR ran and learned from it (one step per item), nothing was asked.
    expect(first.map((x) => x.llmSource)).toEqual(items.map(() => 'cache-redis'));
    expect(first.map((x) => x.labelId)).toEqual(items.map((i) => i.label));
    expect(first.every((x) => x.reason === 'cache' && !x.llmCalled && x.answeredBy === 'llm' && x.costUnits === 1)).toBe(true);
    expect(first.map((x) => x.modelVersions.lr)).toEqual(items.map((_, k) => k + 1));
    expect(first.every((x) => x.stages.map((s) => s.stage).join() === 'lr,llm')).toBe(true);

    const again = [];
    for (const item of items) again.push(await b.cascade.process(item));
    // L1 now: same answers, no stage run, no learning, no cost.
    expect(again.map((x) => x.llmSource)).toEqual(items.map(() => 'cache-l1'));
    expect(again.map((x) => x.labelId)).toEqual(items.map((i) => i.label));
    expect(again.every((x) => x.modelVersions.lr === items.length && x.costUnits === 0 && x.stages.length === 1)).toBe(true);

    expect(cascades.teacher().server.stats().answered).toBe(calls);
    expect(b.cascade.counters.llmCalls).toBe(0);
    expect(b.cascade.counters.cacheHits).toBe(2 * items.length);
    // Hits leave the budget's reckoning: the worker's warm-up is still ahead of it.
    expect(b.cascade.budgetStatus.items).toBe(0);
    await a.cascade.drain();
    await b.cascade.drain();
  });
});
