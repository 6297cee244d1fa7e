/**
 * Redis stopped and restarted mid-stream: while it is down the cache serves L1 hits, misses the rest
 * quickly without throwing and drops sets (counted); the loss and the recovery are each logged once; after the
 * restart the shared tier works again. The Redis stopped is a private redis-server this file starts on a free
 * port (it used to shut down whatever Redis ran on 6379, a user's own included).
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCache } from '../../src/cache/index.js';
import { DEFAULTS } from '../../src/config.js';
import { redisAnswers, startPrivateRedis, type PrivateRedis } from '../helpers/services.js';
import { testPrefix } from './redis-helpers.js';

const prefix = testPrefix();
let redis: PrivateRedis;

async function pollUntil(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Pino lines captured as objects. */
function capturingLogger(): { logger: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

beforeAll(async () => {
  redis = await startPrivateRedis();
});

afterAll(async () => {
  await redis.stop();
});

describe('when Redis stops and restarts mid-stream', () => {
  it('serves L1, misses fast while down, logs once each way, and shares again after the restart', async () => {
    const { logger, lines } = capturingLogger();
    const config = { cache: { ...DEFAULTS.cache, redisCommandTimeoutMs: 200 }, redis: { url: redis.url, keyPrefix: prefix } };
    const cache = createCache(config, logger);
    const peer = createCache(config, pino({ level: 'silent' }));
    const answer = { labelId: 3, model: 'gpt', costUnits: 1000, answeredAtMs: 1 };
    try {
      await pollUntil(() => cache.stats().redisAvailable && peer.stats().redisAvailable, 'both caches connected');
      await cache.set('isear', 'gpt', 'before the outage', answer, 300);
      expect(await peer.get('isear', 'gpt', 'before the outage')).toEqual({ answer, tier: 'redis' });

      await redis.stop();
      await pollUntil(() => !cache.stats().redisAvailable, 'the cache to notice the outage');

      const started = Date.now();
      for (let i = 0; i < 50; i += 1) {
        expect(await cache.get('isear', 'gpt', 'before the outage')).toEqual({ answer, tier: 'l1' });
        expect(await cache.get('isear', 'gpt', `unseen ${i}`)).toBeUndefined();
        await cache.set('isear', 'gpt', `during the outage ${i}`, answer, 300);
      }
      // 150 operations with Redis down: each must fail fast, not wait for a timeout or a reconnect.
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(await cache.get('isear', 'gpt', 'during the outage 7')).toEqual({ answer, tier: 'l1' });
      const down = cache.stats();
      expect(down.redisDroppedSets).toBe(50);
      expect(down.redisFailedGets).toBeGreaterThanOrEqual(50);
      expect(down.redisOutages).toBe(1);
    } finally {
      // Restarted on the same port, so the caches reconnect to it.
      if (!(await redisAnswers(redis.url))) redis = await startPrivateRedis(redis.port);
    }
    try {
      await pollUntil(() => cache.stats().redisAvailable && peer.stats().redisAvailable, 'the caches to reconnect');
      await cache.set('isear', 'gpt', 'after the restart', answer, 300);
      expect(await peer.get('isear', 'gpt', 'after the restart')).toEqual({ answer, tier: 'redis' });
      const warns = lines.filter((l) => l.level === 40 && l.msg.startsWith('redis cache unavailable'));
      const infos = lines.filter((l) => l.level === 30 && l.msg === 'redis cache available again');
      expect(warns).toHaveLength(1);
      expect(infos).toHaveLength(1);
    } finally {
      await cache.close();
      await peer.close();
    }
  });
});
