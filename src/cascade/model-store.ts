/**
 * Saves and restores a cascade's learned state: the LR weights, the mid model (its dense part as a standard
 * tfjs LayersModel — model.json + weights.bin — and its embedding bag), the deferral policies, the budget
 * controller and the random generator, so a restarted service continues where it stopped.
 *
 * Layout: `<dir>/manifest.json`, `<dir>/lr/…`, `<dir>/mid/…`. A save writes a sibling folder and swaps it
 * in with renames, so a crash mid-save leaves the previous state intact; a save that fails (read-only or full
 * disk) removes its partial folder and rejects with ModelSaveError. The manifest (format 2) lists every file
 * with its size, SHA-256 and shape; a load checks them and refuses non-finite weights (model-integrity.ts).
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { CorruptModelStateError, ModelSaveError, ModelStateError } from '../errors.js';
import type { Task } from '../llm/index.js';
import type { BudgetControllerState } from './budget-controller.js';
import type { CascadeParts } from './cascade.js';
import { DeferralPolicy, legacyPolicyFeatureCount, policyFeatureCount, type DeferralPolicyState } from './deferral-policy.js';
import { loadMemories, saveMemories, type MemoriesManifest, type SavedMemories } from './memory-store.js';
import type { LogisticRegressorState } from './logistic-regressor.js';
import type { MidModel, MidModelState } from './mid-model.js';
import { floatBytes, firstNonFinite, readChecked, requireFinite, sha256, type FileEntry } from './model-integrity.js';
import { LrStage, MidStage } from './stages.js';

/** 2: files carry checksums and shapes. 1 (no checksums) is still read. */
const FORMAT = 2;
const READABLE_FORMATS = new Set([1, 2]);

interface Manifest extends MemoriesManifest {
  format: number;
  task: string;
  labels: string[];
  featureDim: number;
  stages: string[];
  /** The mid stage's sentence vectors ('glove' when absent: saves before the key existed). */
  sentenceEncoder?: string;
  savedAt: string;
  budget: BudgetControllerState;
  rngState: number;
  versions: Record<string, number>;
  policies: Record<string, { updates: number; weights: number[]; gradSquares: number[] }>;
  lr?: { learningRate: number; l2: number; updates: number };
  /** `sentenceSeen`: items behind the saved running mean of the encoder's vectors (mid/sentence-mean.f32), with `centreEncoder`. */
  mid?: { updates: number; labels: number; sentenceSeen?: number };
  /** What the caller stored beside the state (shared learning: the label offset it includes). */
  meta?: Record<string, number>;
  /** Every other file of the save, by path relative to the folder (format 2). */
  files?: Record<string, FileEntry>;
}

/** What a restore hands to the cascade factory. */
export interface SavedState extends SavedMemories {
  budget: BudgetControllerState;
  rngState: number;
  policies: Record<string, DeferralPolicyState>;
  lr?: LogisticRegressorState;
  mid?: { model: tf.LayersModel; state: MidModelState };
}

function f32(buf: Buffer): Float32Array {
  // Copy: a Buffer may share a larger pool and be unaligned.
  return new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
}

/** Writes one file of a save and records it for the manifest. */
type Put = (file: string, bytes: Uint8Array, shape?: number[]) => Promise<void>;

async function saveLayersModel(model: tf.LayersModel, prefix: string, put: Put): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const bytes =
        weightData === undefined ? new Uint8Array() : new Uint8Array(Array.isArray(weightData) ? await new Blob(weightData).arrayBuffer() : weightData);
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: 'spillway',
        convertedBy: null,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
      };
      await put(`${prefix}/model.json`, Buffer.from(JSON.stringify(modelJson)));
      await put(`${prefix}/weights.bin`, bytes);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/**
 * Loads a tfjs LayersModel saved in the standard format (model.json + its weight files) from a folder.
 * Works on every backend: pure tfjs has no file:// handler in Node, so the files are read here.
 */
export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(await readFile(`${dir}/model.json`, 'utf8')) as {
    modelTopology: object;
    weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
  };
  const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
  const buffers = await Promise.all(modelJson.weightsManifest.flatMap((g) => g.paths.map((p) => readFile(`${dir}/${p}`))));
  const joined = Buffer.concat(buffers);
  const weightData = joined.buffer.slice(joined.byteOffset, joined.byteOffset + joined.byteLength);
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: specs, weightData }));
}

// Saves to the same folder from one process are queued: two cascades of one task (a benchmark, a test)
// must not interleave their renames.
const saveQueues = new Map<string, Promise<void>>();
let saveCounter = 0;

