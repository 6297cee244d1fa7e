import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { createCache, NearDuplicateIndex, normalizeText } from '../../src/cache/index.js';
import { DEFAULTS } from '../../src/config.js';
import { jaccard, shingleHashes } from '../../src/cache/minhash.js';

const BASE = 'when my best friend told me she had been accepted to the university we both applied to last spring';

describe('NearDuplicateIndex', () => {
  it('finds a text with one word changed and not an unrelated one', () => {
    const index = new NearDuplicateIndex(0.8);
    index.add('base', index.probe('s', normalizeText(BASE)));
    index.add('other', index.probe('s', normalizeText('i was frightened walking home alone at night through the park')));
    const variant = index.probe('s', normalizeText(BASE.replace('spring', 'autumn')));
    expect(index.query(variant)?.key).toBe('base');
    expect(index.query(index.probe('s', normalizeText('i felt sad when my grandmother died last year')))).toBeUndefined();
  });

  it('does not match across scopes, and forgets deleted keys', () => {
    const index = new NearDuplicateIndex(0.8);
    index.add('base', index.probe('task-a', normalizeText(BASE)));
    expect(index.query(index.probe('task-b', normalizeText(BASE)))).toBeUndefined();
    index.delete('base');
    expect(index.query(index.probe('task-a', normalizeText(BASE)))).toBeUndefined();
    expect(index.size).toBe(0);
  });

  it('measures exact Jaccard similarity of shingle sets', () => {
    const a = shingleHashes('a b c d');
    const b = shingleHashes('a b c e');
    expect(jaccard(a, b)).toBeCloseTo(2 / 4, 10); // {ab, bc, cd} vs {ab, bc, ce}
  });
});

describe('TieredCache (L1 only)', () => {
  const config = { cache: { ...DEFAULTS.cache, redisTier: false, nearDuplicates: true, nearDuplicateThreshold: 0.8 }, redis: DEFAULTS.redis };
  const answer = { labelId: 2, model: 'gpt', costUnits: 1000, answeredAtMs: 5 };

  it('reports l1 hits for normalized-equal texts and near hits for near-identical ones', async () => {
    const cache = createCache(config, pino({ level: 'silent' }));
    await cache.set('isear', 'gpt', BASE, answer, 400);
    expect(await cache.get('isear', 'gpt', `  ${BASE.toUpperCase()} `)).toEqual({ answer, tier: 'l1' });
    expect(await cache.get('isear', 'gpt', BASE.replace('spring', 'autumn'))).toEqual({ answer, tier: 'near' });
    expect(await cache.get('isear', 'llama', BASE)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ hits: { l1: 1, near: 1, redis: 0 }, misses: 1, sets: 1, redisAvailable: false });
    await cache.close();
  });

  it('misses near-identical texts when near-duplicate reuse is off (the default)', async () => {
    const cache = createCache({ ...config, cache: { ...config.cache, nearDuplicates: false } }, pino({ level: 'silent' }));
    await cache.set('isear', 'gpt', BASE, answer);
    expect(await cache.get('isear', 'gpt', BASE.replace('spring', 'autumn'))).toBeUndefined();
    await cache.close();
  });
});
