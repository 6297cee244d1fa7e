import { describe, expect, it } from 'vitest';
import { Featurizer } from '../../src/cascade/featurizer.js';

const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 200 });

describe('Featurizer', () => {
  it('gives the same features for the same text, every time', () => {
    const a = featurizer.featurize('When I lost the person who meant the most to me.');
    const b = new Featurizer({ dim: 2 ** 18, maxTextChars: 200 }).featurize('When I lost the person who meant the most to me.');
    expect(Array.from(a.sparse.indices)).toEqual(Array.from(b.sparse.indices));
    expect(Array.from(a.sparse.values)).toEqual(Array.from(b.sparse.values));
  });

  it('keeps only the bias feature for empty text', () => {
    const f = featurizer.featurize('');
    expect(Array.from(f.sparse.indices)).toEqual([0]);
    expect(f.words).toEqual([]);
    expect(f.truncated).toBe(false);
  });

  it('truncates long text and says so', () => {
    const f = featurizer.featurize('word '.repeat(1000));
    expect(f.truncated).toBe(true);
    expect(f.words.length).toBeLessThanOrEqual(40);
  });

  it('tokenises any Unicode: accents, CJK, emoji do not throw and letters become tokens', () => {
    const f = featurizer.featurize('Café naïve 東京 😀 don’t STOP');
    expect(f.words).toEqual(['café', 'naïve', '東京', 'don’t', 'stop']);
    expect(f.sparse.indices.every((i) => i >= 0 && i < 2 ** 18)).toBe(true);
  });

  it('distinguishes word order through bigrams', () => {
    const a = featurizer.featurize('dog bites man');
    const b = featurizer.featurize('man bites dog');
    expect(Array.from(a.sparse.indices).sort()).not.toEqual(Array.from(b.sparse.indices).sort());
    expect(a.tokenHashes.length).toBe(3 + 2);
  });

  it('rejects a feature space that is not a power of two', () => {
    expect(() => new Featurizer({ dim: 1000, maxTextChars: 10 })).toThrow(RangeError);
  });
});

describe('Featurizer output kept across items', () => {
  it('stays as it was while later items are featurized (each item owns its arrays)', () => {
    const texts = Array.from({ length: 300 }, (_, i) => `item ${i} says ${'word'.repeat(i % 7)} and more ${i * 31}`);
    const fresh = new Featurizer({ dim: 2 ** 18, maxTextChars: 200 });
    const kept = texts.map((t) => fresh.featurize(t));
    const again = new Featurizer({ dim: 2 ** 18, maxTextChars: 200 });
    texts.forEach((t, i) => {
      const expected = again.featurize(t);
      const got = kept[i] as ReturnType<Featurizer['featurize']>;
      expect(Array.from(got.sparse.indices)).toEqual(Array.from(expected.sparse.indices));
      expect(Array.from(got.sparse.values)).toEqual(Array.from(expected.sparse.values));
      expect(Array.from(got.tokenHashes)).toEqual(Array.from(expected.tokenHashes));
    });
  });
});
