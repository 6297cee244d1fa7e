/**
 * Stage 2: a fastText-style network. Its input concatenates
 *   - a frozen pretrained sentence vector: the SIF-weighted mean of the item's GloVe word vectors, or the
 *     sentence encoder's vector (`cascade.sentenceEncoder`); the knowledge we cannot learn from a few
 *     thousand labels,
 *   - the mean of a hashed embedding bag over word unigrams and bigrams (learned),
 *   - stage 1's class probabilities, as stage 1 gave them before it saw the item's label (so stacking
 *     leaks nothing);
 * and feeds it to dense layers (hidden ReLU → logits) that are a TensorFlow.js LayersModel.
 *
 * Why hybrid: training a large hashed embedding inside tfjs is impractical here (wasm lacks the
 * UnsortedSegmentSum kernel its gradient needs; on cpu dense embedding gradients ran < 1 item/s at 2^18
 * buckets), so the bag lives in typed arrays with sparse AdaGrad updates, fed by the input gradient tfjs
 * computes. Inference of one item runs on a typed-array mirror of the dense weights, refreshed after each
 * training step: a tfjs call costs ~75 µs per op at batch 1 on wasm, the mirror's whole forward pass ~10 µs.
 *
 * Training is online, in mini-batches from a bounded buffer of LLM-labelled items: every `trainEvery`
 * new labels, one Adam step on those labels plus a random replay sample of older ones.
 */
import * as tf from '@tensorflow/tfjs';
import type { Features } from './featurizer.js';
import { softmaxInto } from './logistic-regressor.js';
import type { WordVectors } from './word-vectors.js';
import { Rng } from './rng.js';

export interface MidModelOptions {
  classes: number;
  /** Pretrained vectors; undefined → the model learns from the hashed bag alone. */
  vectors?: WordVectors;
  /**
   * Width of a pretrained sentence encoder's vectors (`cascade.sentenceEncoder`), read from
   * `features.sentence`; when set, they replace the GloVe mean. @defaultValue none
   */
  encoderDim?: number;
  /**
   * Subtract the running mean of the encoder's vectors (over every item encoded, labelled or not) before
   * the network sees them. For encoders whose vectors all point one way (e5: any two texts have cosine
   * ≈ 0.8), the part that tells texts apart is small beside the shared direction. @defaultValue false
   */
  centreEncoder?: boolean;
  /** Factor on the (centred) encoder vector in the network's input. @defaultValue 1 */
  encoderScale?: number;
  /** Hashed embedding rows, a power of two. @defaultValue 2**17 */
  bagBuckets?: number;
  /** Width of the learned embedding. @defaultValue 32 */
  bagDim?: number;
  /** Hidden units. @defaultValue 64 */
  hidden?: number;
  /** Mini-batch size. @defaultValue 32 */
  batchSize?: number;
  /** Labelled items kept for replay. @defaultValue 4096 */
  bufferSize?: number;
  /** A training step every this many new labels. @defaultValue 4 */
  trainEvery?: number;
  /** Adam learning rate of the dense layers. @defaultValue 0.003 */
  learningRate?: number;
  /** AdaGrad learning rate of the embedding bag. @defaultValue 0.1 */
  bagLearningRate?: number;
  seed?: number;
}

interface Example {
  input: Float32Array;
  rows: Uint32Array;
  /** log of stage 1's probabilities: the offset the network's logits correct (zeros without stage 1). */
  offset: Float32Array;
  label: number;
  /** Importance of the example in the loss (the task objective's class weight). */
  weight: number;
}

/** An item as the mid model sees it. */
export interface EncodedItem {
  input: Float32Array;
  rows: Uint32Array;
  offset: Float32Array;
}

/** Saved state of the typed-array part (the dense part is saved as a tfjs LayersModel). */
export interface MidModelState {
  updates: number;
  labels: number;
  bag: Float32Array;
  bagGradSquares: Float32Array;
  /** With `centreEncoder`: the running mean of the encoder's vectors and how many it has seen. */
  sentenceMean?: Float32Array;
  sentenceSeen?: number;
}

// The running mean becomes an exponential average over the last ~this many items: it settles, yet follows drift.
const CENTRE_WINDOW = 1000;

