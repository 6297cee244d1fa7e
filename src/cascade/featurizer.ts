/**
 * Text → sparse hashed features, shared by every small stage (computed once per item).
 *
 * Features: lower-cased word unigrams and bigrams, plus character 4-grams of each word (they carry
 * misspellings and morphology: "hateful"/"hate", "sad"/"sadness"), hashed into `dim` buckets
 * (the hashing trick, Weinberger et al. 2009) with a sign bit to halve collision bias; values are
 * log(1 + tf), L2-normalised per feature family, plus a bias feature.
 * Deterministic: the same text gives the same features on every machine and run.
 */

/** A sparse vector: parallel arrays of bucket indices and values. */
export interface SparseVector {
  indices: Int32Array;
  values: Float32Array;
}

/** Everything the stages need from one text. */
export interface Features {
  /** Hashed sparse features for linear models. */
  sparse: SparseVector;
  /** Lower-cased word tokens, in order (for word vectors). */
  words: string[];
  /** 32-bit hashes of unigrams then bigrams (for hashed embedding bags). */
  tokenHashes: Uint32Array;
  /** True when the text was longer than the limit and was cut. */
  truncated: boolean;
}

export interface FeaturizerOptions {
  /** Number of hash buckets, a power of two. */
  dim: number;
  /** Characters kept; longer texts are truncated. */
  maxTextChars: number;
}

// Unicode letters and digits, with inner apostrophes ("don't"); set up once.
const TOKEN_RE = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
// Seeds that separate the feature families in the shared bucket space.
const SEED_UNIGRAM = 0x9e3779b1;
const SEED_BIGRAM = 0x85ebca77;
const SEED_CHAR = 0xc2b2ae3d;
const CHAR_GRAM = 4;

/** FNV-1a over a string's UTF-16 code units, starting from `seed`. */
export function hashString(text: string, seed: number = FNV_OFFSET): number {
  let h = seed >>> 0;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** Mixes two 32-bit hashes into one (murmur3's finaliser over a combination). */
export function mixHashes(a: number, b: number): number {
  let h = (Math.imul(a, 0x9e3779b1) ^ b) >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Deterministic sparse featurizer; build once, call per item. */
export class Featurizer {
  readonly dim: number;
  readonly maxTextChars: number;
  private readonly mask: number;
  // Scratch maps reused across calls: bucket → accumulated signed count, per family.
  private readonly scratch = new Map<number, number>();

  constructor(options: FeaturizerOptions) {
    if (options.dim < 16 || (options.dim & (options.dim - 1)) !== 0) {
      throw new RangeError(`feature dim must be a power of two ≥ 16, got ${options.dim}`);
    }
    this.dim = options.dim;
    this.maxTextChars = options.maxTextChars;
    this.mask = options.dim - 1;
  }

  /** Features of one text. Empty text gives only the bias feature. */
  featurize(rawText: string): Features {
    const truncated = rawText.length > this.maxTextChars;
    const text = (truncated ? rawText.slice(0, this.maxTextChars) : rawText).toLowerCase();
    const words = text.match(TOKEN_RE) ?? [];
    const n = words.length;
    const tokenHashes = new Uint32Array(n + Math.max(0, n - 1));
    for (let i = 0; i < n; i++) tokenHashes[i] = hashString(words[i] as string, SEED_UNIGRAM);
    for (let i = 1; i < n; i++) tokenHashes[n + i - 1] = mixHashes(tokenHashes[i - 1] as number, (tokenHashes[i] as number) ^ SEED_BIGRAM);

    const indices: number[] = [0];
    const values: number[] = [1]; // bias, bucket 0
    this.addFamily(tokenHashes, 0, tokenHashes.length, indices, values);
    const charStart = indices.length;
    for (const word of words) this.countCharGrams(word);
    this.flushScratch(indices, values, charStart);
    return { sparse: { indices: Int32Array.from(indices), values: Float32Array.from(values) }, words, tokenHashes, truncated };
  }

  /** Adds hashed word n-grams, log(1+tf) weighted, L2-normalised as a family. */
  private addFamily(hashes: Uint32Array, from: number, to: number, indices: number[], values: number[]): void {
    for (let i = from; i < to; i++) this.bump(hashes[i] as number);
    this.flushScratch(indices, values, indices.length);
  }

  private countCharGrams(word: string): void {
    const padded = `<${word}>`;
    if (padded.length <= CHAR_GRAM) {
      this.bump(hashString(padded, SEED_CHAR));
      return;
    }
    for (let i = 0; i + CHAR_GRAM <= padded.length; i++) {
      let h = SEED_CHAR;
      for (let j = i; j < i + CHAR_GRAM; j++) {
        h ^= padded.charCodeAt(j);
        h = Math.imul(h, FNV_PRIME);
      }
      this.bump(h >>> 0);
    }
  }

  /** Counts a hash into the scratch map with a sign taken from its top bit. */
  private bump(hash: number): void {
    let bucket = hash & this.mask;
    if (bucket === 0) bucket = 1; // bucket 0 is the bias
    const sign = hash & 0x80000000 ? -1 : 1;
    this.scratch.set(bucket, (this.scratch.get(bucket) ?? 0) + sign);
  }

  private flushScratch(indices: number[], values: number[], start: number): void {
    let norm = 0;
    for (const [bucket, count] of this.scratch) {
      if (count === 0) continue;
      const v = Math.sign(count) * Math.log1p(Math.abs(count));
      indices.push(bucket);
      values.push(v);
      norm += v * v;
    }
    this.scratch.clear();
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let i = start; i < values.length; i++) values[i] = (values[i] as number) * inv;
    }
  }
}
