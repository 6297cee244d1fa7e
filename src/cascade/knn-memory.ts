/**
 * A nearest-neighbour memory of LLM-labelled items over their sentence vectors (the mid model's SIF-weighted
 * GloVe mean): the k most similar remembered items vote for their labels, each weighted exp(T · cosine).
 * It lets a label help its neighbours at once, without waiting for gradient steps, and the mid stage blends
 * its votes into its own probabilities (a product of experts).
 *
 * Similarity is the cosine of mean-centred vectors: uncentred SIF means share one large common direction,
 * and plain cosine ranked neighbours by it (kNN agreement with the LLM 37 % uncentred, 43 % centred, isear).
 * The mean is the remembered vectors' running mean, refreshed every `REFRESH_EVERY` additions. Beside the
 * rows as given (saved, and summed for the mean) the memory keeps each row centred on that mean and scaled
 * to unit length, in one contiguous matrix, so a query is a centred, normalised query vector and one pass
 * of plain dot products over the matrix (see `nearest`): one tfjs matMul on the wasm or native backends,
 * a typed-array loop otherwise.
 */
import * as tf from '@tensorflow/tfjs';
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
  /**
   * How a query scores the rows: `tfjs`, one matMul on the active tfjs backend; `loop`, plain typed arrays;
   * `auto`, tfjs when the backend is wasm or native (where it is faster), the loop on tfjs's plain-JS backend.
   * @defaultValue 'auto'
   */
  search?: 'auto' | 'tfjs' | 'loop';
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
  /**
   * Rows added or replaced since the last refresh, in order; the tfjs search scores them apart from the
   * matrix (saves before this field: none, so such a restore votes as before to float32 rounding).
   */
  changed?: Int32Array;
}

const REFRESH_EVERY = 64;
// tfjs backends whose matMul beats the typed-array loop (2,048 × 100: wasm 33 µs a query against 93 µs).
const MATMUL_BACKENDS = new Set(['wasm', 'tensorflow']);
// A class no neighbour voted for keeps this share: the blend must soften the mid model, never veto it.
const FLOOR = 1e-3;

export class KnnMemory {
  readonly dim: number;
  readonly classes: number;
  readonly capacity: number;
  /** Neighbours that vote. */
  readonly neighbours: number;
  private readonly temperature: number;
  private readonly rng: Rng;
  /** The rows as given, capacity × dim (what is saved and what the mean sums). */
  private readonly vectors: Float32Array;
  /** The rows centred on `mean` and scaled to unit length (a zero row when the centred row is empty). */
  private readonly unit: Float32Array;
  private readonly labels: Int32Array;
  private readonly sum: Float64Array;
  private readonly mean: Float32Array;
  private sinceRefresh = 0;
  /** Per-query scratch: the centred unit query, the top similarities (descending) and their rows. */
  private readonly query: Float64Array;
  private readonly query32: Float32Array;
  /** Each row's score for the current query. */
  private readonly scores: Float64Array;
  private readonly search: 'auto' | 'tfjs' | 'loop';
  /**
   * The tfjs path: `unit` dim-major (dim × capacity; unused slots zero), kept in step row by row; its tensor,
   * built at the first query after a refresh (which changes every row); and the rows changed since the
   * refresh (fewer than `REFRESH_EVERY`), which the loop scores instead. The changed rows are saved, so a
   * restored memory (same rows, same slots) scores every row as the saved one did and votes exactly alike.
   */
  private readonly unitByDim: Float32Array;
  private matrix: tf.Tensor2D | undefined;
  private readonly isChanged: Uint8Array;
  private readonly changed: Int32Array;
  private changedCount = 0;
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
    this.neighbours = options.neighbours ?? 30;
    this.temperature = options.temperature ?? 10;
    this.rng = new Rng(state?.rngState ?? options.seed);
    this.vectors = new Float32Array(this.capacity * this.dim);
    this.unit = new Float32Array(this.capacity * this.dim);
    this.labels = new Int32Array(this.capacity);
    this.sum = new Float64Array(this.dim);
    this.mean = new Float32Array(this.dim);
    this.query = new Float64Array(this.dim);
    this.query32 = new Float32Array(this.dim);
    this.scores = new Float64Array(this.capacity);
    this.search = options.search ?? 'auto';
    this.unitByDim = new Float32Array(this.capacity * this.dim);
    this.isChanged = new Uint8Array(this.capacity);
    this.changed = new Int32Array(this.capacity);
    this.topSim = new Float64Array(this.neighbours);
    this.topRow = new Int32Array(this.neighbours);
    if (state !== undefined) {
      this.seen = state.seen;
      const n = Math.min(state.labels.length, this.capacity);
      for (let i = 0; i < n; i++) this.put(i, state.vectors.subarray(i * this.dim, (i + 1) * this.dim), state.labels[i] as number);
      this.size = n;
      this.sum.set(state.sum);
      this.mean.set(state.mean);
      for (let i = 0; i < n; i++) this.refreshRow(i);
      this.sinceRefresh = state.sinceRefresh;
      for (const row of state.changed ?? []) if (row < n) this.markChanged(row);
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
    else {
      this.refreshRow(slot);
      this.markChanged(slot);
    }
  }