const GLOVE_SCALE = 0.25; // GloVe vectors have norms ≈ 4-6; scale the mean to ≈ unit size
// SIF weighting (Arora et al. 2017): a word of unigram probability p weighs a / (a + p), so "when", "i",
// "the" do not drown the words that carry the label.
const SIF_A = 1e-3;

export class MidModel {
  readonly classes: number;
  readonly inputDim: number;
  readonly model: tf.LayersModel;
  private readonly vectors: WordVectors | undefined;
  private readonly sentenceWidth: number;
  private readonly encoderDim: number;
  private readonly encoderScale: number;
  private readonly sentenceMean: Float32Array | undefined;
  private sentenceSeen: number;
  private readonly bagBuckets: number;
  private readonly bagDim: number;
  private readonly hidden: number;
  private readonly batchSize: number;
  private readonly bufferSize: number;
  private readonly trainEvery: number;
  private readonly bagLearningRate: number;
  private readonly optimizer: tf.Optimizer;
  private readonly rng: Rng;
  private bag: Float32Array;
  private bagGradSquares: Float32Array;
  private readonly buffer: Example[] = [];
  /** Pseudo-labelled items waiting for their training step (learnPseudo). */
  private readonly pseudo: Example[] = [];
  private pending = 0;
  // Typed-array mirror of the dense weights for fast single-item inference.
  /** Hidden-major (hidden × input), as float64: see predict. */
  private w1ByHidden = new Float64Array(0);
  private b1 = new Float32Array(0);
  private w2 = new Float32Array(0);
  private b2 = new Float32Array(0);
  private readonly hiddenScratch: Float32Array;
  private readonly logitScratch: Float64Array;
  /** Training steps taken: the model's version. */
  updates = 0;
  /** Labels received. */
  labels = 0;

  /**
   * `loaded`: saved state to continue from, or just a pretrained LayersModel for the dense part (its input
   * must be `inputDim` wide: GloVe dims + bag dims + classes).
   */
  constructor(options: MidModelOptions, loaded?: { model: tf.LayersModel; state?: MidModelState }) {
    this.classes = options.classes;
    this.encoderDim = options.encoderDim ?? 0;
    this.encoderScale = options.encoderScale ?? 1;
    this.sentenceMean = options.centreEncoder === true && this.encoderDim > 0 ? (loaded?.state?.sentenceMean ?? new Float32Array(this.encoderDim)) : undefined;
    if (this.sentenceMean !== undefined && this.sentenceMean.length !== this.encoderDim) {
      throw new RangeError(`the saved sentence mean has ${this.sentenceMean.length} dimensions; the encoder gives ${this.encoderDim}`);
    }
    this.sentenceSeen = loaded?.state?.sentenceSeen ?? 0;
    this.vectors = this.encoderDim > 0 ? undefined : options.vectors;
    this.sentenceWidth = this.encoderDim > 0 ? this.encoderDim : (options.vectors?.dimensions ?? 0);
    this.bagBuckets = options.bagBuckets ?? 2 ** 17;
    this.bagDim = options.bagDim ?? 32;
    this.hidden = options.hidden ?? 64;
    this.batchSize = options.batchSize ?? 32;
    this.bufferSize = options.bufferSize ?? 4096;
    this.trainEvery = options.trainEvery ?? 4;
    this.bagLearningRate = options.bagLearningRate ?? 0.1;
    this.rng = new Rng(options.seed ?? 42);
    this.inputDim = this.sentenceWidth + this.bagDim + this.classes;
    this.bag = loaded?.state?.bag ?? this.initialBag();
    this.bagGradSquares = loaded?.state?.bagGradSquares ?? new Float32Array(this.bagBuckets * this.bagDim).fill(1e-2);
    this.updates = loaded?.state?.updates ?? 0;
    this.labels = loaded?.state?.labels ?? 0;
    this.model = loaded?.model ?? this.buildModel(options.seed ?? 42);
    const inputShape = this.model.inputs[0]?.shape[1];
    if (inputShape !== this.inputDim) throw new RangeError(`mid model expects ${inputShape} inputs; this configuration encodes ${this.inputDim}`);
    this.optimizer = tf.train.adam(options.learningRate ?? 0.003);
    this.hiddenScratch = new Float32Array(this.hidden);
    this.logitScratch = new Float64Array(this.classes);
    this.refreshMirror();
  }

