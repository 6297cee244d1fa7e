import { describe, expect, it } from 'vitest';
import { WordVectors } from '../../src/cascade/word-vectors.js';

const vectors = new WordVectors(['the', 'cat', 'sat'], Float32Array.from([1, 0, 0, 1, 1, 1]), 2);

describe('WordVectors look-ups', () => {
  it('finds each word by itself whatever hash it is given, colliding hashes included', () => {
    for (let round = 0; round < 2; round++) {
      expect(vectors.rowOf('the', 7)).toBe(0);
      expect(vectors.rowOf('cat', 7)).toBe(1); // same cache slot as 'the': checked by the word, not the hash
      expect(vectors.rowOf('dog', 7)).toBe(-1);
      expect(vectors.rowOf('sat', 123_456)).toBe(2);
    }
  });

  it('sums a text’s words as word-by-word addInto does, unknown words skipped', () => {
    const words = ['the', 'dog', 'cat', 'the'];
    const viaEach = new Float32Array(2);
    let weight = 0;
    for (const w of words) weight += vectors.addInto(w, viaEach, 1e-3);
    const viaAll = new Float32Array(2);
    expect(vectors.addAllInto(words, [1, 2, 3, 1], viaAll, 1e-3)).toBe(weight);
    expect(Array.from(viaAll)).toEqual(Array.from(viaEach));
  });
});
