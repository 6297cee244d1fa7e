/**
 * A nearest-neighbour memory of LLM-labelled items over their sentence vectors (the mid model's SIF-weighted
 * GloVe mean): the k most similar remembered items vote for their labels, each weighted exp(T · cosine).
 * It lets a label help its neighbours at once, without waiting for gradient steps, and the mid stage blends
 * its votes into its own probabilities (a product of experts).
 *
 * Similarity is the cosine of mean-centred vectors: uncentred SIF means share one large common direction,
 * and plain cosine ranked neighbours by it (kNN agreement with the LLM 37 % uncentred, 43 % centred, isear).
 * The mean is the remembered vectors' running mean; each row's dot with it and its centred norm are cached
 * and refreshed every `REFRESH_EVERY` additions, so a query is one pass of dot products over the memory.
 */
import { Rng } from './rng.js';

export interface KnnMemoryOptions {
  /** Vector width (the word vectors' dimensions). */
  dim: number;
  classes: number;
  /** Items remembered; a uniform reservoir past this many. A query costs capacity × dim multiply-adds. */
  capacity: number;
  /** Neighbours that vote. @defaultValue 30 */
  neighbours?: number;
  /** Sharpness of the vote weights exp(T · cosine). @defaultValue 10 */
  temperature?: number;
  seed: number;
}

/** Saved state: the rows and labels as stored. */
export interface KnnMemoryState {
  seen: number;
  rngState: number;
  /** size × dim, row-major. */
  vectors: Float32Array;
  labels: Int32Array;
  /** The running sum of the vectors and the mean as last refreshed, so a restore votes exactly as before. */
  sum: Float64Array;
  mean: Float32Array;
  sinceRefresh: number;
}

const REFRESH_EVERY = 64;
// A class no neighbour voted for keeps this share: the blend must soften the mid model, never veto it.
const FLOOR = 1e-3;

export class KnnMemory {
  readonly dim: number;
  readonly classes: number;
  readonly capacity: number;
  private readonly k: number;
  private readonly temperature: number;
  private readonly rng: Rng;
  private readonly vectors: Float32Array;
  private readonly labels: Int32Array;
  private readonly sum: Float64Array;
  private readonly mean: Float32Array;
  private readonly dotMean: Float32Array;
  private readonly invNorm: Float32Array;
  private readonly sqNorm: Float32Array;
  private meanSq = 0;
  private sinceRefresh = 0;
  private readonly topSim: Float64Array;
  private readonly topRow: Int32Array;
  size = 0;
  /** Items offered so far (kept or not). */
  seen = 0;

  constructor(options: KnnMemoryOptions, state?: KnnMemoryState) {
    if (!(options.capacity >= 1)) throw new RangeError(`kNN memory capacity must be ≥ 1, got ${options.capacity}`);
    this.dim = options.dim;
    this.classes = options.classes;
    this.capacity = options.capacity;
    this.k = options.neighbours ?? 30;
    this.temperature = options.temperature ?? 10;
    this.rng = new Rng(state?.rngState ?? options.seed);
    this.vectors = new Float32Array(this.capacity * this.dim);
    this.labels = new Int32Array(this.capacity);
    this.sum = new Float64Array(this.dim);
    this.mean = new Float32Array(this.dim);
    this.dotMean = new Float32Array(this.capacity);
    this.invNorm = new Float32Array(this.capacity);
    this.sqNorm = new Float32Array(this.capacity);
    this.topSim = new Float64Array(this.k);
    this.topRow = new Int32Array(this.k);
    if (state !== undefined) {
      this.seen = state.seen;
      const n = Math.min(state.labels.length, this.capacity);
      for (let i = 0; i < n; i++) this.put(i, state.vectors.subarray(i * this.dim, (i + 1) * this.dim), state.labels[i] as number);
      this.size = n;
      this.sum.set(state.sum);
      this.mean.set(state.mean);
      this.meanSq = 0;
      for (let j = 0; j < this.dim; j++) this.meanSq += (this.mean[j] as number) ** 2;
      for (let i = 0; i < n; i++) this.refreshRow(i);
      this.sinceRefresh = state.sinceRefresh;
    }
  }

