/**
 * Stage 2: a fastText-style network. Its input concatenates
 *   - a frozen pretrained sentence vector: the SIF-weighted mean of the item's GloVe word vectors, or the
 *     sentence encoder's vector (`cascade.sentenceEncoder`); the knowledge we cannot learn from a few
 *     thousand labels,
 *   - the mean of a hashed embedding bag over word unigrams and bigrams (learned),
 *   - stage 1's class probabilities, as stage 1 gave them before it saw the item's label (so stacking
 *     leaks nothing);
 * and feeds it to dense layers (hidden ReLU → logits), saved as a TensorFlow.js LayersModel.
 *
 * The bag lives in typed arrays with sparse AdaGrad updates, fed by the dense part's input gradient
 * (training a large hashed embedding inside tfjs is impractical: wasm lacks the UnsortedSegmentSum kernel
 * its gradient needs). The dense part runs and trains in typed arrays too (mid-network.ts): tfjs's per-op
 * overhead made its training step 2.8 ms at batch 32 on wasm, more than half of online learning's time.
 *
 * Training is online, in mini-batches from a bounded buffer of LLM-labelled items: every `trainEvery`
 * new labels, one Adam step on those labels plus a random replay sample of older ones.
 */
import * as tf from '@tensorflow/tfjs';
import type { Features } from './featurizer.js';
import { MidNetwork } from './mid-network.js';
import type { WordVectors } from './word-vectors.js';
import { Rng } from './rng.js';
import { TrainedRows } from './trained-rows.js';
import { TypedArena } from './typed-arena.js';

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

/** AdaGrad's initial squared-gradient sum of a bag weight; a row whose first one grew past it has been trained. */
const INITIAL_BAG_SQUARE = 1e-2;
const GLOVE_SCALE = 0.25; // GloVe vectors have norms ≈ 4-6; scale the mean to ≈ unit size
// SIF weighting (Arora et al. 2017): a word of unigram probability p weighs a / (a + p), so "when", "i",
// "the" do not drown the words that carry the label.
const SIF_A = 1e-3;

