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
 * of plain dot products over the matrix (see `nearest`): one WebAssembly SIMD call (dot-rows.ts), or a
 * typed-array loop where WebAssembly SIMD is missing. Rows are updated in place, so every row is scored the
 * same way and a restored memory (same rows in the same slots) votes exactly as the saved one did.
 */
import { DotRows, simdAvailable } from './dot-rows.js';
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
   * How a query scores the rows: `simd`, one WebAssembly SIMD call over float32 rows (sums in float32);
   * `loop`, plain typed arrays (sums in float64); `auto`, simd where the runtime has it.
   * @defaultValue 'auto'
   */
  search?: 'auto' | 'simd' | 'loop';
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
  /** Written by versions that scored recently changed rows apart from the others; ignored when read. */
  changed?: Int32Array;
}

const REFRESH_EVERY = 64;
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
  /**
   * The rows centred on `mean` and scaled to unit length (a zero row when the centred row is empty),
   * `stride` floats apart (the width rounded up to 4, zero-padded): in WebAssembly memory for the simd search.
   */
  private readonly unit: Float32Array;
  private readonly stride: number;
  /** The simd search (undefined: the loop). */
  private readonly dot: DotRows | undefined;
  private readonly labels: Int32Array;
  private readonly sum: Float64Array;
  private readonly mean: Float32Array;
  private sinceRefresh = 0;
  /** Per-query scratch: the centred unit query, the top similarities (descending) and their rows. */
  private readonly query: Float64Array;
  private readonly query32: Float32Array;
  /** Each row's score for the current query (the loop's; the simd search writes `dot.scores`). */
  private readonly scores: Float64Array;
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
    const search = options.search ?? 'auto';
    this.dot = search === 'simd' || (search === 'auto' && simdAvailable()) ? new DotRows(this.capacity, this.dim) : undefined;
    this.stride = this.dot?.stride ?? this.dim;
    this.unit = this.dot?.rows ?? new Float32Array(this.capacity * this.stride);
    this.labels = new Int32Array(this.capacity);
    this.sum = new Float64Array(this.dim);
    this.mean = new Float32Array(this.dim);
    this.query = new Float64Array(this.dim);
    this.query32 = new Float32Array(this.dim);
    this.scores = new Float64Array(this.dot === undefined ? this.capacity : 0);
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
    const dot = this.dot;
    if (dot === undefined) {
      this.scoreRows(0, n);
      this.selectTop(this.scores, n);
    } else {
      const q32 = dot.query;
      for (let j = 0; j < d; j++) q32[j] = q[j] as number;
      dot.score(n);
      this.selectTop(dot.scores, n);
    }
    return k;
  }

  /**
   * The `neighbours` best of scores[0..n−1] (n ≥ neighbours) into `topSim` / `topRow`, best first (ties: the
   * lower row first). A binary heap of the best so far with the worst at its root, ~6 µs a query over 2,048
   * rows: the insertion into a sorted list of 30 it replaced took two thirds of the search outside the kernel
   * (CPU profile); a score histogram for a floor measured no faster (its counters are a dependency chain).
   */
  private selectTop(scores: Float32Array | Float64Array, n: number): void {
    const k = this.neighbours;
    const sims = this.topSim;
    const rows = this.topRow;
    for (let i = 0; i < k; i++) {
      sims[i] = scores[i] as number;
      rows[i] = i;
    }
    for (let i = (k >> 1) - 1; i >= 0; i--) this.siftDown(i);
    for (let i = k; i < n; i++) {
      // A later row never displaces an equal one: the lower row wins ties.
      const s = scores[i] as number;
      if (s > (sims[0] as number)) {
        sims[0] = s;
        rows[0] = i;
        this.siftDown(0);
      }
    }
    // Best first, ties by row.
    for (let i = 1; i < k; i++) {
      const s = sims[i] as number;
      const r = rows[i] as number;
      let p = i;
      while (p > 0 && ((sims[p - 1] as number) < s || ((sims[p - 1] as number) === s && (rows[p - 1] as number) > r))) {
        sims[p] = sims[p - 1] as number;
        rows[p] = rows[p - 1] as number;
        p--;
      }
      sims[p] = s;
      rows[p] = r;
    }
  }

  /** Restores the heap below `at`: each parent worse than its children (lower score; on ties, the higher row). */
  private siftDown(at: number): void {
    const k = this.neighbours;
    const sims = this.topSim;
    const rows = this.topRow;
    const s = sims[at] as number;
    const r = rows[at] as number;
    let p = at;
    for (;;) {
      let child = 2 * p + 1;
      if (child >= k) break;
      const right = child + 1;
      if (right < k && worse(sims[right] as number, rows[right] as number, sims[child] as number, rows[child] as number)) child = right;
      if (!worse(sims[child] as number, rows[child] as number, s, r)) break;
      sims[p] = sims[child] as number;
      rows[p] = rows[child] as number;
      p = child;
    }
    sims[p] = s;
    rows[p] = r;
  }

  /**
   * Scores rows from..to by the loop. Four rows share each load of the query and keep four independent
   * sums, so the adds do not wait on one another; with centred unit rows a score is a bare dot product.
   * On Node 20 (2-core dev machine) 2,048 × 100 took 93 µs against 240 µs for one row at a time with the
   * centring folded into each score (2.2 vs 0.85 G multiply-adds/s); eight rows at a time, a dim-major
   * layout, Int16 rows or a PCA-prefix bound that skips rows (exact, but branchy) were no faster.
   */
  private scoreRows(from: number, to: number): void {
    const d = this.stride;
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
    const d = this.stride;
    const q = this.query;
    const v = this.unit;
    const b = i * d;
    let s = 0;
    for (let j = 0; j < d; j++) s += (q[j] as number) * (v[b + j] as number);
    this.scores[i] = s;
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

  /** Nothing to free by hand any more (the rows live in WebAssembly memory the collector frees); kept for callers. */
  dispose(): void {
    return;
  }

  /** Recomputes the mean and every row's centred unit form. */
  private refresh(): void {
    this.sinceRefresh = 0;
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
    const at = i * this.stride;
    for (let j = 0; j < d; j++) this.unit[at + j] = ((this.vectors[base + j] as number) - (this.mean[j] as number)) * inv;
  }
}

/** True when neighbour (simA, rowA) ranks below (simB, rowB): a lower score, or an equal one at a higher row. */
function worse(simA: number, rowA: number, simB: number, rowB: number): boolean {
  return simA < simB || (simA === simB && rowA > rowB);
}