  /** Remembers one labelled vector (copied). */
  add(vector: Float32Array, label: number): void {
    this.seen++;
    let slot = this.size;
    if (this.size < this.capacity) this.size++;
    else {
      slot = this.rng.int(this.seen);
      if (slot >= this.capacity) return;
      const base = slot * this.dim;
      for (let j = 0; j < this.dim; j++) this.sum[j] = (this.sum[j] as number) - (this.vectors[base + j] as number);
    }
    this.put(slot, vector, label);
    if (++this.sinceRefresh >= REFRESH_EVERY || this.size <= REFRESH_EVERY) this.refresh();
    else this.refreshRow(slot);
  }

  /**
   * The neighbours' vote as class probabilities into `out`; false (and `out` untouched) when the memory
   * holds fewer than `neighbours` items or the vector is empty.
   */
  vote(vector: Float32Array, out: Float32Array): boolean {
    const d = this.dim;
    const k = this.k;
    if (this.size < k) return false;
    // Centred query: q − μ; its norm and the dots follow from q·m, q·μ and the cached rows' m·μ.
    let qq = 0;
    let qMean = 0;
    for (let j = 0; j < d; j++) {
      const q = vector[j] as number;
      qq += q * q;
      qMean += q * (this.mean[j] as number);
    }
    const qNormSq = qq - 2 * qMean + this.meanSq;
    if (!(qNormSq > 1e-12) || qq === 0) return false;
    const invQ = 1 / Math.sqrt(qNormSq);
    const top = this.topSim;
    const rows = this.topRow;
    top.fill(-Infinity);
    let floor = -Infinity;
    const v = this.vectors;
    for (let i = 0; i < this.size; i++) {
      const base = i * d;
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (vector[j] as number) * (v[base + j] as number);
      const sim = (dot - qMean - (this.dotMean[i] as number) + this.meanSq) * invQ * (this.invNorm[i] as number);
      if (sim <= floor) continue;
      // Insert into the sorted top-k (k is small; the floor rejects almost every row after the first few).
      let p = k - 1;
      while (p > 0 && (top[p - 1] as number) < sim) {
        top[p] = top[p - 1] as number;
        rows[p] = rows[p - 1] as number;
        p--;
      }
      top[p] = sim;
      rows[p] = i;
      floor = top[k - 1] as number;
    }
    out.fill(0);
    let total = 0;
    for (let p = 0; p < k; p++) {
      const w = Math.exp(this.temperature * ((top[p] as number) - 1));
      const label = this.labels[rows[p] as number] as number;
      out[label] = (out[label] as number) + w;
      total += w;
    }
    const K = this.classes;
    for (let c = 0; c < K; c++) out[c] = ((out[c] as number) / total) * (1 - K * FLOOR) + FLOOR;
    return true;
  }

  state(): KnnMemoryState {
    return {
      seen: this.seen,
      rngState: this.rng.state,
      vectors: this.vectors.slice(0, this.size * this.dim),
      labels: this.labels.slice(0, this.size),
      sum: this.sum.slice(),
      mean: this.mean.slice(),
      sinceRefresh: this.sinceRefresh,
    };
  }

  private put(slot: number, vector: ArrayLike<number>, label: number): void {
    const base = slot * this.dim;
    for (let j = 0; j < this.dim; j++) {
      const x = vector[j] as number;
      this.vectors[base + j] = x;
      this.sum[j] = (this.sum[j] as number) + x;
    }
    this.labels[slot] = label;
  }

  /** Recomputes the mean and every row's cached dot with it and centred norm. */
  private refresh(): void {
    this.sinceRefresh = 0;
    let mm = 0;
    for (let j = 0; j < this.dim; j++) {
      this.mean[j] = (this.sum[j] as number) / Math.max(this.size, 1);
      mm += (this.mean[j] as number) ** 2; // of the stored float32 mean, as a restore computes it
    }
    this.meanSq = mm;
    for (let i = 0; i < this.size; i++) {
      const base = i * this.dim;
      let sq = 0;
      for (let j = 0; j < this.dim; j++) sq += (this.vectors[base + j] as number) ** 2;
      this.sqNorm[i] = sq;
      this.refreshRow(i);
    }
  }

  private refreshRow(i: number): void {
    const base = i * this.dim;
    let dm = 0;
    let sq = 0;
    for (let j = 0; j < this.dim; j++) {
      const x = this.vectors[base + j] as number;
      dm += x * (this.mean[j] as number);
      sq += x * x;
    }
    this.dotMean[i] = dm;
    this.sqNorm[i] = sq;
    const c = sq - 2 * dm + this.meanSq;
    this.invNorm[i] = c > 1e-12 ? 1 / Math.sqrt(c) : 0;
  }
}
