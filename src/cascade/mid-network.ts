/**
 * The mid model's dense part, hidden ReLU → logits, in typed arrays: the single-item forward pass and the
 * mini-batch training step (softmax cross-entropy on logits + an offset, Adam). The tfjs LayersModel it came
 * from stays the saved form (model-store.ts); see MidModel.model.
 *
 * Why not tfjs: a step of batch 32 through tfjs's wasm backend took 2.8 ms, almost all of it per-op overhead
 * (forward, gradients and Adam are ~40 small kernels), and was 57 % of online learning's time; this one
 * takes ~0.35 ms (`npm run bench:micro`). It is the same algorithm as tfjs's: float32 weights and moments,
 * the two large products as float32 SIMD sums and the rest in float64, Adam as tf.train.adam (ε 1e-7, bias
 * correction by β^t), the loss averaged over the batch (over the non-zero weights when examples carry
 * weights, as tf.losses' default reduction does).
 */
import * as tf from '@tensorflow/tfjs';
import { DotRows } from './dot-rows.js';
import { softmaxInto } from './logistic-regressor.js';

/** Dense weights in tfjs's layouts: w1 input × hidden, w2 hidden × classes. */
export interface DenseWeights {
  w1: Float32Array;
  b1: Float32Array;
  w2: Float32Array;
  b2: Float32Array;
}

/** One mini-batch: `size` rows of inputs (size × inputDim), labels, logit offsets (size × classes), weights. */
export interface TrainingBatch {
  size: number;
  inputs: Float32Array;
  labels: Int32Array;
  offsets: Float32Array;
  /** Per-example loss weights; absent: all 1. */
  weights?: Float32Array;
}

const BETA1 = 0.9;
const BETA2 = 0.999;
const EPSILON = 1e-7;

export class MidNetwork {
  readonly inputDim: number;
  readonly hidden: number;
  readonly classes: number;
  readonly weights: DenseWeights;
  private readonly learningRate: number;
  private readonly firstMoments: DenseWeights;
  private readonly secondMoments: DenseWeights;
  private accBeta1 = BETA1;
  private accBeta2 = BETA2;
  /** W1 hidden-major as float64 (exact copies), for the forward pass; refreshed after each step. */
  private w1ByHidden: Float64Array;
  /**
   * The training step's two products on the SIMD kernel of the neighbour search (dot-rows.ts), float32 sums:
   * pre-activations as dots of an input with W1's hidden-major rows, and W1's gradient as dots of the
   * batch's hidden gradients (one unit at a time) with the inputs' columns. 3× faster than float64 loops.
   */
  private readonly byHiddenDot: DotRows;
  private columnsDot: DotRows | undefined;
  private readonly hiddenScratch: Float32Array;
  private readonly logitScratch: Float64Array;
  // Training scratch, grown to the largest batch.
  private preActivations = new Float64Array(0);
  private hiddenGrads = new Float64Array(0);
  private logitGrads = new Float64Array(0);
  /** The batch's weight gradients (float64 sums; Adam reads them rounded to float32, as tfjs stores them). */
  private readonly grads: { w1: Float64Array; b1: Float64Array; w2: Float64Array; b2: Float64Array };

  constructor(inputDim: number, weights: DenseWeights, learningRate: number) {
    this.inputDim = inputDim;
    this.hidden = weights.b1.length;
    this.classes = weights.b2.length;
    if (weights.w1.length !== inputDim * this.hidden || weights.w2.length !== this.hidden * this.classes) {
      throw new RangeError(`dense weights do not fit ${inputDim} inputs, ${this.hidden} hidden units and ${this.classes} classes`);
    }
    this.weights = weights;
    this.learningRate = learningRate;
    const zeros = (): DenseWeights => ({
      w1: new Float32Array(weights.w1.length),
      b1: new Float32Array(weights.b1.length),
      w2: new Float32Array(weights.w2.length),
      b2: new Float32Array(weights.b2.length),
    });
    this.firstMoments = zeros();
    this.secondMoments = zeros();
    this.grads = {
      w1: new Float64Array(weights.w1.length),
      b1: new Float64Array(weights.b1.length),
      w2: new Float64Array(weights.w2.length),
      b2: new Float64Array(weights.b2.length),
    };
    this.w1ByHidden = new Float64Array(inputDim * this.hidden);
    this.byHiddenDot = new DotRows(this.hidden, inputDim);
    this.hiddenScratch = new Float32Array(this.hidden);
    this.logitScratch = new Float64Array(this.classes);
    this.refreshByHidden();
  }

