import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCascade } from '../../src/cascade/create-cascade.js';
import { loadUseLite, type UseLiteEncoder } from '../../src/cascade/sentence-encoder.js';
import { selectBackend } from '../../src/cascade/tf-backend.js';
import { ModelStateError } from '../../src/errors.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { expectParaphrasesCloser, TEACHER, withEncoderCascade } from './encoder-helpers.js';

let encoder: UseLiteEncoder;

beforeAll(async () => {
  await selectBackend('auto');
  encoder = await loadUseLite({ maxBatch: 4 });
});

afterAll(() => {
  encoder.dispose();
});

describe('the USE-lite sentence encoder', () => {
  it('gives unit 512-d vectors that put paraphrases closer than unrelated sentences', async () => {
    expect(encoder.dimensions).toBe(512);
    await expectParaphrasesCloser(encoder, 0.2);
  });

  it('encodes a text once: concurrent and repeated requests share the run and the cache', async () => {
    const before = encoder.encoded;
    const texts = ['a dog barked all night', 'my sister lost her keys', 'a dog barked all night', 'it rained on the wedding day', 'my sister lost her keys'];
    const first = await Promise.all(texts.map((t) => encoder.embed(t)));
    expect(encoder.encoded - before).toBe(3);
    expect(first[0]).toBe(first[2]); // the in-flight request was shared
    const again = await encoder.embed('my sister lost her keys');
    expect(again).toBe(first[1]);
    expect(encoder.encoded - before).toBe(3);
    // Batching changes nothing: a text alone gives the vector it gave in a batch of four.
    const alone = await loadUseLite({ maxBatch: 1, cacheItems: 1 });
    try {
      const solo = await alone.embed('it rained on the wedding day');
      for (let j = 0; j < 512; j++) expect(solo[j]).toBeCloseTo(first[3]?.[j] as number, 4);
    } finally {
      alone.dispose();
    }
  });

  it('lets I/O run between batches: a backlog of encodes does not starve LLM answers', async () => {
    const before = encoder.encoded;
    const texts = Array.from({ length: 24 }, (_, i) => `backlog item number ${i} about a long day`);
    const all = Promise.all(texts.map((t) => encoder.embed(t)));
    // A timer stands for an LLM answer arriving on a socket: it must fire while the queue is still draining.
    const encodedWhenTimerFired = await new Promise<number>((resolve) => setTimeout(() => resolve(encoder.encoded - before), 0));
    await all;
    expect(encoder.encoded - before).toBe(24);
    expect(encodedWhenTimerFired).toBeLessThan(24);
  });

  it('gives an empty text a vector instead of failing', async () => {
    const v = await encoder.embed('');
    expect(v).toHaveLength(512);
    expect(v.every(Number.isFinite)).toBe(true);
  });
});

describe('a cascade whose mid stage reads USE-lite vectors (cascade.sentenceEncoder: use-lite)', () => {
  it('learns from LLM labels and from the label topic, saves, and refuses to restore under GloVe', async () => {
    await withEncoderCascade('use-lite', async (base, teacher) => {
      const cascade = await createCascade({ ...base, teacher, restore: false, encoder });
      const rows = readLabelledStream(EMOTIONS).slice(0, 240);
      const annotations = await Promise.all(rows.slice(0, 200).map((r) => cascade.process({ id: r.id, text: r.text })));
      expect(annotations.filter((a) => a.llmCalled).length).toBeGreaterThan(40);
      const mid = cascade.parts.stages[1];
      expect(mid?.name).toBe('mid');
      const version = mid?.version as number;
      expect(version).toBeGreaterThan(0); // the network trained on 512-d sentence vectors plus its bag
      // A label read back from the label topic needs the sentence vector too.
      for (const r of rows.slice(200)) await cascade.learnFromLabel(r.text, r.llm[TEACHER] as number);
      expect(cascade.labelsLearned).toBe(40);
      expect(mid?.version).toBeGreaterThan(version);
      await cascade.close();
      cascade.dispose();
      // The saved state names its encoder: GloVe vectors cannot be fed to a network trained on USE's.
      const glove = { ...base, config: { ...base.config, cascade: { ...base.config.cascade, sentenceEncoder: 'glove' as const } } };
      const refused = createCascade({ ...glove, restore: true, allowNoLlm: true });
      await expect(refused).rejects.toBeInstanceOf(ModelStateError);
      await expect(refused).rejects.toThrow(/use-lite sentence vectors, configured glove/);
      const restored = await createCascade({ ...base, restore: true, encoder, allowNoLlm: true });
      expect(restored.parts.stages[1]?.version).toBe(mid?.version);
      restored.dispose();
    });
  });
});