/**
 * Writes the cascade's state under `dir` (atomically replacing any previous save), with `meta` in its
 * manifest (read back by {@link readStateMeta}).
 */
export function saveCascadeState(dir: string, parts: CascadeParts, task: Task, meta?: Record<string, number>): Promise<void> {
  const previous = saveQueues.get(dir) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => writeState(dir, parts, task, meta));
  saveQueues.set(dir, run);
  void run
    .finally(() => {
      if (saveQueues.get(dir) === run) saveQueues.delete(dir);
    })
    .catch(() => undefined);
  return run;
}

async function writeState(dir: string, parts: CascadeParts, task: Task, meta?: Record<string, number>): Promise<void> {
  const tag = `${process.pid}-${++saveCounter}`;
  const next = `${dir}.next-${tag}`;
  try {
    await writeInto(next, parts, task, dir, meta);
    const old = `${dir}.old-${tag}`;
    if (existsSync(dir)) await rename(dir, old);
    await rename(next, dir);
    await rm(old, { recursive: true, force: true });
  } catch (err: unknown) {
    // Never leave a half-written folder behind; the previous save (if any) is untouched.
    await rm(next, { recursive: true, force: true }).catch(() => undefined);
    if (err instanceof ModelSaveError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new ModelSaveError(dir, `${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

async function writeInto(next: string, parts: CascadeParts, task: Task, dir: string, meta: Record<string, number> | undefined): Promise<void> {
  await rm(next, { recursive: true, force: true });
  await mkdir(next, { recursive: true });
  const manifest: Manifest = {
    format: FORMAT,
    task: task.name,
    labels: [...task.labels],
    featureDim: parts.featurizer.dim,
    stages: parts.stages.map((s) => s.name),
    sentenceEncoder: parts.encoder?.name ?? 'glove',
    savedAt: new Date().toISOString(),
    budget: parts.budget.state(),
    rngState: parts.rng.state,
    versions: Object.fromEntries(parts.stages.map((s) => [s.name, s.version])),
    policies: {},
    ...(meta === undefined ? {} : { meta }),
    files: {},
  };
  const files = manifest.files as Record<string, FileEntry>;
  const put: Put = async (file, bytes, shape) => {
    await writeFile(`${next}/${file}`, bytes);
    files[file] = { bytes: bytes.byteLength, sha256: sha256(bytes), ...(shape === undefined ? {} : { shape }) };
  };
  // A model that went non-finite in memory must not overwrite the last good save.
  const finite = (what: string, values: Float32Array): Float32Array => {
    const at = firstNonFinite(values);
    if (at >= 0) throw new ModelSaveError(dir, `${what} has a non-finite value at ${at} (${String(values[at])}); the previous save is kept`);
    return values;
  };
  const keep = (key: string, p: unknown): void => {
    if (!(p instanceof DeferralPolicy)) return; // the threshold baseline has nothing to save
    const st = p.state();
    manifest.policies[key] = {
      updates: st.updates,
      weights: Array.from(finite(`policy ${key}`, st.weights)),
      gradSquares: Array.from(finite(`policy ${key}`, st.gradSquares)),
    };
  };
  parts.policies.forEach((p, i) => keep((parts.stages[i] as { name: string }).name, p));
  parts.multiplexer?.forEach((p, i) => keep(`mux-${(parts.stages[i] as { name: string }).name}`, p));
  for (const stage of parts.stages) {
    await mkdir(`${next}/${stage.name}`, { recursive: true });
    if (stage instanceof LrStage) {
      const st = stage.model.state();
      manifest.lr = { learningRate: st.learningRate, l2: st.l2, updates: st.updates };
      await put('lr/weights.f32', floatBytes(finite('lr weights', st.weights)), [st.dim, st.classes]);
      await put('lr/grad-squares.f32', floatBytes(finite('lr grad squares', st.gradSquares)), [st.dim, st.classes]);
      await saveMemories(stage, manifest, put, finite);
    } else if (stage instanceof MidStage) {
      const model: MidModel = stage.model;
      const st = model.state();
      manifest.mid = { updates: st.updates, labels: st.labels, ...(st.sentenceSeen === undefined ? {} : { sentenceSeen: st.sentenceSeen }) };
      model.model.getWeights().forEach((w, i) => finite(`mid weight ${i}`, w.dataSync() as Float32Array));
      await saveLayersModel(model.model, 'mid', put);
      await put('mid/bag.f32', floatBytes(finite('mid bag', st.bag)), [st.bag.length]);
      await put('mid/bag-grad-squares.f32', floatBytes(finite('mid bag grad squares', st.bagGradSquares)), [st.bagGradSquares.length]);
      if (st.sentenceMean !== undefined) await put('mid/sentence-mean.f32', floatBytes(finite('mid sentence mean', st.sentenceMean)), [st.sentenceMean.length]);
      await saveMemories(stage, manifest, put, finite);
    }
  }
  await writeFile(`${next}/manifest.json`, JSON.stringify(manifest, null, 1));
}

/** The `meta` a save stored in `dir`'s manifest; undefined when there is no state or no meta. */
export async function readStateMeta(dir: string): Promise<Record<string, number> | undefined> {
  if (!existsSync(`${dir}/manifest.json`)) return undefined;
  try {
    return (JSON.parse(await readFile(`${dir}/manifest.json`, 'utf8')) as Manifest).meta;
  } catch (err: unknown) {
    throw new ModelStateError(dir, 'manifest.json is unreadable', { cause: err });
  }
}

/** What the running configuration expects of saved state. */
export interface StateExpectation {
  classes: number;
  featureDim: number;
  stages: readonly string[];
  labels: readonly string[];
  sentenceEncoder?: string;
}

/** A manifest file's entry, checked against the manifest (format 2 lists every file). */
type EntryOf = (file: string) => FileEntry | undefined;

/**
 * Reads saved state, or returns undefined when `dir` holds none. Throws ModelStateError when the state
 * exists but does not fit the running configuration (other labels, feature size or stages), and
 * CorruptModelStateError when a file is missing, truncated, altered, misshapen or holds non-finite weights.
 */
export async function loadCascadeState(dir: string, expect: StateExpectation): Promise<SavedState | undefined> {
  if (!existsSync(`${dir}/manifest.json`)) return undefined;
  const manifest = await readManifest(dir);
  checkFit(dir, manifest, expect);
  const files = manifest.files ?? {};
  const checked = manifest.format >= 2;
  const entry: EntryOf = (file) => {
    const e = files[file];
    if (checked && e === undefined) throw new CorruptModelStateError(dir, file, 'is not listed in the manifest');
    return e;
  };
  const budget = manifest.budget;
  if (!(Number.isFinite(budget?.threshold) && Number.isFinite(manifest.rngState)))
    throw new CorruptModelStateError(dir, 'manifest.json', 'budget threshold or random state is not a number');
  const saved: SavedState = {
    budget,
    rngState: manifest.rngState,
    policies: loadPolicies(dir, manifest, expect.classes),
    ...(await loadMemories(dir, manifest, manifest.featureDim, expect.classes, entry)),
  };
  if (manifest.lr !== undefined) saved.lr = await loadLr(dir, manifest, manifest.lr, expect.classes, entry);
  if (manifest.mid !== undefined) saved.mid = await loadMid(dir, manifest.mid, entry);
  return saved;
}

/** The manifest, with its required fields present. */
async function readManifest(dir: string): Promise<Manifest> {
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(`${dir}/manifest.json`, 'utf8')) as Manifest;
  } catch (err: unknown) {
    throw new CorruptModelStateError(dir, 'manifest.json', 'is unreadable or not JSON', { cause: err });
  }
  if (
    typeof manifest !== 'object' ||
    manifest === null ||
    !Array.isArray(manifest.labels) ||
    !Array.isArray(manifest.stages) ||
    typeof manifest.policies !== 'object' ||
    manifest.policies === null
  ) {
    throw new CorruptModelStateError(dir, 'manifest.json', 'lacks labels, stages or policies');
  }
  return manifest;
}

/** Refuses state saved under another configuration: format, labels, feature size, stages, sentence encoder. */
function checkFit(dir: string, manifest: Manifest, expect: StateExpectation): void {
  const problems: string[] = [];
  if (!READABLE_FORMATS.has(manifest.format)) problems.push(`format ${manifest.format}, expected ${FORMAT}`);
  if (manifest.labels.join('\u0000') !== expect.labels.join('\u0000')) problems.push(`labels [${manifest.labels.join(', ')}] differ from the task's`);
  if (manifest.featureDim !== expect.featureDim) problems.push(`feature dim ${manifest.featureDim}, configured ${expect.featureDim}`);
  if (manifest.stages.join() !== expect.stages.join()) problems.push(`stages [${manifest.stages.join(', ')}], configured [${expect.stages.join(', ')}]`);
  const savedEncoder = manifest.sentenceEncoder ?? 'glove';
  if (expect.stages.includes('mid') && savedEncoder !== (expect.sentenceEncoder ?? 'glove')) {
    problems.push(`the mid stage learned on ${savedEncoder} sentence vectors, configured ${expect.sentenceEncoder ?? 'glove'}`);
  }
  if (problems.length > 0) throw new ModelStateError(dir, `${problems.join('; ')} (move the folder away, or run with --reset-models, to start fresh)`);
}

/** The deferral policies, their weights finite and of a size this code reads. */
function loadPolicies(dir: string, manifest: Manifest, classes: number): Record<string, DeferralPolicyState> {
  const policies: Record<string, DeferralPolicyState> = {};
  for (const [name, p] of Object.entries(manifest.policies)) {
    if (!Array.isArray(p.weights) || !Array.isArray(p.gradSquares) || p.weights.length !== p.gradSquares.length)
      throw new CorruptModelStateError(dir, 'manifest.json', `policy ${name} has misshapen weights`);
    // JSON has no NaN: a non-finite weight was saved as null.
    const numbers = (xs: unknown[]): number[] => xs.map((w) => (typeof w === 'number' ? w : Number.NaN));
    requireFinite(dir, `manifest.json (policy ${name})`, numbers(p.weights));
    requireFinite(dir, `manifest.json (policy ${name})`, numbers(p.gradSquares));
    // Policies saved before the agreement feature have one weight fewer: they load with its weight at 0.
    const sizes = [policyFeatureCount(classes), legacyPolicyFeatureCount(classes)];
    if (!sizes.includes(p.weights.length))
      throw new ModelStateError(
        dir,
        `the ${name} policy has ${p.weights.length} weights, expected ${sizes[0]} (move the folder away, or run with --reset-models, to start fresh)`,
      );
    policies[name] = { classes, updates: p.updates, weights: Float32Array.from(p.weights), gradSquares: Float32Array.from(p.gradSquares) };
  }
  return policies;
}

/** A file of float32 values, checked against its manifest entry and finite. */
async function finiteFloats(dir: string, file: string, e: FileEntry | undefined, size?: number): Promise<Float32Array> {
  const values = f32(await readChecked(dir, file, e, size));
  requireFinite(dir, file, values);
  return values;
}

/** The logistic regressor's weights and AdaGrad sums. */
async function loadLr(
  dir: string,
  manifest: Manifest,
  lr: NonNullable<Manifest['lr']>,
  classes: number,
  entry: EntryOf,
): Promise<NonNullable<SavedState['lr']>> {
  const size = manifest.featureDim * classes;
  return {
    dim: manifest.featureDim,
    classes,
    learningRate: lr.learningRate,
    l2: lr.l2,
    updates: lr.updates,
    weights: await finiteFloats(dir, 'lr/weights.f32', entry('lr/weights.f32'), size),
    gradSquares: await finiteFloats(dir, 'lr/grad-squares.f32', entry('lr/grad-squares.f32'), size),
  };
}

/** The mid model: its tfjs network, embedding bag and sentence mean. */
async function loadMid(dir: string, mid: NonNullable<Manifest['mid']>, entry: EntryOf): Promise<NonNullable<SavedState['mid']>> {
  for (const file of ['mid/model.json', 'mid/weights.bin']) await readChecked(dir, file, entry(file));
  let model: tf.LayersModel;
  try {
    model = await loadLayersModel(`${dir}/mid`);
  } catch (err: unknown) {
    throw new CorruptModelStateError(dir, 'mid/model.json', `is not a loadable tfjs model (${err instanceof Error ? err.message : String(err)})`, {
      cause: err,
    });
  }
  model.getWeights().forEach((w, i) => requireFinite(dir, `mid/weights.bin (weight ${i})`, w.dataSync()));
  const floats = (file: string): Promise<Float32Array> => {
    const e = entry(file);
    return finiteFloats(dir, file, e, e?.shape?.[0]);
  };
  const bag = await floats('mid/bag.f32');
  const bagGradSquares = await floats('mid/bag-grad-squares.f32');
  if (bag.length !== bagGradSquares.length)
    throw new CorruptModelStateError(dir, 'mid/bag-grad-squares.f32', `holds ${bagGradSquares.length} floats, the bag ${bag.length}`);
  const seen = mid.sentenceSeen;
  const centre = seen === undefined ? {} : { sentenceMean: await floats('mid/sentence-mean.f32'), sentenceSeen: seen };
  return { model, state: { updates: mid.updates, labels: mid.labels, bag, bagGradSquares, ...centre } };
}
