/**
 * Stage 1: multinomial logistic regression over sparse hashed features, trained online with AdaGrad
 * and L2 regularisation applied lazily to the active features only (Duchi et al. 2011).
 *
 * Plain typed-array code on purpose: this is the hot path (≥ 100k predictions/s on one core, measured by
 * `npm run bench:micro`). Weights are laid out feature-major (`w[f * K + k]`) so one feature's K weights
 * are adjacent in memory.
 */
import type { SparseVector } from './featurizer.js';
import { TrainedRows } from './trained-rows.js';

export interface LogisticRegressorOptions {
  /** Feature space size (the featurizer's dim). */
  dim: number;
  /** Number of classes. */
  classes: number;
  /** AdaGrad base learning rate. @defaultValue 0.5 */
  learningRate?: number;
  /** L2 strength per update. @defaultValue 1e-5 */
  l2?: number;
}

/** Serializable state of the regressor. */
export interface LogisticRegressorState {
  dim: number;
  classes: number;
  learningRate: number;
  l2: number;
  updates: number;
  weights: Float32Array;
  gradSquares: Float32Array;
}

// AdaGrad's accumulators start here (not 0) so the first steps are not huge; also marks "never trained".
const INITIAL_GRAD_SQUARE = 1e-2;

export class LogisticRegressor {
  readonly dim: number;
  readonly classes: number;
  private readonly learningRate: number;
  private readonly l2: number;
  private readonly weights: Float32Array;
  private readonly gradSquares: Float32Array;
  /** Features whose first squared-gradient sum grew past its initial value (what `novelty` counts as seen). */
  private readonly trained: TrainedRows;
  private readonly logits: Float64Array;
  /** Training steps taken: the model's version. */
  updates = 0;

  constructor(options: LogisticRegressorOptions, state?: LogisticRegressorState) {
    this.dim = options.dim;
    this.classes = options.classes;
    this.learningRate = options.learningRate ?? 0.5;
    this.l2 = options.l2 ?? 1e-5;
    const size = this.dim * this.classes;
    this.weights = state?.weights ?? new Float32Array(size);
    this.gradSquares = state?.gradSquares ?? new Float32Array(size).fill(INITIAL_GRAD_SQUARE);
    this.trained = new TrainedRows(
      this.dim,
      state === undefined ? undefined : { values: this.gradSquares, stride: this.classes, initial: INITIAL_GRAD_SQUARE },
    );
    this.updates = state?.updates ?? 0;
    this.logits = new Float64Array(this.classes);
  }

  /** Class probabilities for one item, written into `out` (allocated when absent). */
  predict(x: SparseVector, out: Float32Array = new Float32Array(this.classes)): Float32Array {
    const K = this.classes;
    const z = this.logits;
    const { indices, values } = x;
    const w = this.weights;
    if (K === 2) {
      // Two classes (the common binary task): the sums in registers, not in `z` (the same sums, in the same order).
      let z0 = 0;
      let z1 = 0;
      for (let i = 0; i < indices.length; i++) {
        const base = (indices[i] as number) * 2;
        const v = values[i] as number;
        z0 += (w[base] as number) * v;
        z1 += (w[base + 1] as number) * v;
      }
      z[0] = z0;
      z[1] = z1;
    } else {
      z.fill(0);
      for (let i = 0; i < indices.length; i++) {
        const base = (indices[i] as number) * K;
        const v = values[i] as number;
        for (let k = 0; k < K; k++) z[k] = (z[k] as number) + (w[base + k] as number) * v;
      }
    }
    softmaxInto(z, out);
    return out;
  }

  /** Share of the item's features (bias excluded) this model was never trained on, 0..1. */
  novelty(x: SparseVector): number {
    const n = x.indices.length - 1;
    if (n <= 0) return 1;
    let untouched = 0;
    for (let i = 1; i < x.indices.length; i++) {
      if (!this.trained.has(x.indices[i] as number)) untouched++;
    }
    return untouched / n;
  }

  /**
   * One AdaGrad step on (x, label); returns the log-loss before the step. `rehearsal`: a replay of an
   * item already learned, which does not count as a new version.
   */
  update(x: SparseVector, label: number, weight = 1, rehearsal = false): number {
    const K = this.classes;
    const p = this.predict(x);
    const loss = -Math.log(Math.max(p[label] as number, 1e-12));
    const { indices, values } = x;
    const w = this.weights;
    const g2 = this.gradSquares;
    const lr = this.learningRate;
    const l2 = this.l2;
    for (let i = 0; i < indices.length; i++) {
      const base = (indices[i] as number) * K;
      const v = values[i] as number;
      for (let k = 0; k < K; k++) {
        const j = base + k;
        const wj = w[j] as number;
        const g = weight * ((p[k] as number) - (k === label ? 1 : 0)) * v + l2 * wj;
        const acc = (g2[j] as number) + g * g;
        g2[j] = acc;
        w[j] = wj - (lr * g) / Math.sqrt(acc);
      }
      if ((g2[base] as number) > INITIAL_GRAD_SQUARE) this.trained.mark(indices[i] as number);
    }
    if (!rehearsal) this.updates++;
    return loss;
  }

  /** A copy-free view of the state for saving (the arrays are the live ones: save before mutating again). */
  state(): LogisticRegressorState {
    return {
      dim: this.dim,
      classes: this.classes,
      learningRate: this.learningRate,
      l2: this.l2,
      updates: this.updates,
      weights: this.weights,
      gradSquares: this.gradSquares,
    };
  }
}

/** Numerically stable softmax of `z` into `out`. */
export function softmaxInto(z: ArrayLike<number>, out: Float32Array): void {
  let max = -Infinity;
  for (let k = 0; k < z.length; k++) if ((z[k] as number) > max) max = z[k] as number;
  let sum = 0;
  for (let k = 0; k < z.length; k++) {
    const e = Math.exp((z[k] as number) - max);
    out[k] = e;
    sum += e;
  }
  for (let k = 0; k < z.length; k++) out[k] = (out[k] as number) / sum;
}