  /**
   * The neighbours' vote as class probabilities into `out`; false (and `out` untouched) when the memory
   * holds fewer than `neighbours` items or the vector is empty.
   */
  vote(vector: Float32Array, out: Float32Array): boolean {
    const k = this.neighbours;
    if (this.nearest(vector) < k) return false;
    const top = this.topSim;
    const rows = this.topRow;
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

  /**
   * The `neighbours` most similar rows to `vector` by centred cosine, most similar first (ties: the lower
   * row first), into `rows` and their cosines into `sims` when given. Returns how many were found: 0 when
   * the memory holds fewer than `neighbours` items or the centred vector is empty.
   */
  neighboursOf(vector: Float32Array, rows: Int32Array, sims?: Float64Array): number {
    const n = this.nearest(vector);
    rows.set(this.topRow.subarray(0, n));
    sims?.set(this.topSim.subarray(0, n));
    return n;
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
      changed: this.changed.slice(0, this.changedCount),
    };
  }

  /**
   * Fills `topSim`/`topRow` with the nearest rows; returns their count (`neighbours`, or 0). The hot path of
   * the mid stage: 2,048 rows × 100 dims per item at the default size.
   */
  private nearest(vector: Float32Array): number {
    const d = this.dim;
    const k = this.neighbours;
    const n = this.size;
    if (n < k) return 0;
    const q = this.query;
    const mean = this.mean;
    let qq = 0;
    let cc = 0;
    for (let j = 0; j < d; j++) {
      const x = vector[j] as number;
      const c = x - (mean[j] as number);
      q[j] = c;
      qq += x * x;
      cc += c * c;
    }
    if (!(cc > 1e-12) || qq === 0) return 0;
    const inv = 1 / Math.sqrt(cc);
    for (let j = 0; j < d; j++) q[j] = (q[j] as number) * inv;
    const scores = this.scores;
    if (this.search === 'tfjs' || (this.search === 'auto' && MATMUL_BACKENDS.has(tf.getBackend()))) this.scoreByMatMul();
    else this.scoreRows(0, n);
    const top = this.topSim;
    top.fill(-Infinity);
    let floor = -Infinity;
    for (let i = 0; i < n; i++) {
      // The floor (the k-th best so far) rejects almost every row after the first few hundred.
      const s = scores[i] as number;
      if (s > floor) floor = this.insert(s, i);
    }
    return k;
  }

