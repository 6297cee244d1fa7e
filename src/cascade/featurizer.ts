/**
 * Text → sparse hashed features, shared by every small stage (computed once per item).
 *
 * Features: lower-cased word unigrams and bigrams, plus character 4-grams of each word (they carry
 * misspellings and morphology: "hateful"/"hate", "sad"/"sadness"), hashed into `dim` buckets
 * (the hashing trick, Weinberger et al. 2009) with a sign bit to halve collision bias; values are
 * log(1 + tf), L2-normalised per feature family, plus a bias feature.
 * Deterministic: the same text gives the same features on every machine and run.
 */
import { FNV_PRIME, fnv1a32, mixHashes, wordTokens } from '../text/index.js';
import { TypedArena } from './typed-arena.js';

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
  /** The pretrained sentence encoder's vector of the text (`cascade.sentenceEncoder`), when one is configured. */
  sentence?: Float32Array;
}

export interface FeaturizerOptions {
  /** Number of hash buckets, a power of two. */
  dim: number;
  /** Characters kept; longer texts are truncated. */
  maxTextChars: number;
}

// Seeds that separate the feature families in the shared bucket space.
const SEED_UNIGRAM = 0x9e3779b1;
const SEED_BIGRAM = 0x85ebca77;
const SEED_CHAR = 0xc2b2ae3d;
const CHAR_GRAM = 4;
// log(1 + n) for the small counts nearly every bucket has: a table read instead of a Math.log1p call
// per bucket (~2 µs of a 9 µs featurize, `npm run bench:micro`).
const LOG1P = Float64Array.from({ length: 64 }, (_, n) => Math.log1p(n));

/** Deterministic sparse featurizer; build once, call per item. */
export class Featurizer {
  readonly dim: number;
  readonly maxTextChars: number;
  private readonly mask: number;
  // Scratch reused across calls: a small open-addressing table (bucket → signed count) that stays in L1
  // cache, with an epoch stamp per slot instead of clearing. A Map ran at a third of this speed, and dense
  // arrays over all 2^18 buckets at two thirds (cache misses), measured with `npm run bench:micro`.
  private slotKeys = new Int32Array(1024);
  private slotCounts = new Int32Array(1024);
  private slotStamps = new Uint32Array(1024);
  private epoch = 0;
  private touched = new Int32Array(512);
  private touchedCount = 0;
  private hashes = new Uint32Array(256);
  private readonly arena = new TypedArena();
  private outIndices = new Int32Array(1024);
  private outValues = new Float32Array(1024);
  private outCount = 0;

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
    const words = wordTokens(text);
    const n = words.length;
    const hashCount = n + Math.max(0, n - 1);
    if (this.hashes.length < hashCount) this.hashes = new Uint32Array(hashCount * 2);
    const hashes = this.hashes;
    for (let i = 0; i < n; i++) hashes[i] = fnv1a32(words[i] as string, SEED_UNIGRAM);
    for (let i = 1; i < n; i++) hashes[n + i - 1] = mixHashes(hashes[i - 1] as number, (hashes[i] as number) ^ SEED_BIGRAM);

