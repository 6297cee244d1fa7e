/**
 * The default sentence encoder e5-small (cascade.sentenceEncoder: e5-small): the real quantised model on
 * onnxruntime-node (its files fetched from Maven Central by the global setup), and a cascade that learns on
 * its vectors, saves, and refuses to restore under another encoder.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCascade } from '../../src/cascade/create-cascade.js';
import { e5SmallDir } from '../../src/cascade/index.js';
import { loadE5Small, type E5SmallEncoder } from '../../src/cascade/onnx-encoder.js';
import { ModelStateError } from '../../src/errors.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { MODEL_CACHE_DIR } from '../helpers/test-config.js';
import { cosine, expectParaphrasesCloser, withEncoderCascade } from './encoder-helpers.js';

const dir = e5SmallDir(MODEL_CACHE_DIR);
let encoder: E5SmallEncoder;

beforeAll(async () => {
  encoder = await loadE5Small({ dir, maxBatch: 4, threads: 1 });
});

afterAll(() => {
  encoder.dispose();
});

describe('the e5-small sentence encoder', () => {
  it('gives unit 384-d vectors that put paraphrases closer than unrelated sentences', async () => {
    expect(encoder.dimensions).toBe(384);
    await expectParaphrasesCloser(encoder, 0.05);
  });

  it('gives a text nearly the same vector alone as padded in a batch with longer ones, and encodes it once', async () => {
    const before = encoder.encoded;
    const texts = ['short', 'a much longer sentence about a day at the seaside with my family', 'short', 'another one of medium length'];
    const batch = await Promise.all(texts.map((t) => encoder.embed(t)));
    expect(encoder.encoded - before).toBe(3);
    const alone = await loadE5Small({ dir, maxBatch: 1, cacheItems: 1, threads: 1 });
    try {
      const solo = await alone.embed('short');
      // Nearly the same, not bit for bit: the int8 model quantises activations per run (dynamic quantisation),
      // so a batch's range moves the rounding a little.
      expect(cosine(solo, batch[0] as Float32Array)).toBeGreaterThan(0.995);
      expect(cosine(solo, batch[1] as Float32Array)).toBeLessThan(0.95);
    } finally {
      alone.dispose();
    }
  });

  it('encodes on its own thread: the event loop keeps its turns while a long batch runs', async () => {
    const wide = await loadE5Small({ dir, maxBatch: 64, cacheItems: 1, threads: 1 });
    try {
      const texts = Array.from({ length: 64 }, (_, i) => `item ${i}: ${'a long sentence about the weather and the sea and the town '.repeat(4)}`);
      // Event-loop turns taken while the one 64-text batch is on the model: a model run on the event loop's
      // thread would take none until it ended.
      let turns = 0;
      let longestGapMs = 0;
      let last = performance.now();
      let done = false;
      const tick = (): void => {
        const now = performance.now();
        longestGapMs = Math.max(longestGapMs, now - last);
        last = now;
        turns++;
        if (!done) setImmediate(tick);
      };
      const started = performance.now();
      setImmediate(tick);
      const vectors = await Promise.all(texts.map((t) => wide.embed(t)));
      done = true;
      const tookMs = performance.now() - started;
      expect(wide.encoded).toBe(64);
      expect(vectors.every((v) => v.length === 384)).toBe(true);
      expect(turns).toBeGreaterThan(10);
      expect(longestGapMs).toBeLessThan(tookMs / 2);
    } finally {
      wide.dispose();
    }
  });

  it('refuses every batch, loudly, once its thread is gone', async () => {
    const gone = await loadE5Small({ dir, threads: 1 });
    gone.dispose();
    await expect(gone.embed('after the end')).rejects.toBeInstanceOf(ModelStateError);
    await expect(gone.embed('after the end')).rejects.toThrow(/disposed/);
  });

  it('gives an empty text a vector, and says what to run when the model files are missing', async () => {
    const v = await encoder.embed('');
    expect(v.every(Number.isFinite)).toBe(true);
    const missing = loadE5Small({ dir: join(tmpdir(), 'spillway-no-such-encoder') });
    await expect(missing).rejects.toBeInstanceOf(ModelStateError);
    await expect(missing).rejects.toThrow(/spillway encoder fetch/);
  });
});

describe('a cascade whose mid stage reads e5-small vectors (cascade.sentenceEncoder: e5-small)', () => {
  it('learns from LLM labels, saves, and refuses to restore under USE-lite', async () => {
    await withEncoderCascade('e5-small', async (base, teacher) => {
      const cascade = await createCascade({ ...base, teacher, restore: false, encoder });
      const rows = readLabelledStream(EMOTIONS).slice(0, 200);
      const annotations = await Promise.all(rows.map((r) => cascade.process({ id: r.id, text: r.text })));
      expect(annotations.filter((a) => a.llmCalled).length).toBeGreaterThan(40);
      const mid = cascade.parts.stages[1];
      expect(mid?.version).toBeGreaterThan(0);
      // The mid stage centres e5's vectors on their running mean, which is saved with the model: the
      // restored cascade answers every held-out item exactly as the one that learned.
      const held = readLabelledStream(EMOTIONS).slice(200, 230);
      const answersBefore = await Promise.all(held.map((r) => cascade.smallStageAnswers(r.text)));
      await cascade.close();
      cascade.dispose();
      const use = { ...base, config: { ...base.config, cascade: { ...base.config.cascade, sentenceEncoder: 'use-lite' as const } } };
      await expect(createCascade({ ...use, restore: true, allowNoLlm: true })).rejects.toThrow(/e5-small sentence vectors, configured use-lite/);
      const restored = await createCascade({ ...base, restore: true, encoder, allowNoLlm: true });
      expect(restored.parts.stages[1]?.version).toBe(mid?.version);
      const answersAfter = await Promise.all(held.map((r) => restored.smallStageAnswers(r.text)));
      expect(answersAfter).toEqual(answersBefore);
      restored.dispose();
    });
  });
});
