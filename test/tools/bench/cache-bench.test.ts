/**
 * The cache benchmark's own machinery: Zipf streams and the accounting of the report (the cascade itself is
 * exercised by `spillway bench-cache`; here a plain function answers, to check the arithmetic exactly).
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { runCacheBench, zipfStream, type BenchRunner, type DatasetRow } from '../../../tools/bench/index.js';
import { createCache, type AnswerCache } from '../../../src/cache/index.js';
import { DEFAULTS } from '../../../src/config.js';

describe('zipfStream', () => {
  it('is reproducible from its seed and repeats more as alpha grows', () => {
    expect(zipfStream(1000, 500, 1, 7)).toEqual(zipfStream(1000, 500, 1, 7));
    expect(zipfStream(1000, 500, 1, 7)).not.toEqual(zipfStream(1000, 500, 1, 8));
    const distinct = [0.6, 0.8, 1.0, 1.2].map((alpha) => new Set(zipfStream(5000, 3000, alpha, 1)).size);
    for (let i = 1; i < distinct.length; i += 1) expect(distinct[i]).toBeLessThan(distinct[i - 1] as number);
    expect(zipfStream(50, 2000, 1, 3).every((i) => i >= 0 && i < 50)).toBe(true);
  });
});

describe('runCacheBench', () => {
  const rows: DatasetRow[] = Array.from({ length: 40 }, (_, i) => ({ id: String(i), text: `text number ${i}`, label: i % 2 }));

  /** Answers like a cascade that always calls the LLM (cost 100) unless the cache has the answer; always right. */
  function runner(cache: AnswerCache | undefined): BenchRunner {
    return {
      llmCostUnits: 100,
      async process(item) {
        const label = Number(item.text.split(' ').pop()) % 2;
        const hit = await cache?.get('t', 'm', item.text);
        if (hit !== undefined) return { labelId: hit.answer.labelId ?? -1, costUnits: 0, llmSource: 'cache-l1' };
        await cache?.set('t', 'm', item.text, { labelId: label, model: 'm', costUnits: 100, answeredAtMs: 0 });
        return { labelId: label, costUnits: 101, llmSource: 'call' };
      },
      close: async () => undefined,
    };
  }

  it('reports LLM calls, cost in LLM calls and accuracy per configuration', async () => {
    const report = await runCacheBench({
      rows,
      alphas: [1.0],
      costRatios: [10],
      cacheSizes: [1000],
      policies: ['lru', 'lec'],
      multiplexer: [false],
      items: 300,
      seed: 5,
      createRunner: async (setup) => runner(setup.cache),
      createCache: (policy, size) =>
        createCache({ cache: { ...DEFAULTS.cache, policy, redisTier: false }, redis: DEFAULTS.redis }, pino({ level: 'silent' }), { maxEntries: size }),
    });
    expect(report.llm_only_cost).toBe(300);
    expect(report.results.map((r) => r.policy)).toEqual(['none', 'lru', 'lec']);
    const [none, lru] = report.results;
    expect(none).toMatchObject({ llm_calls: 300, total_cost: 303, accuracy: 1, cache_hits: 0, cache_size: 0 });
    // A cache larger than the universe misses each distinct item once.
    expect(lru?.llm_calls).toBe(lru?.unique_items);
    expect(lru?.cache_hits).toBe(300 - (lru?.unique_items ?? 0));
    expect(lru?.total_cost).toBeCloseTo(((lru?.unique_items ?? 0) * 101) / 100, 6);
    // The replay of the no-cache run with an unbounded cache reproduces the live cached run exactly.
    const replayed = report.trace_simulation.find((r) => r.policy === 'lru');
    expect(replayed).toMatchObject({ llm_calls: lru?.llm_calls, total_cost: lru?.total_cost, cache_hits: lru?.cache_hits });
  });
});
