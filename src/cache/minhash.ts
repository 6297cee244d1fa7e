/**
 * MinHash over word shingles (Broder 1997): a fixed-size signature whose agreement rate estimates the Jaccard
 * similarity of two texts' shingle sets. Used to find near-identical texts (reposts with a word changed).
 */

import { fmix32, fnv1a32 } from '../text/index.js';

export { fnv1a32 };

/** Hash functions per signature. 64 keeps the signature at 256 bytes and LSH recall high at J ≥ 0.8. */
export const MINHASH_SIZE = 64;

const SEEDS: Uint32Array = (() => {
  const seeds = new Uint32Array(MINHASH_SIZE);
  for (let i = 0; i < MINHASH_SIZE; i += 1) seeds[i] = fmix32(0x9e3779b9 + i * 0x7f4a7c15);
  return seeds;
})();

const TOKEN_RE = /[\p{L}\p{N}<>@']+/gu;

/**
 * The hashed word k-shingles of an already normalized text, sorted and unique. A text shorter than k words
 * is one shingle. Punctuation is dropped here (it separates words) though the exact key keeps it.
 */
export function shingleHashes(normalizedText: string, k = 2): Uint32Array {
  const words = normalizedText.match(TOKEN_RE) ?? [];
  const hashes = new Set<number>();
  if (words.length < k) hashes.add(fnv1a32(words.join(' ')));
  for (let i = 0; i + k <= words.length; i += 1) hashes.add(fnv1a32(words.slice(i, i + k).join(' ')));
  return Uint32Array.from(hashes).sort();
}

/** The MinHash signature of a shingle set. */
export function minhashSignature(shingles: Uint32Array): Uint32Array {
  const signature = new Uint32Array(MINHASH_SIZE).fill(0xffffffff);
  for (const shingle of shingles) {
    for (let i = 0; i < MINHASH_SIZE; i += 1) {
      const h = fmix32(shingle ^ (SEEDS[i] as number));
      if (h < (signature[i] as number)) signature[i] = h;
    }
  }
  return signature;
}

/** Exact Jaccard similarity of two sorted, unique hash sets. */
export function jaccard(a: Uint32Array, b: Uint32Array): number {
  let i = 0;
  let j = 0;
  let common = 0;
  while (i < a.length && j < b.length) {
    const x = a[i] as number;
    const y = b[j] as number;
    if (x === y) {
      common += 1;
      i += 1;
      j += 1;
    } else if (x < y) i += 1;
    else j += 1;
  }
  const union = a.length + b.length - common;
  return union === 0 ? 1 : common / union;
}