    // Word n-grams, then character n-grams: each family normalised on its own.
    this.outCount = 1; // slot 0: the bias, bucket 0
    this.outIndices[0] = 0;
    this.outValues[0] = 1;
    this.beginFamily();
    for (let i = 0; i < hashCount; i++) this.bump(hashes[i] as number);
    this.endFamily();
    this.beginFamily();
    for (let i = 0; i < n; i++) this.countCharGrams(words[i] as string);
    this.endFamily();
    return { sparse: this.sparseCopy(), words, tokenHashes: this.hashesCopy(hashCount), truncated };
  }

  /** The output as the item's own arrays, views on the arena (see typed-arena.ts). */
  private sparseCopy(): SparseVector {
    const count = this.outCount;
    const at = this.arena.reserve(count * 8);
    const indices = new Int32Array(this.arena.buffer, at, count);
    const values = new Float32Array(this.arena.buffer, at + count * 4, count);
    const fromIndices = this.outIndices;
    const fromValues = this.outValues;
    for (let i = 0; i < count; i++) {
      indices[i] = fromIndices[i] as number;
      values[i] = fromValues[i] as number;
    }
    return { indices, values };
  }

  private hashesCopy(count: number): Uint32Array {
    const hashes = this.arena.uint32(count);
    const from = this.hashes;
    for (let i = 0; i < count; i++) hashes[i] = from[i] as number;
    return hashes;
  }

  /**
   * Character n-grams of `<word>` (with boundary marks), FNV-1a over each window of `CHAR_GRAM` code units;
   * a word too short for one window gives one gram of the whole `<word>`. Read straight from the string
   * with the window in locals (no copy, no inner loop): a third of the featurizer's time before.
   */
  private countCharGrams(word: string): void {
    const length = word.length;
    if (length + 2 <= CHAR_GRAM) {
      let h = Math.imul(SEED_CHAR ^ 60, FNV_PRIME); // '<'
      for (let j = 0; j < length; j++) h = Math.imul(h ^ word.charCodeAt(j), FNV_PRIME);
      this.bump(Math.imul(h ^ 62, FNV_PRIME) >>> 0); // '>'
      return;
    }
    let c0 = 60;
    let c1 = word.charCodeAt(0);
    let c2 = word.charCodeAt(1);
    for (let j = 2; j <= length; j++) {
      const c3 = j < length ? word.charCodeAt(j) : 62;
      this.bump(Math.imul(Math.imul(Math.imul(Math.imul(SEED_CHAR ^ c0, FNV_PRIME) ^ c1, FNV_PRIME) ^ c2, FNV_PRIME) ^ c3, FNV_PRIME) >>> 0);
      c0 = c1;
      c1 = c2;
      c2 = c3;
    }
  }

  private beginFamily(): void {
    this.epoch = (this.epoch + 1) >>> 0;
    if (this.epoch === 0) {
      this.slotStamps.fill(0); // wrapped after 2^32 families: start the stamps over
      this.epoch = 1;
    }
    this.touchedCount = 0;
  }

  /** Counts a hash into its bucket with a sign taken from its top bit. */
  private bump(hash: number): void {
    let bucket = hash & this.mask;
    if (bucket === 0) bucket = 1; // bucket 0 is the bias
    const sign = hash & 0x80000000 ? -1 : 1;
    const slotMask = this.slotKeys.length - 1;
    let slot = bucket & slotMask;
    for (;;) {
      if (this.slotStamps[slot] !== this.epoch) {
        this.slotStamps[slot] = this.epoch;
        this.slotKeys[slot] = bucket;
        this.slotCounts[slot] = sign;
        this.touched[this.touchedCount++] = slot;
        // Keep the table at most half full: grow (and rehash this family) before it fills.
        if (this.touchedCount * 2 >= this.slotKeys.length) this.grow();
        return;
      }
      if (this.slotKeys[slot] === bucket) {
        this.slotCounts[slot] = (this.slotCounts[slot] as number) + sign;
        return;
      }
      slot = (slot + 1) & slotMask;
    }
  }

  private grow(): void {
    const keys = this.slotKeys;
    const counts = this.slotCounts;
    const live = this.touched.subarray(0, this.touchedCount);
    const size = keys.length * 2;
    this.slotKeys = new Int32Array(size);
    this.slotCounts = new Int32Array(size);
    this.slotStamps = new Uint32Array(size);
    const touched = new Int32Array(size / 2);
    const slotMask = size - 1;
    let n = 0;
    for (const old of live) {
      const bucket = keys[old] as number;
      let slot = bucket & slotMask;
      while (this.slotStamps[slot] === this.epoch) slot = (slot + 1) & slotMask;
      this.slotStamps[slot] = this.epoch;
      this.slotKeys[slot] = bucket;
      this.slotCounts[slot] = counts[old] as number;
      touched[n++] = slot;
    }
    this.touched = touched;
    this.touchedCount = n;
  }

  /** Appends the family's buckets with signed log(1 + |count|) values, L2-normalised, to the output. */
  private endFamily(): void {
    const need = this.outCount + this.touchedCount;
    if (this.outIndices.length < need) {
      const idx = new Int32Array(need * 2);
      const val = new Float32Array(need * 2);
      idx.set(this.outIndices.subarray(0, this.outCount));
      val.set(this.outValues.subarray(0, this.outCount));
      this.outIndices = idx;
      this.outValues = val;
    }
    const start = this.outCount;
    let j = start;
    let norm = 0;
    for (let i = 0; i < this.touchedCount; i++) {
      const slot = this.touched[i] as number;
      const bucket = this.slotKeys[slot] as number;
      const count = this.slotCounts[slot] as number;
      if (count === 0) continue;
      const magnitude = count > 0 ? count : -count;
      const logged = magnitude < LOG1P.length ? (LOG1P[magnitude] as number) : Math.log1p(magnitude);
      const v = count > 0 ? logged : -logged;
      this.outIndices[j] = bucket;
      this.outValues[j++] = v;
      norm += v * v;
    }
    if (norm > 0) {
      const inv = 1 / Math.sqrt(norm);
      for (let i = start; i < j; i++) this.outValues[i] = (this.outValues[i] as number) * inv;
    }
    this.outCount = j;
  }
}
