/**
 * Saving and restoring what the small stages learn from besides their weights (model-store.ts calls these):
 * the LR ensemble's extra members, the LR's rehearsal memory and the mid stage's neighbour memory. Each is
 * optional in a save: a folder saved before it existed loads with that part fresh (members) or empty
 * (memories); a part present but misshapen is refused as corrupt.
 */
import { CorruptModelStateError } from '../errors.js';
import type { KnnMemoryState } from './knn-memory.js';
import type { LabelMemoryState } from './label-memory.js';
import type { LogisticRegressorState } from './logistic-regressor.js';
import { readChecked, requireFinite, type FileEntry } from './model-integrity.js';
import { LrStage, MidStage, type SmallStage } from './stages.js';

/** The manifest's record of these parts (the arrays are files under lr/ and mid/). */
export interface MemoriesManifest {
  /** The LR ensemble's members beyond the first (files lr/member-<m>-*.f32, m from 1). */
  lrMembers?: Array<{ learningRate: number; l2: number; updates: number }>;
  /** The LR's rehearsal memory. */
  labelMemory?: { seen: number; rngState: number; items: number };
  /** The mid stage's neighbour memory, with its running sum and refreshed mean (so votes restore exactly). */
  knnMemory?: {
    seen: number;
    rngState: number;
    items: number;
    dim: number;
    sum: number[];
    mean: number[];
    sinceRefresh: number;
    /** Rows changed since the last refresh: read by versions that scored them apart; now written empty and ignored. */
    changed?: number[];
  };
}

/** What a restore hands to the cascade factory. */
export interface SavedMemories {
  lrMembers?: LogisticRegressorState[];
  labelMemory?: LabelMemoryState;
  knnMemory?: KnnMemoryState;
}

type Put = (file: string, bytes: Uint8Array, shape?: number[]) => Promise<void>;
type Finite = (what: string, values: Float32Array) => Float32Array;

function bytesOf(a: Int32Array | Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Writes one stage's memories through `put`, recording them in `manifest`. */
export async function saveMemories(stage: SmallStage, manifest: MemoriesManifest, put: Put, finite: Finite): Promise<void> {
  if (stage instanceof LrStage) {
    const members = stage.ensemble?.models ?? [];
    if (members.length > 0) manifest.lrMembers = [];
    for (const [m, member] of members.entries()) {
      const st = member.state();
      manifest.lrMembers?.push({ learningRate: st.learningRate, l2: st.l2, updates: st.updates });
      await put(`lr/member-${m + 1}-weights.f32`, bytesOf(finite(`lr member ${m + 1} weights`, st.weights)), [st.dim, st.classes]);
      await put(`lr/member-${m + 1}-grad-squares.f32`, bytesOf(finite(`lr member ${m + 1} grad squares`, st.gradSquares)), [st.dim, st.classes]);
    }
    const memory = stage.rehearsal?.memory.state();
    if (memory !== undefined) {
      manifest.labelMemory = { seen: memory.seen, rngState: memory.rngState, items: memory.labels.length };
      await put('lr/memory-labels.i32', bytesOf(memory.labels));
      await put('lr/memory-weights.f32', bytesOf(finite('lr memory weights', memory.weights ?? new Float32Array(memory.labels.length).fill(1))));
      await put('lr/memory-offsets.i32', bytesOf(memory.offsets));
      await put('lr/memory-indices.i32', bytesOf(memory.indices));
      await put('lr/memory-values.f32', bytesOf(finite('lr memory values', memory.values)));
    }
  } else if (stage instanceof MidStage) {
    const knn = stage.neighbours?.memory;
    if (knn === undefined) return;
    const ks = knn.state();
    manifest.knnMemory = {
      seen: ks.seen,
      rngState: ks.rngState,
      items: ks.labels.length,
      dim: knn.dim,
      sum: Array.from(ks.sum),
      mean: Array.from(ks.mean),
      sinceRefresh: ks.sinceRefresh,
      changed: Array.from(ks.changed ?? []),
    };
    await put('mid/knn-vectors.f32', bytesOf(finite('mid neighbour vectors', ks.vectors)), [ks.labels.length, knn.dim]);
    await put('mid/knn-labels.i32', bytesOf(ks.labels));
  }
}

/** Reads the memories a manifest lists; `entry` checks each file against the manifest's checksums. */
export async function loadMemories(
  dir: string,
  manifest: MemoriesManifest,
  featureDim: number,
  classes: number,
  entry: (file: string) => FileEntry | undefined,
): Promise<SavedMemories> {
  const out: SavedMemories = {};
  const floats = async (file: string, count?: number): Promise<Float32Array> => {
    const b = await readChecked(dir, file, entry(file), count);
    const values = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
    requireFinite(dir, file, values);
    return values;
  };
  const ints = async (file: string, count?: number): Promise<Int32Array> => {
    const b = await readChecked(dir, file, entry(file), count);
    return new Int32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  if (manifest.lrMembers !== undefined) {
    out.lrMembers = [];
    for (const [m, member] of manifest.lrMembers.entries()) {
      const size = featureDim * classes;
      const weights = await floats(`lr/member-${m + 1}-weights.f32`, size);
      const gradSquares = await floats(`lr/member-${m + 1}-grad-squares.f32`, size);
      out.lrMembers.push({ dim: featureDim, classes, ...member, weights, gradSquares });
    }
  }
  if (manifest.labelMemory !== undefined) {
    const n = manifest.labelMemory.items;
    const labels = await ints('lr/memory-labels.i32', n);
    const weights = await floats('lr/memory-weights.f32', n);
    const offsets = await ints('lr/memory-offsets.i32', n + 1);
    const indices = await ints('lr/memory-indices.i32');
    const values = await floats('lr/memory-values.f32', indices.length);
    if (offsets[n] !== indices.length)
      throw new CorruptModelStateError(dir, 'lr/memory-offsets.i32', `ends at ${offsets[n]}, the memory holds ${indices.length} entries`);
    out.labelMemory = { seen: manifest.labelMemory.seen, rngState: manifest.labelMemory.rngState, labels, weights, offsets, indices, values };
  }
  if (manifest.knnMemory !== undefined) {
    const m = manifest.knnMemory;
    if (m.sum.length !== m.dim || m.mean.length !== m.dim) throw new CorruptModelStateError(dir, 'manifest.json', "the neighbour memory's mean is misshapen");
    const vectors = await floats('mid/knn-vectors.f32', m.items * m.dim);
    const labels = await ints('mid/knn-labels.i32', m.items);
    const changed = m.changed ?? [];
    if (!changed.every((row) => Number.isInteger(row) && row >= 0 && row < m.items))
      throw new CorruptModelStateError(dir, 'manifest.json', "the neighbour memory's changed rows are out of range");
    out.knnMemory = {
      seen: m.seen,
      rngState: m.rngState,
      vectors,
      labels,
      sum: Float64Array.from(m.sum),
      mean: Float32Array.from(m.mean),
      sinceRefresh: m.sinceRefresh,
      changed: Int32Array.from(changed),
    };
  }
  return out;
}
