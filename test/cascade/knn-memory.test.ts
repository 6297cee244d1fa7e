import { describe, expect, it } from 'vitest';
import { readLabelledStream, sampleStream } from '../../tools/bench/index.js';
import { Featurizer } from '../../src/cascade/featurizer.js';
import { KnnMemory } from '../../src/cascade/knn-memory.js';
import { LogisticRegressor } from '../../src/cascade/logistic-regressor.js';
import { MidModel } from '../../src/cascade/mid-model.js';
import { argmax, LrStage, MidStage, type ItemContext } from '../../src/cascade/stages.js';
import { selectBackend } from '../../src/cascade/tf-backend.js';
import { loadWordVectors } from '../../src/cascade/word-vectors.js';
import { EMOTIONS } from '../helpers/paths.js';

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

  describe.each(['loop', 'simd'] as const)('searching by %s, against a straightforward search (centred cosine of every row, sorted)', (search) => {
    // The memory's rows and the mean it centres on, as saved; the reference recomputes every cosine in doubles.
    function reference(memory: KnnMemory, query: Float32Array): { rows: number[]; sims: number[] } {
      const { vectors, mean } = memory.state();
      const d = memory.dim;
      const centred = (v: ArrayLike<number>, at: number): number[] => Array.from({ length: d }, (_, j) => (v[at + j] as number) - (mean[j] as number));
      const q = centred(query, 0);
      const qNorm = Math.hypot(...q);
      const scored = Array.from({ length: memory.size }, (_, i) => {
        const x = centred(vectors, i * d);
        const xNorm = Math.hypot(...x);
        const dot = x.reduce((s, xj, j) => s + xj * (q[j] as number), 0);
        return { row: i, sim: xNorm === 0 ? 0 : dot / (xNorm * qNorm) };
      });
      scored.sort((a, b) => b.sim - a.sim || a.row - b.row);
      const top = scored.slice(0, memory.neighbours);
      return { rows: top.map((t) => t.row), sims: top.map((t) => t.sim) };
    }

    // SIF-like data: a large shared component plus noise, past capacity (so rows are replaced) and not a
    // multiple of the search's four-row blocks.
    function randomMemory(capacity: number, dim: number, added: number, seed: number): { memory: KnnMemory; draw: () => Float32Array } {
      let s = seed;
      const uniform = (): number => (s = (s * 16807) % 2147483647) / 2147483647;
      const gauss = (): number => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
      const common = Float32Array.from({ length: dim }, () => 3 * gauss());
      const draw = (): Float32Array => Float32Array.from(common, (c) => c + gauss());
      const memory = new KnnMemory({ dim, classes: 7, capacity, neighbours: 30, seed, search });
      for (let i = 0; i < added; i++) memory.add(draw(), i % 7);
      return { memory, draw };
    }

    it('finds the same neighbours, in the same order, with the same cosines', () => {
      const { memory, draw } = randomMemory(2047, 100, 3000, 11);
      expect(memory.size).toBe(2047);
      const rows = new Int32Array(30);
      const sims = new Float64Array(30);
      for (let t = 0; t < 60; t++) {
        // Rows added between queries (new and replaced ones, short of a refresh) are searched too.
        if (t % 20 === 19) for (let i = 0; i < 25; i++) memory.add(draw(), i % 7);
        const query = draw();
        expect(memory.neighboursOf(query, rows, sims)).toBe(30);
        const want = reference(memory, query);
        expect(Array.from(rows)).toEqual(want.rows);
        for (let p = 0; p < 30; p++) expect(sims[p]).toBeCloseTo(want.sims[p] as number, 5);
      }
    });

    it('restores to identical votes, rows changed since the last refresh included', () => {
      const { memory, draw } = randomMemory(500, 40, 1000, 3);
      const out = new Float32Array(7);
      memory.vote(draw(), out);
      for (let i = 0; i < 30; i++) memory.add(draw(), i % 7); // fewer than a refresh's worth
      const restored = new KnnMemory({ dim: 40, classes: 7, capacity: 500, neighbours: 30, seed: 0, search }, memory.state());
      const [a, b] = [new Float32Array(7), new Float32Array(7)];
      for (let t = 0; t < 20; t++) {
        const query = draw();
        memory.vote(query, a);
        restored.vote(query, b);
        expect(Array.from(b)).toEqual(Array.from(a));
      }
    });

    it('votes as the reference neighbours weighted exp(10 · (cosine − 1)) do', () => {
      const { memory, draw } = randomMemory(300, 24, 1000, 5);
      const { labels } = memory.state();
      const out = new Float32Array(7);
      for (let t = 0; t < 20; t++) {
        const query = draw();
        expect(memory.vote(query, out)).toBe(true);
        const want = reference(memory, query);
        const votes = new Array<number>(7).fill(0);
        want.rows.forEach((row, p) => {
          const label = labels[row] as number;
          votes[label] = (votes[label] as number) + Math.exp(10 * ((want.sims[p] as number) - 1));
        });
        const total = votes.reduce((a, b) => a + b, 0);
        for (let c = 0; c < 7; c++) expect(out[c]).toBeCloseTo(((votes[c] as number) / total) * (1 - 7e-3) + 1e-3, 6);
      }
    });

    it('abstains below `neighbours` items and on a query equal to the mean', () => {
      const memory = new KnnMemory({ dim: 2, classes: 2, capacity: 8, neighbours: 3, seed: 1, search });
      memory.add(Float32Array.from([1, 0]), 0);
      memory.add(Float32Array.from([0, 1]), 1);
      const out = new Float32Array(2);
      expect(memory.vote(Float32Array.from([1, 0]), out)).toBe(false);
      memory.add(Float32Array.from([1, 1]), 1);
      expect(memory.vote(Float32Array.from([1, 0]), out)).toBe(true);
      expect(memory.vote(Float32Array.from([2 / 3, 2 / 3]), out)).toBe(false);
      expect(memory.vote(new Float32Array(2), out)).toBe(false);
    });
  });

  it("raises the mid stage's agreement with the LLM on held-out emotions items", async () => {
    await selectBackend('auto');
    const vectors = loadWordVectors();
    expect(vectors).toBeDefined();
    const rows = readLabelledStream(EMOTIONS).filter((r) => (r.llm[TEACHER] ?? -1) >= 0);
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
