/**
 * A bounded memory of the items the LLM labelled, so every label can teach the small stages more than once:
 * the LR replays a few remembered items after each new label (rehearsal: several passes over all labels so
 * far, spread over the stream, instead of one), and the nearest-neighbour memory (knn-memory.ts) reads
 * the same items' sentence vectors.
 *
 * Past capacity, reservoir sampling keeps a uniform sample of every label seen, old and new alike.
 */
import type { SparseVector } from './featurizer.js';
import { Rng } from './rng.js';

/** One remembered labelled item. */
export interface LabelledExample {
  sparse: SparseVector;
  label: number;
  /** Importance of the label (the task objective's class weight; 1 by default). */
  weight: number;
}

/** Saved form: the examples' sparse vectors concatenated, with offsets. */
export interface LabelMemoryState {
  seen: number;
  rngState: number;
  labels: Int32Array;
  /** Each example's weight (absent in saves from before weights: all 1). */
  weights?: Float32Array;
  /** offsets[i]..offsets[i+1] are example i's entries in `indices` / `values`. */
  offsets: Int32Array;
  indices: Int32Array;
  values: Float32Array;
}

export class LabelMemory {
  readonly capacity: number;
  private readonly examples: LabelledExample[] = [];
  private readonly rng: Rng;
  /** Labels offered to the memory so far (kept or not). */
  seen = 0;

  /** `capacity`: items kept; `seed`: of the reservoir's and the replay's random choices. */
  constructor(capacity: number, seed: number, state?: LabelMemoryState) {
    if (!(capacity >= 1)) throw new RangeError(`label memory capacity must be ≥ 1, got ${capacity}`);
    this.capacity = capacity;
    this.rng = new Rng(state?.rngState ?? seed);
    if (state !== undefined) {
      this.seen = state.seen;
      for (let i = 0; i < state.labels.length && this.examples.length < capacity; i++) {
        const from = state.offsets[i] as number;
        const to = state.offsets[i + 1] as number;
        this.examples.push({
          sparse: { indices: state.indices.slice(from, to), values: state.values.slice(from, to) },
          label: state.labels[i] as number,
          weight: state.weights?.[i] ?? 1,
        });
      }
    }
  }

  get size(): number {
    return this.examples.length;
  }

  /**
   * Remembers one labelled item. The vectors are copied: the featurizer's arrays are views on shared chunks
   * (typed-arena.ts), and keeping them would keep each chunk alive as long as the item is remembered.
   */
  add(example: LabelledExample): void {
    this.seen++;
    if (this.examples.length < this.capacity) {
      this.examples.push(ownCopy(example));
      return;
    }
    const slot = this.rng.int(this.seen);
    if (slot < this.capacity) this.examples[slot] = ownCopy(example);
  }

  /** A uniformly drawn remembered item (undefined when empty). */
  sample(): LabelledExample | undefined {
    if (this.examples.length === 0) return undefined;
    return this.examples[this.rng.int(this.examples.length)];
  }

  state(): LabelMemoryState {
    const n = this.examples.length;
    const offsets = new Int32Array(n + 1);
    let total = 0;
    this.examples.forEach((e, i) => {
      offsets[i] = total;
      total += e.sparse.indices.length;
    });
    offsets[n] = total;
    const indices = new Int32Array(total);
    const values = new Float32Array(total);
    const labels = new Int32Array(n);
    const weights = new Float32Array(n);
    this.examples.forEach((e, i) => {
      weights[i] = e.weight;
      indices.set(e.sparse.indices, offsets[i] as number);
      values.set(e.sparse.values, offsets[i] as number);
      labels[i] = e.label;
    });
    return { seen: this.seen, rngState: this.rng.state, labels, weights, offsets, indices, values };
  }
}

function ownCopy(example: LabelledExample): LabelledExample {
  const { indices, values } = example.sparse;
  return { sparse: { indices: indices.slice(), values: values.slice() }, label: example.label, weight: example.weight };
}
