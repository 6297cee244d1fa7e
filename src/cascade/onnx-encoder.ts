/**
 * The default sentence encoder `e5-small` (`cascade.sentenceEncoder: e5-small`): intfloat/e5-small-v2 (Wang et
 * al. 2022, MIT; a 12-layer MiniLM, 384-d), int8-quantised ONNX, run by onnxruntime-node on the CPU. Its two
 * files are fetched once from Maven Central into the model cache folder (encoder-files.ts); this module only
 * loads and runs them.
 *
 * Why this one: with the labels a 31 % budget buys on isear, a linear model on its vectors agrees with
 * GPT-3.5 on ~8 points more held-out items than on USE-lite's, and it encodes ~2× faster here
 * (docs/benchmarks.md). The vector is e5's: the mean of the last hidden states over the text's tokens,
 * unit length, the text prefixed with "query: " as its authors ask for classification.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type * as OrtModule from 'onnxruntime-node';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import type { Logger } from 'pino';
import { ModelStateError } from '../errors.js';
import { WordPieceTokenizer, type WordPieceJson } from '../text/index.js';
import { defaultModelCacheDir, e5SmallDir, E5_SMALL_ARTIFACT } from './encoder-files.js';
import { BatchingEncoder, type EncoderOptions } from './sentence-encoder.js';

const MODEL_FILE = E5_SMALL_ARTIFACT.modelFile;
const TOKENIZER_FILE = E5_SMALL_ARTIFACT.tokenizerFile;
// Tokens per text: the model takes 512, but the first 128 carry a sentence's gist and cost a sixteenth of
// the attention (the datasets' texts are shorter than that nearly always).
const MAX_TOKENS = 128;
const PREFIX = 'query: ';

type Ort = typeof OrtModule;

export interface E5SmallOptions extends EncoderOptions {
  /** The folder holding the model's two files. @defaultValue e5-small's folder in {@link defaultModelCacheDir} */
  dir?: string;
  /** Threads of one model run. @defaultValue the cores but one (at least one) */
  threads?: number;
}

export class E5SmallEncoder extends BatchingEncoder {
  readonly name = 'e5-small';
  readonly dimensions = 384;
  // e5's vectors share one direction (cosine ≈ 0.8 between any two texts): centred and scaled ×4 the mid
  // stage agrees with the LLM on 3–6 points more held-out items (npm run bench:ceiling, docs/benchmarks.md).
  readonly midInput = { centre: true, scale: 4 };

  constructor(
    private readonly ort: Ort,
    private readonly session: InferenceSession,
    private readonly tokenizer: WordPieceTokenizer,
    options: EncoderOptions = {},
  ) {
    super(options);
  }

  override dispose(): void {
    void this.session.release();
    super.dispose();
  }

  /** One model run over the batch, padded to its longest text; mean pooling over the real tokens. */
  protected async run(texts: string[]): Promise<Float32Array> {
    const ids = texts.map((t) => this.tokenizer.encodeForModel(PREFIX + t, MAX_TOKENS));
    const width = Math.max(...ids.map((x) => x.length));
    const n = ids.length;
    const inputIds = new BigInt64Array(n * width);
    const mask = new BigInt64Array(n * width);
    ids.forEach((row, r) =>
      row.forEach((id, c) => {
        inputIds[r * width + c] = BigInt(id);
        mask[r * width + c] = 1n;
      }),
    );
    const shape = [n, width];
    const feeds: Record<string, Tensor> = {
      input_ids: new this.ort.Tensor('int64', inputIds, shape),
      attention_mask: new this.ort.Tensor('int64', mask, shape),
      token_type_ids: new this.ort.Tensor('int64', new BigInt64Array(n * width), shape),
    };
    const result = await this.session.run(feeds);
    const hidden = result.last_hidden_state;
    if (hidden === undefined) throw new ModelStateError(MODEL_FILE, 'the model gave no last_hidden_state');
    const h = hidden.data as Float32Array;
    const d = this.dimensions;
    const out = new Float32Array(n * d);
    ids.forEach((row, r) => {
      const v = out.subarray(r * d, (r + 1) * d);
      for (let c = 0; c < row.length; c++) {
        const at = (r * width + c) * d;
        for (let k = 0; k < d; k++) v[k] = (v[k] as number) + (h[at + k] as number);
      }
      let norm = 0;
      for (let k = 0; k < d; k++) norm += (v[k] as number) ** 2;
      const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
      for (let k = 0; k < d; k++) v[k] = (v[k] as number) * scale;
    });
    return out;
  }
}

/**
 * Loads e5-small from `dir` (files already there: see fetchE5Small). Throws a ModelStateError that says what
 * to do when onnxruntime-node does not load or the model files are missing or do not load: this function
 * never replaces the encoder that was asked for.
 */
export async function loadE5Small(options: E5SmallOptions = {}, logger?: Logger): Promise<E5SmallEncoder> {
  const started = Date.now();
  const dir = options.dir ?? e5SmallDir(defaultModelCacheDir());
  let ort: Ort;
  try {
    ort = await import('onnxruntime-node');
  } catch (err: unknown) {
    throw new ModelStateError('onnxruntime-node', 'does not load on this machine (cascade.sentenceEncoder: e5-small needs it; glove does not)', { cause: err });
  }
  const modelPath = path.join(dir, MODEL_FILE);
  const tokenizerPath = path.join(dir, TOKENIZER_FILE);
  if (!existsSync(modelPath) || !existsSync(tokenizerPath)) {
    throw new ModelStateError(dir, 'the e5-small model is not there (cascade.sentenceEncoder: e5-small): `spillway encoder fetch` downloads it');
  }
  try {
    const tokenizer = new WordPieceTokenizer(JSON.parse(await readFile(tokenizerPath, 'utf8')) as WordPieceJson);
    // One core is left to the event loop (decisions, learning, the LLM's answers): with every core encoding, a
    // backlog starved it (on 2 cores: 30 items/s and LLM calls timing out, against 74 items/s with one thread).
    // Idle encoder threads do not spin for the same reason.
    const threads = options.threads ?? Math.max(1, os.availableParallelism() - 1);
    const session = await ort.InferenceSession.create(modelPath, {
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
    const encoder = new E5SmallEncoder(ort, session, tokenizer, options);
    logger?.info(
      { encoder: encoder.name, dimensions: encoder.dimensions, runtime: 'onnxruntime-node (cpu)', threads, ms: Date.now() - started },
      'sentence encoder loaded',
    );
    return encoder;
  } catch (err: unknown) {
    throw new ModelStateError(dir, `the e5-small model files do not load: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}
