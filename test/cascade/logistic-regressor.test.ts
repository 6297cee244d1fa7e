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
