/**
 * Helpers of the cache's Redis suites: the Redis to use (SPILLWAY_REDIS_URL, which the vitest global setup
 * points at a private redis-server when none answers; else 127.0.0.1:6379) and a key prefix per run, deleted
 * after. No suite stops or flushes this Redis: the restart suite stops a private one of its own.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

export const REDIS_URL = process.env.SPILLWAY_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A fresh prefix for one test run's keys. */
export function testPrefix(): string {
  return `spillway-test:${randomUUID()}:`;
}

/** Deletes every key under `prefix`. */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
