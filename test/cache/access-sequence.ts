/**
 * The access sequence the eviction tests of both tiers replay (in-process: policies.test.ts; Redis:
 * redis-cache.redis.test.ts), so that both check one expected order.
 */
import type { CachedAnswer } from '../../src/cache/index.js';

/** The answer every entry holds: all entries have the same accounted size, so GDSF's cost/size is cost-driven. */
export const ANSWER: CachedAnswer = { labelId: 1, model: 'm', costUnits: 100, answeredAtMs: 0 };

/** `set` a key with a miss cost, or `get` it. */
export type Step = ['set', string, number] | ['get', string];

/** a is expensive to miss but touched once, early; b is cheap and hot; c is cheap and warm; d is a cheap newcomer. */
export const SEQUENCE: readonly Step[] = [
  ['set', 'a', 1000],
  ['set', 'b', 10],
  ['set', 'c', 10],
  ['get', 'b'],
  ['get', 'c'],
  ['get', 'b'],
  ['set', 'd', 10],
];