  /**
   * The network's input for one item. `stage1Probs` may be absent when stage 1 is not in the cascade.
   * `observe`: the item counts towards the running mean of the encoder's vectors (false for a second look
   * at an item, or an evaluation that must leave the model as it was).
   */
  encode(features: Features, stage1Probs?: Float32Array, observe = true): EncodedItem {
    const input = new Float32Array(this.inputDim);
    if (this.encoderDim > 0) {
      const sentence = features.sentence;
      if (sentence?.length !== this.encoderDim) {
        throw new RangeError(`mid model expects a ${this.encoderDim}-d sentence vector; the item has ${sentence === undefined ? 'none' : sentence.length}`);
      }
      const mean = this.sentenceMean;
      if (mean === undefined) {
        // USE-lite: unit length already (scales 1 and 3 measured alike: docs/benchmarks.md).
        for (let j = 0; j < this.encoderDim; j++) input[j] = (sentence[j] as number) * this.encoderScale;
      } else {
        // The mean includes this item: the unlabelled stream tells us where the vectors sit.
        if (observe) this.sentenceSeen++;
        const a = observe ? 1 / Math.min(this.sentenceSeen, CENTRE_WINDOW) : 0;
        for (let j = 0; j < this.encoderDim; j++) {
          const m = (mean[j] as number) + a * ((sentence[j] as number) - (mean[j] as number));
          mean[j] = m;
          input[j] = ((sentence[j] as number) - m) * this.encoderScale;
        }
      }
    } else if (this.vectors !== undefined) {
      let found = 0;
      let weight = 0;
      for (const w of features.words) {
        const a = this.vectors.addInto(w, input, SIF_A);
        if (a > 0) {
          found++;
          weight += a;
        }
      }
      if (found > 0) for (let j = 0; j < this.sentenceWidth; j++) input[j] = ((input[j] as number) * GLOVE_SCALE) / weight;
    }
    const rows = new Uint32Array(features.tokenHashes.length);
    const mask = this.bagBuckets - 1;
    for (let i = 0; i < rows.length; i++) rows[i] = (features.tokenHashes[i] as number) & mask;
    this.bagMeanInto(rows, input, this.sentenceWidth);
    const offset = new Float32Array(this.classes);
    if (stage1Probs !== undefined) {
      input.set(stage1Probs, this.sentenceWidth + this.bagDim);
      for (let k = 0; k < this.classes; k++) offset[k] = Math.log(Math.max(stage1Probs[k] as number, 1e-6));
    }
    return { input, rows, offset };
  }

  /**
   * The item's sentence vector (the encoder's, or the SIF-weighted GloVe mean: a view into its input), or
   * undefined without either.
   */
  sentenceVector(encoded: EncodedItem): Float32Array | undefined {
    return this.sentenceWidth === 0 ? undefined : encoded.input.subarray(0, this.sentenceWidth);
  }

  /** Width of the sentence vector (0 without pretrained vectors). */
  get sentenceDim(): number {
    return this.sentenceWidth;
  }

  /** Class probabilities for an encoded item (typed-array forward pass). */
  predict(encoded: EncodedItem, out: Float32Array = new Float32Array(this.classes)): Float32Array {
    const x = encoded.input;
    const H = this.hidden;
    const K = this.classes;
    const h = this.hiddenScratch;
    this.hiddenInto(x, h);
    const z = this.logitScratch;
    for (let k = 0; k < K; k++) z[k] = (this.b2[k] as number) + (encoded.offset[k] as number);
    for (let j = 0; j < H; j++) {
      const hj = h[j] as number;
      if (hj <= 0) continue; // ReLU
      const base = j * K;
      for (let k = 0; k < K; k++) z[k] = (z[k] as number) + hj * (this.w2[base + k] as number);
    }
    softmaxInto(z, out);
    return out;
  }

