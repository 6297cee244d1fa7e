import { describe, expect, it } from 'vitest';
import { Featurizer } from '../../src/cascade/featurizer.js';
import { LogisticRegressor } from '../../src/cascade/logistic-regressor.js';
import { Rng } from '../../src/cascade/rng.js';
import { argmax } from '../../src/cascade/stages.js';

/** Three classes told apart by their vocabulary, with shared filler words. */
function separableStream(n: number, seed: number): Array<{ text: string; label: number }> {
  const rng = new Rng(seed);
  const vocab = [
    ['apple', 'pear', 'plum'],
    ['car', 'bus', 'train'],
    ['red', 'blue', 'green'],
  ];
  const filler = ['the', 'a', 'is', 'very', 'today'];
  return Array.from({ length: n }, () => {
    const label = rng.int(3);
    const words = Array.from({ length: 5 }, () => (rng.next() < 0.5 ? (vocab[label] as string[])[rng.int(3)] : filler[rng.int(5)]));
    words.push((vocab[label] as string[])[rng.int(3)] as string);
    return { text: words.join(' '), label };
  });
}

describe('LogisticRegressor', () => {
  const featurizer = new Featurizer({ dim: 2 ** 16, maxTextChars: 1000 });

  it('learns a separable stream online', () => {
    const lr = new LogisticRegressor({ dim: 2 ** 16, classes: 3 });
    for (const { text, label } of separableStream(600, 1)) lr.update(featurizer.featurize(text).sparse, label);
    const test = separableStream(300, 2);
    const correct = test.filter(({ text, label }) => argmax(lr.predict(featurizer.featurize(text).sparse)) === label).length;
    expect(correct / test.length).toBeGreaterThan(0.97);
    expect(lr.updates).toBe(600);
  });

  it('gives probabilities that sum to one, uniform before any training', () => {
    const lr = new LogisticRegressor({ dim: 2 ** 16, classes: 4 });
    const p = lr.predict(featurizer.featurize('anything at all').sparse);
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    expect(Array.from(p)).toEqual([0.25, 0.25, 0.25, 0.25]);
  });

  it('reports novelty: 1 for unseen features, lower once trained on them', () => {
    const lr = new LogisticRegressor({ dim: 2 ** 16, classes: 2 });
    const x = featurizer.featurize('completely new words').sparse;
    expect(lr.novelty(x)).toBe(1);
    lr.update(x, 1);
    expect(lr.novelty(x)).toBe(0);
  });
});

describe('LogisticRegressor novelty', () => {
  it('is the share of features whose squared-gradient sum moved, live and after a restore', () => {
    const model = new LogisticRegressor({ dim: 1024, classes: 3 });
    let s = 17;
    const draw = (): { indices: Int32Array; values: Float32Array } => {
      const indices = Int32Array.from({ length: 12 }, (_, i) => (i === 0 ? 0 : 1 + ((s = (s * 16807) % 2147483647) % 1023)));
      // Tiny values too: a step too small to move a float32 sum must not count as training.
      return { indices, values: Float32Array.from(indices, (_, i) => (i % 4 === 3 ? 1e-6 : 0.3)) };
    };
    const reference = (m: LogisticRegressor, x: { indices: Int32Array }): number => {
      const { gradSquares } = m.state();
      let untouched = 0;
      for (let i = 1; i < x.indices.length; i++) if ((gradSquares[(x.indices[i] as number) * 3] as number) <= 1e-2) untouched++;
      return untouched / (x.indices.length - 1);
    };
    for (let step = 0; step < 200; step++) {
      const x = draw();
      expect(model.novelty(x)).toBe(reference(model, x));
      if (step % 3 === 0) model.update(x, step % 3, 1, step % 2 === 0);
    }
    const restored = new LogisticRegressor({ dim: 1024, classes: 3 }, model.state());
    for (let t = 0; t < 50; t++) {
      const x = draw();
      expect(restored.novelty(x)).toBe(reference(model, x));
    }
  });
});