  /**
   * Scores rows from..to by the loop. Four rows share each load of the query and keep four independent
   * sums, so the adds do not wait on one another; with centred unit rows a score is a bare dot product.
   * On Node 20 (2-core dev machine) 2,048 × 100 took 93 µs against 240 µs for one row at a time with the
   * centring folded into each score (2.2 vs 0.85 G multiply-adds/s); eight rows at a time, a dim-major
   * layout, Int16 rows or a PCA-prefix bound that skips rows (exact, but branchy) were no faster.
   */
  private scoreRows(from: number, to: number): void {
    const d = this.dim;
    const q = this.query;
    const v = this.unit;
    const scores = this.scores;
    let i = from;
    for (; i + 4 <= to; i += 4) {
      const b = i * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let j = 0; j < d; j++) {
        const x = q[j] as number;
        const p = b + j;
        s0 += x * (v[p] as number);
        s1 += x * (v[p + d] as number);
        s2 += x * (v[p + 2 * d] as number);
        s3 += x * (v[p + 3 * d] as number);
      }
      scores[i] = s0;
      scores[i + 1] = s1;
      scores[i + 2] = s2;
      scores[i + 3] = s3;
    }
    for (; i < to; i++) this.scoreRow(i);
  }

  private scoreRow(i: number): void {
    const d = this.dim;
    const q = this.query;
    const v = this.unit;
    const b = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += (q[j] as number) * (v[b + j] as number);
    this.scores[i] = s;
  }

  /** Scores every row with one matMul against the matrix as of the last refresh; rows changed since by the loop. */
  private scoreByMatMul(): void {
    const d = this.dim;
    if (this.matrix === undefined) {
      // Dim-major: the wasm backend's matMul with a transposed operand took 5× longer (326 vs 65 µs).
      // A copy, as a backend may read the values lazily while `unitByDim` changes in place.
      this.matrix = tf.keep(tf.tensor2d(this.unitByDim.slice(), [d, this.capacity]));
    }
    const q32 = this.query32;
    for (let j = 0; j < d; j++) q32[j] = this.query[j] as number;
    const matrix = this.matrix;
    const product = tf.tidy(() => tf.matMul(tf.tensor2d(q32, [1, d]), matrix));
    this.scores.set((product.dataSync() as Float32Array).subarray(0, this.size));
    product.dispose();
    for (let r = 0; r < this.changedCount; r++) this.scoreRow(this.changed[r] as number);
  }

  private markChanged(row: number): void {
    if (this.isChanged[row] === 1) return;
    this.isChanged[row] = 1;
    this.changed[this.changedCount++] = row;
  }

  /** Inserts into the sorted top-k (k is small); returns the new floor. */
  private insert(sim: number, row: number): number {
    const top = this.topSim;
    const rows = this.topRow;
    let p = this.neighbours - 1;
    while (p > 0 && (top[p - 1] as number) < sim) {
      top[p] = top[p - 1] as number;
      rows[p] = rows[p - 1] as number;
      p--;
    }
    top[p] = sim;
    rows[p] = row;
    return top[this.neighbours - 1] as number;
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

  /** Frees the tfjs copy of the rows; a later search rebuilds it. */
  dispose(): void {
    this.matrix?.dispose();
    this.matrix = undefined;
  }

  /** Recomputes the mean and every row's centred unit form. */
  private refresh(): void {
    this.sinceRefresh = 0;
    this.matrix?.dispose();
    this.matrix = undefined;
    for (let r = 0; r < this.changedCount; r++) this.isChanged[this.changed[r] as number] = 0;
    this.changedCount = 0;
    for (let j = 0; j < this.dim; j++) this.mean[j] = (this.sum[j] as number) / Math.max(this.size, 1);
    for (let i = 0; i < this.size; i++) this.refreshRow(i);
  }

  /** Row i centred on the current mean and scaled to unit length (float32 mean, as a restore reads it). */
  private refreshRow(i: number): void {
    const d = this.dim;
    const base = i * d;
    let cc = 0;
    for (let j = 0; j < d; j++) {
      const c = (this.vectors[base + j] as number) - (this.mean[j] as number);
      cc += c * c;
    }
    const inv = cc > 1e-12 ? 1 / Math.sqrt(cc) : 0;
    const cap = this.capacity;
    for (let j = 0; j < d; j++) {
      const u = ((this.vectors[base + j] as number) - (this.mean[j] as number)) * inv;
      this.unit[base + j] = u;
      this.unitByDim[j * cap + i] = u;
    }
  }
}