export class MidModel {
  readonly classes: number;
  readonly inputDim: number;
  /** The dense part as tfjs holds it (the saved form); training and inference run on `network`. */
  private readonly layers: tf.LayersModel;
  private readonly network: MidNetwork;
  /** True when `network` has trained since `layers` last received its weights. */
  private layersStale = false;
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
  private readonly rng: Rng;
  private readonly arena = new TypedArena();
  private bag: Float32Array;
  private bagGradSquares: Float32Array;
  /** Bag rows whose first squared-gradient sum grew past its initial value (what `novelty` counts as seen). */
  private readonly trainedRows: TrainedRows;
  private readonly buffer: Example[] = [];
  /** Pseudo-labelled items waiting for their training step (learnPseudo). */
  private readonly pseudo: Example[] = [];
  private pending = 0;
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
    this.bagGradSquares = loaded?.state?.bagGradSquares ?? new Float32Array(this.bagBuckets * this.bagDim).fill(INITIAL_BAG_SQUARE);
    this.trainedRows = new TrainedRows(
      this.bagBuckets,
      loaded?.state?.bagGradSquares === undefined ? undefined : { values: this.bagGradSquares, stride: this.bagDim, initial: INITIAL_BAG_SQUARE },
    );
    this.updates = loaded?.state?.updates ?? 0;
    this.labels = loaded?.state?.labels ?? 0;
    this.layers = loaded?.model ?? this.buildModel(options.seed ?? 42);
    const inputShape = this.layers.inputs[0]?.shape[1];
    if (inputShape !== this.inputDim) throw new RangeError(`mid model expects ${inputShape} inputs; this configuration encodes ${this.inputDim}`);
    const [w1, b1, w2, b2] = this.layers.getWeights().map((t) => (t.dataSync() as Float32Array).slice());
    if (w1 === undefined || b1 === undefined || w2 === undefined || b2 === undefined) throw new Error('mid model must have two dense layers');
    this.network = new MidNetwork(this.inputDim, { w1, b1, w2, b2 }, options.learningRate ?? 0.003);
  }

  /** The dense part as a tfjs LayersModel (for saving), holding the weights as trained so far. */
  get model(): tf.LayersModel {
    if (this.layersStale) this.network.writeInto(this.layers);
    this.layersStale = false;
    return this.layers;
  }

  /**
   * The network's input for one item. `stage1Probs` may be absent when stage 1 is not in the cascade.
   * `observe`: the item counts towards the running mean of the encoder's vectors (false for a second look
   * at an item, or an evaluation that must leave the model as it was).
   */
  encode(features: Features, stage1Probs?: Float32Array, observe = true): EncodedItem {
    // Carved from the arena (see typed-arena.ts): what `learn` keeps, it copies.
    const input = this.arena.float32(this.inputDim);
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
      const weight = this.vectors.addAllInto(features.words, features.tokenHashes, input, SIF_A);
      if (weight > 0) for (let j = 0; j < this.sentenceWidth; j++) input[j] = ((input[j] as number) * GLOVE_SCALE) / weight;
    }
    const rows = this.arena.uint32(features.tokenHashes.length);
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
    return this.network.predict(encoded.input, encoded.offset, out);
  }

  /** Share of the item's words and n-grams whose bag rows were never trained. */
  novelty(encoded: { rows: Uint32Array }): number {
    if (encoded.rows.length === 0) return 1;
    let untouched = 0;
    for (const r of encoded.rows) if (!this.trainedRows.has(r)) untouched++;
    return untouched / encoded.rows.length;
  }

  /** Adds one LLM-labelled item; trains a step every `trainEvery` labels. Returns true when it trained. */
  learn(encoded: EncodedItem, label: number, weight = 1): boolean {
    const example: Example = { input: encoded.input.slice(), rows: encoded.rows.slice(), offset: encoded.offset, label, weight };
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
    this.pseudo.push({ input: encoded.input.slice(), rows: encoded.rows.slice(), offset: encoded.offset, label, weight });
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
    const K = this.classes;
    const inputs = new Float32Array(B * D);
    const labels = new Int32Array(B);
    const offsets = new Float32Array(B * K);
    batch.forEach((ex, b) => {
      offsets.set(ex.offset, b * K);
      // Re-encode the bag part: rows moved since the example was buffered.
      inputs.set(ex.input, b * D);
      this.bagMeanInto(ex.rows, inputs, b * D + this.sentenceWidth);
      labels[b] = ex.label;
    });
    // Class weights (cost-sensitive objectives) only when some example has one: the plain path stays as it was.
    const weights = batch.some((ex) => ex.weight !== 1) ? Float32Array.from(batch, (ex) => ex.weight) : undefined;
    const bagFrom = this.sentenceWidth;
    const inputGrad = this.network.trainStep(
      { size: B, inputs, labels, offsets, ...(weights === undefined ? {} : { weights }) },
      bagFrom,
      bagFrom + this.bagDim,
    );
    this.layersStale = true;
    // Sparse AdaGrad on the bag rows: each row of an item gets the mean's gradient / row count.
    const d = this.bagDim;
    const bag = this.bag;
    const squares = this.bagGradSquares;
    const rate = this.bagLearningRate;
    const grad = new Float64Array(d);
    batch.forEach((ex, b) => {
      const n = ex.rows.length;
      if (n === 0) return;
      // The same gradient for each of the item's rows: computed once, not once per row.
      for (let j = 0; j < d; j++) grad[j] = ((inputGrad[b * d + j] as number) * B) / n; // the loss averages over the batch
      for (const r of ex.rows) {
        const base = r * d;
        for (let j = 0; j < d; j++) {
          const g = grad[j] as number;
          const acc = (squares[base + j] as number) + g * g;
          squares[base + j] = acc;
          bag[base + j] = (bag[base + j] as number) - (rate * g) / Math.sqrt(acc);
        }
        if ((squares[base] as number) > INITIAL_BAG_SQUARE) this.trainedRows.mark(r);
      }
    });
    this.updates++;
  }

  /** fastText's initialisation, uniform in ±1/dim: a zero bag would leave every row's first gradients tiny. */
  private initialBag(): Float32Array {
    const bag = new Float32Array(this.bagBuckets * this.bagDim);
    const scale = 1 / this.bagDim;
    for (let i = 0; i < bag.length; i++) bag[i] = (this.rng.next() * 2 - 1) * scale;
    return bag;
  }

  /**
   * The mean of the bag rows into out[offset..offset + bagDim): float32 sums over the rows in order, then × 1/n.
   * Four dimensions at a time across all the rows, sums in registers, so the rows (cache misses in a 16 MB
   * table) are fetched together rather than one after another.
   */
  private bagMeanInto(rows: Uint32Array, out: Float32Array, offset: number): void {
    const d = this.bagDim;
    const bag = this.bag;
    const n = rows.length;
    const inv = 1 / n;
    let j = 0;
    for (; j + 4 <= d; j += 4) {
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < n; t++) {
        const base = (rows[t] as number) * d + j;
        s0 = Math.fround(s0 + (bag[base] as number));
        s1 = Math.fround(s1 + (bag[base + 1] as number));
        s2 = Math.fround(s2 + (bag[base + 2] as number));
        s3 = Math.fround(s3 + (bag[base + 3] as number));
      }
      out[offset + j] = n === 0 ? 0 : s0 * inv;
      out[offset + j + 1] = n === 0 ? 0 : s1 * inv;
      out[offset + j + 2] = n === 0 ? 0 : s2 * inv;
      out[offset + j + 3] = n === 0 ? 0 : s3 * inv;
    }
    for (; j < d; j++) {
      let sum = 0;
      for (let t = 0; t < n; t++) sum = Math.fround(sum + (bag[(rows[t] as number) * d + j] as number));
      out[offset + j] = n === 0 ? 0 : sum * inv;
    }
  }

  private buildModel(seed: number): tf.LayersModel {
    return tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [this.inputDim], units: this.hidden, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed }) }),
        tf.layers.dense({ units: this.classes, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }) }),
      ],
    });
  }
}
