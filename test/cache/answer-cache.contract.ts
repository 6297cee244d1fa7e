/**
 * The AnswerCache contract, run against every implementation (style guide §6): the in-process tiered cache
 * (answer-cache.test.ts) and the tiered cache with its Redis tier (answer-cache.redis.test.ts).
 */
import { describe, expect, it } from 'vitest';
import type { AnswerCache, CachedAnswer } from '../../src/cache/index.js';

const ANSWER: CachedAnswer = { labelId: 2, model: 'gpt', costUnits: 1000, answeredAtMs: 1_700_000_000_000 };

/** Registers the contract tests; `open` returns a fresh, empty cache (closed by the test). */
export function answerCacheContract(name: string, open: () => Promise<AnswerCache>): void {
  describe(`${name} (AnswerCache contract)`, () => {
    it('misses a text it never stored', async () => {
      const cache = await open();
      expect(await cache.get('isear', 'gpt', 'never stored')).toBeUndefined();
      await cache.close();
    });

    it('returns the stored answer unchanged, for the same text normalized', async () => {
      const cache = await open();
      await cache.set('isear', 'gpt', 'I passed the exam', ANSWER, 250);
      expect((await cache.get('isear', 'gpt', 'I passed the exam'))?.answer).toEqual(ANSWER);
      expect((await cache.get('isear', 'gpt', '  i PASSED  the exam '))?.answer).toEqual(ANSWER);
      await cache.close();
    });

    it('keeps tasks and teacher models apart', async () => {
      const cache = await open();
      await cache.set('isear', 'gpt', 'shared text', ANSWER);
      expect(await cache.get('hatespeech', 'gpt', 'shared text')).toBeUndefined();
      expect(await cache.get('isear', 'llama', 'shared text')).toBeUndefined();
      await cache.close();
    });

    it('stores unparseable answers (labelId null) and replaces an answer on a second set', async () => {
      const cache = await open();
      const unparseable = { ...ANSWER, labelId: null };
      await cache.set('isear', 'gpt', 'odd text', unparseable);
      expect((await cache.get('isear', 'gpt', 'odd text'))?.answer).toEqual(unparseable);
      await cache.set('isear', 'gpt', 'odd text', ANSWER);
      expect((await cache.get('isear', 'gpt', 'odd text'))?.answer).toEqual(ANSWER);
      await cache.close();
    });

    it('reports the tier of a hit', async () => {
      const cache = await open();
      await cache.set('isear', 'gpt', 'tiered', ANSWER);
      expect((await cache.get('isear', 'gpt', 'tiered'))?.tier).toBe('l1');
      await cache.close();
    });
  });
}