  /**
   * The hidden layer before its ReLU: h = b1 + x·W1, each unit's sum rounded to float32 after every add, in
   * input order: what tfjs's float32 layer and the float32 mirror this replaced computed. Four units at a time
   * from a hidden-major float64 copy of W1, sums in registers: 3.4× faster than the input-major loop through a
   * Float32Array of sums (`npm run bench:micro`).
   */
  private hiddenInto(x: Float32Array, h: Float32Array): void {
    const D = x.length;
    const H = this.hidden;
    const w = this.w1ByHidden;
    const b1 = this.b1;
    let j = 0;
    for (; j + 4 <= H; j += 4) {
      const r0 = j * D;
      const r1 = r0 + D;
      const r2 = r1 + D;
      const r3 = r2 + D;
      let s0 = b1[j] as number;
      let s1 = b1[j + 1] as number;
      let s2 = b1[j + 2] as number;
      let s3 = b1[j + 3] as number;
      for (let i = 0; i < D; i++) {
        const xi = x[i] as number;
        s0 = Math.fround(s0 + xi * (w[r0 + i] as number));
        s1 = Math.fround(s1 + xi * (w[r1 + i] as number));
        s2 = Math.fround(s2 + xi * (w[r2 + i] as number));
        s3 = Math.fround(s3 + xi * (w[r3 + i] as number));
      }
      h[j] = s0;
      h[j + 1] = s1;
      h[j + 2] = s2;
      h[j + 3] = s3;
    }
    for (; j < H; j++) {
      let s = b1[j] as number;
      for (let i = 0; i < D; i++) s = Math.fround(s + (x[i] as number) * (w[j * D + i] as number));
      h[j] = s;
    }
  }

  /** Share of the item's words and n-grams whose bag rows were never trained. */
  novelty(encoded: { rows: Uint32Array }): number {
    if (encoded.rows.length === 0) return 1;
    let untouched = 0;
    for (const r of encoded.rows) if ((this.bagGradSquares[r * this.bagDim] as number) <= 1e-2) untouched++;
    return untouched / encoded.rows.length;
  }

  /** Adds one LLM-labelled item; trains a step every `trainEvery` labels. Returns true when it trained. */
  learn(encoded: EncodedItem, label: number, weight = 1): boolean {
    const example: Example = { input: encoded.input, rows: encoded.rows, offset: encoded.offset, label, weight };
    if (this.buffer.length < this.bufferSize) this.buffer.push(example);
    else this.buffer[this.rng.int(this.bufferSize)] = example; // reservoir-style replacement keeps old and new
    this.labels++;
    this.pending++;
    if (this.pending < this.trainEvery) return false;
    const fresh = this.buffer.length < this.bufferSize ? this.buffer.slice(-this.pending) : [example];
    this.pending = 0;
    const batch = [...fresh];
    while (batch.length < Math.min(this.batchSize, this.buffer.length)) batch.push(this.buffer[this.rng.int(this.buffer.length)] as Example);
    this.trainStep(batch);
    return true;
  }

  /**
   * Adds one pseudo-labelled item (see pseudo-labeler.ts): kept apart from the LLM labels' buffer (never
   * replayed, not counted in `labels`); every `trainEvery` of them, one step on them plus a replay sample of
   * LLM labels up to a batch, so they are at most `trainEvery` of a step's `batchSize` examples. Returns true
   * when it trained.
   */
  learnPseudo(encoded: EncodedItem, label: number, weight: number): boolean {
    this.pseudo.push({ input: encoded.input, rows: encoded.rows, offset: encoded.offset, label, weight });
    if (this.pseudo.length < this.trainEvery) return false;
    const batch = this.pseudo.splice(0);
    const size = Math.min(this.batchSize, batch.length + this.buffer.length);
    while (batch.length < size) batch.push(this.buffer[this.rng.int(this.buffer.length)] as Example);
    this.trainStep(batch);
    return true;
  }

  state(): MidModelState {
    return {
      updates: this.updates,
      labels: this.labels,
      bag: this.bag,
      bagGradSquares: this.bagGradSquares,
      ...(this.sentenceMean === undefined ? {} : { sentenceMean: this.sentenceMean, sentenceSeen: this.sentenceSeen }),
    };
  }

