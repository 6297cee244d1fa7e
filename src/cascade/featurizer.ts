/**
 * Text → sparse hashed features, shared by every small stage (computed once per item).
 *
 * Features: lower-cased word unigrams and bigrams, plus character 4-grams of each word (they carry
 * misspellings and morphology: "hateful"/"hate", "sad"/"sadness"), hashed into `dim` buckets
 * (the hashing trick, Weinberger et al. 2009) with a sign bit to halve collision bias; values are
 * log(1 + tf), L2-normalised per feature family, plus a bias feature.
 * Deterministic: the same text gives the same features on every machine and run.
 */
import { FNV_PRIME, fnv1a32, mixHashes } from '../text/index.js';

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

// Unicode letters and digits, with inner apostrophes ("don't"); set up once.
const TOKEN_RE = /[\p{L}\p{N}]+(?:['’][\p{L}]+)*/gu;
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
  private slotCounts = new Float32Array(1024);
  private slotStamps = new Uint32Array(1024);
  private epoch = 0;
  private touched = new Int32Array(512);
  private touchedCount = 0;
  private codes = new Uint16Array(64);
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
    const words = text.match(TOKEN_RE) ?? [];
    const n = words.length;
    const tokenHashes = new Uint32Array(n + Math.max(0, n - 1));
    for (let i = 0; i < n; i++) tokenHashes[i] = fnv1a32(words[i] as string, SEED_UNIGRAM);
    for (let i = 1; i < n; i++) tokenHashes[n + i - 1] = mixHashes(tokenHashes[i - 1] as number, (tokenHashes[i] as number) ^ SEED_BIGRAM);

    // Word n-grams, then character n-grams: each family normalised on its own.
    this.outCount = 1; // slot 0: the bias, bucket 0
    this.beginFamily();
    for (let i = 0; i < tokenHashes.length; i++) this.bump(tokenHashes[i] as number);
    this.endFamily();
    this.beginFamily();
    for (const word of words) this.countCharGrams(word);
    this.endFamily();
    const indices = this.outIndices.slice(0, this.outCount);
    const values = this.outValues.slice(0, this.outCount);
    indices[0] = 0;
    values[0] = 1;
    return { sparse: { indices, values }, words, tokenHashes, truncated };
  }

  /**
   * Character n-grams of `<word>` (with boundary marks). No closures or strings per word here: under tsx
   * each closure costs a `__name` call, which took 10% of the featurizer's time.
   */
  private countCharGrams(word: string): void {
    const len = word.length + 2;
    if (this.codes.length < len) this.codes = new Uint16Array(len * 2);
    const codes = this.codes;
    codes[0] = 60; // '<'
    for (let j = 0; j < word.length; j++) codes[j + 1] = word.charCodeAt(j);
    codes[len - 1] = 62; // '>'
    const grams = len <= CHAR_GRAM ? 1 : len - CHAR_GRAM + 1;
    const width = len <= CHAR_GRAM ? len : CHAR_GRAM;
    for (let i = 0; i < grams; i++) {
      let h = SEED_CHAR;
      for (let j = i; j < i + width; j++) h = Math.imul(h ^ (codes[j] as number), FNV_PRIME);
      this.bump(h >>> 0);
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
    this.slotCounts = new Float32Array(size);
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
