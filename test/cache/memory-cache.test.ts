import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, encodeAnswer, entrySizeBytes } from '../../src/cache/entry.js';
import { MemoryCache } from '../../src/cache/memory-cache.js';
import { createPolicy, type CachePolicyName } from '../../src/cache/policies/index.js';
import { PriorityHeap } from '../../src/cache/priority-heap.js';
import type { CachedAnswer } from '../../src/cache/index.js';

const answer = (labelId: number): CachedAnswer => ({ labelId, model: 'gpt', costUnits: 1000, answeredAtMs: 1 });

/** A tiny seeded generator so the random sequences are reproducible. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('MemoryCache', () => {
  it('accounts each entry as key + encoded answer + overhead', () => {
    const cache = new MemoryCache({ maxBytes: 10_000, policy: createPolicy('lru') });
    cache.set('k1', answer(3));
    expect(cache.bytes).toBe(2 + encodeAnswer(answer(3)).length + ENTRY_OVERHEAD_BYTES);
    cache.set('k1', answer(12)); // replacement: charged once, at its new size
    expect(cache.bytes).toBe(entrySizeBytes('k1', encodeAnswer(answer(12))));
    cache.delete('k1');
    expect(cache.bytes).toBe(0);
  });

  it('refuses an entry larger than the whole budget', () => {
    const cache = new MemoryCache({ maxBytes: 50, policy: createPolicy('gdsf') });
    expect(cache.set('k', answer(1))).toBe(false);
    expect(cache.size).toBe(0);
  });

  for (const policy of ['lru', 'gdsf', 'lec'] as CachePolicyName[]) {
    it(`stays within its byte budget and its accounting stays exact under ${policy}`, () => {
      const size = entrySizeBytes('k000', encodeAnswer(answer(1)));
      const cache = new MemoryCache({ maxBytes: size * 20 + 7, policy: createPolicy(policy, { lecHalfLifeAccesses: 50 }) });
      const random = mulberry32(7);
      let hits = 0;
      for (let i = 0; i < 5_000; i += 1) {
        const k = `k${String(Math.floor(random() ** 2 * 200)).padStart(3, '0')}`;
        if (cache.get(k) !== undefined) hits += 1;
        else cache.set(k, answer(1), 1 + Math.floor(random() * 100));
        expect(cache.bytes).toBeLessThanOrEqual(size * 20 + 7);
      }
      expect(cache.size).toBe(20);
      expect(cache.bytes).toBe(20 * size);
      expect(hits).toBeGreaterThan(0);
    });
  }
});

describe('PriorityHeap', () => {
  it('pops in priority order (ties by key) after random inserts, updates and deletes', () => {
    const heap = new PriorityHeap();
    const model = new Map<string, number>();
    const random = mulberry32(11);
    for (let i = 0; i < 3_000; i += 1) {
      const k = `k${Math.floor(random() * 300)}`;
      if (random() < 0.2) {
        heap.delete(k);
        model.delete(k);
      } else {
        const p = Math.floor(random() * 50);
        heap.set(k, p);
        model.set(k, p);
      }
    }
    const expected = [...model.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1)).map(([k]) => k);
    const popped: string[] = [];
    for (let top = heap.pop(); top !== undefined; top = heap.pop()) popped.push(top.key);
    expect(popped).toEqual(expected);
  });
});
