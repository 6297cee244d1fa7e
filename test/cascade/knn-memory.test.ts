import { describe, expect, it } from 'vitest';
import { readLabelledStream, sampleStream } from '../../tools/bench/index.js';
import { Featurizer } from '../../src/cascade/featurizer.js';
import { KnnMemory } from '../../src/cascade/knn-memory.js';
import { LogisticRegressor } from '../../src/cascade/logistic-regressor.js';
import { MidModel } from '../../src/cascade/mid-model.js';
import { argmax, LrStage, MidStage, type ItemContext } from '../../src/cascade/stages.js';
import { selectBackend } from '../../src/cascade/tf-backend.js';
import { loadWordVectors } from '../../src/cascade/word-vectors.js';
import { ISEAR } from '../helpers/paths.js';

const TEACHER = 'gpt-3.5-turbo-1106';

describe('KnnMemory', () => {
  it('votes for the label of the nearest remembered vectors, by centred cosine', () => {
    const memory = new KnnMemory({ dim: 3, classes: 2, capacity: 8, neighbours: 2, seed: 1 });
    // Every vector shares a large common component (as SIF means do); only the centred part tells them apart.
    memory.add(Float32Array.from([10, 1, 0]), 0);
    memory.add(Float32Array.from([10, 1.1, 0.1]), 0);
    memory.add(Float32Array.from([10, 0, 1]), 1);
    memory.add(Float32Array.from([10, 0.1, 1.1]), 1);
    const out = new Float32Array(2);
    expect(memory.vote(Float32Array.from([10, 0.05, 1.2]), out)).toBe(true);
    expect(out[1]).toBeGreaterThan(0.95);
    expect(memory.vote(Float32Array.from([10, 1.2, 0.05]), out)).toBe(true);
    expect(out[0]).toBeGreaterThan(0.95);
  });

  it('keeps a uniform sample past capacity and restores to identical votes', () => {
    const memory = new KnnMemory({ dim: 4, classes: 3, capacity: 50, neighbours: 5, seed: 7 });
    let s = 1;
    const rand = (): number => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    for (let i = 0; i < 500; i++) memory.add(Float32Array.from([rand(), rand(), rand(), rand()]), i % 3);
    expect(memory.size).toBe(50);
    expect(memory.seen).toBe(500);
    const copy = new KnnMemory({ dim: 4, classes: 3, capacity: 50, neighbours: 5, seed: 0 }, memory.state());
    for (let i = 0; i < 20; i++) {
      const q = Float32Array.from([rand(), rand(), rand(), rand()]);
      const a = new Float32Array(3);
      const b = new Float32Array(3);
      memory.vote(q, a);
      copy.vote(q, b);
      expect(Array.from(b)).toEqual(Array.from(a));
    }
  });

  it("raises the mid stage's agreement with the LLM on held-out isear items", async () => {
    await selectBackend('auto');
    const vectors = loadWordVectors();
    expect(vectors).toBeDefined();
    const rows = readLabelledStream(ISEAR).filter((r) => (r.llm[TEACHER] ?? -1) >= 0);
    const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 5000 });
    let gain = 0;
    for (const seed of [1, 2]) {
      const sample = sampleStream(rows, 0.999, seed);
      const lr = new LrStage(new LogisticRegressor({ dim: 2 ** 18, classes: 7, learningRate: 0.3 }));
      const memory = new KnnMemory({ dim: 100, classes: 7, capacity: 2048, neighbours: 30, seed });
      const mid = new MidStage(new MidModel({ classes: 7, vectors, seed }), 10, { memory, weight: 1 });
      const ctxOf = (text: string): ItemContext => {
        const ctx: ItemContext = { features: featurizer.featurize(text), probs: [] };
        ctx.probs.push(lr.run(ctx));
        return ctx;
      };
      for (const r of sample.slice(0, 600)) {
        const ctx = ctxOf(r.text);
        mid.learn(ctx, r.llm[TEACHER] as number);
        lr.learn(ctx, r.llm[TEACHER] as number);
      }
      expect(memory.size).toBe(600);
      let alone = 0;
      let blended = 0;
      const test = sample.slice(600, 2100);
      for (const r of test) {
        const ctx = ctxOf(r.text);
        const p = mid.run(ctx); // the blend
        if (argmax(p) === r.llm[TEACHER]) blended++;
        if (argmax(mid.model.predict(ctx.midInput as NonNullable<ItemContext['midInput']>)) === r.llm[TEACHER]) alone++;
      }
      gain += (blended - alone) / test.length / 2;
    }
    // Measured +2.0 points (mean of the two draws); the bar is half of it.
    expect(gain).toBeGreaterThan(0.01);
  }, 120_000);
});