  private trainStep(batch: Example[]): void {
    const B = batch.length;
    const D = this.inputDim;
    const xs = new Float32Array(B * D);
    const ys = new Float32Array(B * this.classes);
    const offsets = new Float32Array(B * this.classes);
    batch.forEach((ex, b) => {
      offsets.set(ex.offset, b * this.classes);
      // Re-encode the bag part: rows moved since the example was buffered.
      xs.set(ex.input, b * D);
      this.bagMeanInto(ex.rows, xs, b * D + this.sentenceWidth);
      ys[b * this.classes + ex.label] = 1;
    });
    const inputGrad = tf.tidy(() => {
      const x = tf.variable(tf.tensor2d(xs, [B, D]), true);
      const y = tf.tensor2d(ys, [B, this.classes]);
      const offset = tf.tensor2d(offsets, [B, this.classes]);
      const modelVars = this.model.trainableWeights.map((w) => w.read() as tf.Variable);
      // Class weights (cost-sensitive objectives) only when some example has one: the plain path stays as it was.
      const weights = batch.some((ex) => ex.weight !== 1) ? tf.tensor1d(batch.map((ex) => ex.weight)) : undefined;
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(y, tf.add(this.model.apply(x) as tf.Tensor, offset), weights) as tf.Scalar,
        [x, ...modelVars],
      );
      const dx = grads[x.name];
      delete grads[x.name];
      this.optimizer.applyGradients(grads);
      const out = dx === undefined ? new Float32Array(B * D) : (dx.dataSync() as Float32Array).slice();
      x.dispose();
      return out;
    });
    // Sparse AdaGrad on the bag rows: each row of an item gets the mean's gradient / row count.
    batch.forEach((ex, b) => {
      const n = ex.rows.length;
      if (n === 0) return;
      const off = b * D + this.sentenceWidth;
      for (const r of ex.rows) {
        const base = r * this.bagDim;
        for (let j = 0; j < this.bagDim; j++) {
          const g = ((inputGrad[off + j] as number) * B) / n; // softmaxCrossEntropy averages over the batch
          const acc = (this.bagGradSquares[base + j] as number) + g * g;
          this.bagGradSquares[base + j] = acc;
          this.bag[base + j] = (this.bag[base + j] as number) - (this.bagLearningRate * g) / Math.sqrt(acc);
        }
      }
    });
    this.updates++;
    this.refreshMirror();
  }

  /** fastText's initialisation, uniform in ±1/dim: a zero bag would leave every row's first gradients tiny. */
  private initialBag(): Float32Array {
    const bag = new Float32Array(this.bagBuckets * this.bagDim);
    const scale = 1 / this.bagDim;
    for (let i = 0; i < bag.length; i++) bag[i] = (this.rng.next() * 2 - 1) * scale;
    return bag;
  }

  private bagMeanInto(rows: Uint32Array, out: Float32Array, offset: number): void {
    const d = this.bagDim;
    for (let j = 0; j < d; j++) out[offset + j] = 0;
    if (rows.length === 0) return;
    for (const r of rows) {
      const base = r * d;
      for (let j = 0; j < d; j++) out[offset + j] = (out[offset + j] as number) + (this.bag[base + j] as number);
    }
    const inv = 1 / rows.length;
    for (let j = 0; j < d; j++) out[offset + j] = (out[offset + j] as number) * inv;
  }

  private buildModel(seed: number): tf.LayersModel {
    return tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [this.inputDim], units: this.hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
        tf.layers.dense({ units: this.classes, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      ],
    });
  }

  private refreshMirror(): void {
    const [w1, b1, w2, b2] = this.model.getWeights().map((t) => t.dataSync() as Float32Array);
    if (w1 === undefined || b1 === undefined || w2 === undefined || b2 === undefined) throw new Error('mid model must have two dense layers');
    // Transposed to hidden-major for hiddenInto; float64 holds each float32 weight exactly.
    const D = this.inputDim;
    const H = this.hidden;
    const byHidden = new Float64Array(D * H);
    for (let i = 0; i < D; i++) for (let j = 0; j < H; j++) byHidden[j * D + i] = w1[i * H + j] as number;
    this.w1ByHidden = byHidden;
    this.b1 = b1.slice();
    this.w2 = w2.slice();
    this.b2 = b2.slice();
  }
}