  /** Gives a tfjs model of the same shape (two dense layers) these weights. */
  writeInto(layers: tf.LayersModel): void {
    const { w1, b1, w2, b2 } = this.weights;
    const [D, H, K] = [this.inputDim, this.hidden, this.classes];
    tf.tidy(() => layers.setWeights([tf.tensor2d(w1, [D, H]), tf.tensor1d(b1), tf.tensor2d(w2, [H, K]), tf.tensor1d(b2)]));
  }

  /** Class probabilities of one input (+ the logit offset) into `out`. */
  predict(x: Float32Array, offset: Float32Array, out: Float32Array): Float32Array {
    const H = this.hidden;
    const K = this.classes;
    const h = this.hiddenScratch;
    this.hiddenInto(x, h);
    const { w2, b2 } = this.weights;
    const z = this.logitScratch;
    for (let k = 0; k < K; k++) z[k] = (b2[k] as number) + (offset[k] as number);
    for (let j = 0; j < H; j++) {
      const hj = h[j] as number;
      if (hj <= 0) continue; // ReLU
      const base = j * K;
      for (let k = 0; k < K; k++) z[k] = (z[k] as number) + hj * (w2[base + k] as number);
    }
    softmaxInto(z, out);
    return out;
  }

  /**
   * The hidden layer before its ReLU: h = b1 + x·W1, each unit's sum rounded to float32 after every add, in
   * input order, as a float32 layer computes it. Four units at a time from the hidden-major float64 copy,
   * sums in registers: 3.4× faster than an input-major loop through a Float32Array of sums.
   */
  private hiddenInto(x: Float32Array, h: Float32Array): void {
    const D = this.inputDim;
    const H = this.hidden;
    const w = this.w1ByHidden;
    const b1 = this.weights.b1;
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

  /**
   * One Adam step on the batch's mean loss. Returns the loss gradient with respect to input columns
   * from..to−1 (size × (to − from), row-major): the caller's sparse update of its embedding bag reads it.
   */
  trainStep(batch: TrainingBatch, from: number, to: number): Float64Array {
    const B = batch.size;
    const D = this.inputDim;
    const H = this.hidden;
    const K = this.classes;
    const { w2, b2 } = this.weights;
    if (this.preActivations.length < B * H) {
      this.preActivations = new Float64Array(B * H);
      this.hiddenGrads = new Float64Array(B * H);
      this.logitGrads = new Float64Array(B * K);
    }
    const pre = this.preActivations;
    const dHidden = this.hiddenGrads;
    const dLogits = this.logitGrads;
    const x = batch.inputs;
    // The loss is the mean over the batch, or over the examples of non-zero weight.
    let normaliser = B;
    if (batch.weights !== undefined) {
      normaliser = 0;
      for (let b = 0; b < B; b++) if ((batch.weights[b] as number) !== 0) normaliser++;
    }
    const probs = new Float32Array(K);
    const z = this.logitScratch;
    for (let b = 0; b < B; b++) {
      // Forward: pre = b1 + x·W1; logits = relu(pre)·W2 + b2 + offset.
      const hb = b * H;
      this.preActivationsInto(x, b * D, pre, hb);

      for (let k = 0; k < K; k++) z[k] = (b2[k] as number) + (batch.offsets[b * K + k] as number);
      for (let j = 0; j < H; j++) {
        const a = pre[hb + j] as number;
        if (a <= 0) continue;
        for (let k = 0; k < K; k++) z[k] = (z[k] as number) + a * (w2[j * K + k] as number);
      }
      softmaxInto(z, probs);
      // d loss / d logits = (p − onehot) × weight / normaliser.
      const scale = (batch.weights === undefined ? 1 : (batch.weights[b] as number)) / normaliser;
      const label = batch.labels[b] as number;
      for (let k = 0; k < K; k++) dLogits[b * K + k] = ((probs[k] as number) - (k === label ? 1 : 0)) * scale;
      // d loss / d pre = (dLogits · W2ᵀ) where pre > 0 (relu's gradient is 0 at 0).
      for (let j = 0; j < H; j++) {
        let g = 0;
        if ((pre[hb + j] as number) > 0) for (let k = 0; k < K; k++) g += (dLogits[b * K + k] as number) * (w2[j * K + k] as number);
        dHidden[hb + j] = g;
      }
    }
    const inputGrads = this.inputGrads(batch, from, to);
    this.adam(batch);
    this.refreshByHidden();
    return inputGrads;
  }

  /** pre[at..at+H) = b1 + x[row..row+D)·W1: one kernel call over W1's hidden-major rows. */
  private preActivationsInto(x: Float32Array, row: number, pre: Float64Array, at: number): void {
    const dot = this.byHiddenDot;
    const query = dot.query;
    for (let i = 0; i < this.inputDim; i++) query[i] = x[row + i] as number;
    dot.score(this.hidden);
    const b1 = this.weights.b1;
    const scores = dot.scores;
    for (let j = 0; j < this.hidden; j++) pre[at + j] = (b1[j] as number) + (scores[j] as number);
  }

  /** d loss / d x for columns from..to−1, with the weights before the step. */
  private inputGrads(batch: TrainingBatch, from: number, to: number): Float64Array {
    const H = this.hidden;
    const width = to - from;
    const out = new Float64Array(batch.size * width);
    const w1 = this.weights.w1;
    const dHidden = this.hiddenGrads;
    for (let b = 0; b < batch.size; b++) {
      for (let c = 0; c < width; c++) {
        const wi = (from + c) * H;
        let g = 0;
        for (let j = 0; j < H; j++) g += (dHidden[b * H + j] as number) * (w1[wi + j] as number);
        out[b * width + c] = g;
      }
    }
    return out;
  }

  /** The batch's gradients of every weight, then one Adam update of each. */
  private adam(batch: TrainingBatch): void {
    const B = batch.size;
    const D = this.inputDim;
    const H = this.hidden;
    const K = this.classes;
    const grads = this.grads;
    const { w1: gw1, b1: gb1, w2: gw2, b2: gb2 } = grads;
    gb1.fill(0);
    gw2.fill(0);
    gb2.fill(0);
    const pre = this.preActivations;
    const dHidden = this.hiddenGrads;
    const dLogits = this.logitGrads;
    const x = batch.inputs;
    for (let b = 0; b < B; b++) {
      const hb = b * H;
      for (let j = 0; j < H; j++) {
        const a = pre[hb + j] as number;
        gb1[j] = (gb1[j] as number) + (dHidden[hb + j] as number);
        if (a <= 0) continue;
        for (let k = 0; k < K; k++) gw2[j * K + k] = (gw2[j * K + k] as number) + a * (dLogits[b * K + k] as number);
      }
      for (let k = 0; k < K; k++) gb2[k] = (gb2[k] as number) + (dLogits[b * K + k] as number);
    }
    // dW1[i][j] = Σ_b x[b][i] · dHidden[b][j]: per unit j, one kernel call over the inputs' columns.
    if (this.columnsDot === undefined || this.columnsDot.stride < B) this.columnsDot = new DotRows(D, B);
    const dot = this.columnsDot;
    const width = dot.stride;
    const columns = dot.rows;
    for (let i = 0; i < D; i++) {
      for (let b = 0; b < B; b++) columns[i * width + b] = x[b * D + i] as number;
      for (let b = B; b < width; b++) columns[i * width + b] = 0;
    }
    const query = dot.query;
    for (let b = B; b < width; b++) query[b] = 0;
    for (let j = 0; j < H; j++) {
      for (let b = 0; b < B; b++) query[b] = dHidden[b * H + j] as number;
      dot.score(D);
      const scores = dot.scores;
      for (let i = 0; i < D; i++) gw1[i * H + j] = scores[i] as number;
    }
    const correction1 = 1 - this.accBeta1;
    const correction2 = 1 - this.accBeta2;
    for (const key of ['w1', 'b1', 'w2', 'b2'] as const) {
      adamUpdate(this.weights[key], grads[key], this.firstMoments[key], this.secondMoments[key], this.learningRate, correction1, correction2);
    }
    this.accBeta1 *= BETA1;
    this.accBeta2 *= BETA2;
  }

  private refreshByHidden(): void {
    const D = this.inputDim;
    const H = this.hidden;
    const w1 = this.weights.w1;
    const byHidden = this.w1ByHidden;
    const rows = this.byHiddenDot.rows;
    const stride = this.byHiddenDot.stride;
    for (let i = 0; i < D; i++) {
      for (let j = 0; j < H; j++) {
        const w = w1[i * H + j] as number;
        byHidden[j * D + i] = w;
        rows[j * stride + i] = w;
      }
    }
  }
}

/** tf.train.adam's update of one weight tensor (float32 storage, arithmetic in float64). */
function adamUpdate(
  value: Float32Array,
  grad: Float64Array,
  first: Float32Array,
  second: Float32Array,
  learningRate: number,
  correction1: number,
  correction2: number,
): void {
  for (let i = 0; i < value.length; i++) {
    const g = Math.fround(grad[i] as number);
    const m = BETA1 * (first[i] as number) + (1 - BETA1) * g;
    const v = BETA2 * (second[i] as number) + (1 - BETA2) * g * g;
    first[i] = m;
    second[i] = v;
    value[i] = (value[i] as number) - (learningRate * (m / correction1)) / (Math.sqrt(v / correction2) + EPSILON);
  }
}
