/**
 * Saves and restores a cascade's learned state: the LR weights, the mid model (its dense part as a standard
 * tfjs LayersModel — model.json + weights.bin — and its embedding bag), the deferral policies, the budget
 * controller and the random generator, so a restarted service continues where it stopped.
 *
 * Layout: `<dir>/manifest.json`, `<dir>/lr/…`, `<dir>/mid/…`. A save writes a sibling folder and swaps it
 * in with renames, so a crash mid-save leaves the previous state intact.
 */
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs';
import { ModelStateError } from '../errors.js';
import type { Task } from '../llm/index.js';
import type { BudgetControllerState } from './budget-controller.js';
import type { CascadeParts } from './cascade.js';
import { DeferralPolicy, type DeferralPolicyState } from './deferral-policy.js';
import type { LogisticRegressorState } from './logistic-regressor.js';
import type { MidModel, MidModelState } from './mid-model.js';
import { LrStage, MidStage } from './stages.js';

const FORMAT = 1;

interface Manifest {
  format: number;
  task: string;
  labels: string[];
  featureDim: number;
  stages: string[];
  savedAt: string;
  budget: BudgetControllerState;
  rngState: number;
  versions: Record<string, number>;
  policies: Record<string, { updates: number; weights: number[]; gradSquares: number[] }>;
  lr?: { learningRate: number; l2: number; updates: number };
  mid?: { updates: number; labels: number };
  /** What the caller stored beside the state (shared learning: the label offset it includes). */
  meta?: Record<string, number>;
}

/** What a restore hands to the cascade factory. */
export interface SavedState {
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

async function saveLayersModel(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weightData = artifacts.weightData;
      const bytes = weightData === undefined ? new Uint8Array() : new Uint8Array(Array.isArray(weightData) ? await new Blob(weightData).arrayBuffer() : weightData);
      const modelJson = { modelTopology: artifacts.modelTopology, format: 'layers-model', generatedBy: 'spillway', convertedBy: null, weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }] };
      await writeFile(`${dir}/model.json`, JSON.stringify(modelJson));
      await writeFile(`${dir}/weights.bin`, bytes);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/**
 * Loads a tfjs LayersModel saved in the standard format (model.json + its weight files) from a folder.
 * Works on every backend: pure tfjs has no file:// handler in Node, so the files are read here.
 */
export async function loadLayersModel(dir: string): Promise<tf.LayersModel> {
  const modelJson = JSON.parse(await readFile(`${dir}/model.json`, 'utf8')) as { modelTopology: object; weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }> };
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
  void run.finally(() => {
    if (saveQueues.get(dir) === run) saveQueues.delete(dir);
  }).catch(() => undefined);
  return run;
}

async function writeState(dir: string, parts: CascadeParts, task: Task, meta?: Record<string, number>): Promise<void> {
  const tag = `${process.pid}-${++saveCounter}`;
  const next = `${dir}.next-${tag}`;
  await rm(next, { recursive: true, force: true });
  await mkdir(next, { recursive: true });
  const manifest: Manifest = {
    format: FORMAT,
    task: task.name,
    labels: [...task.labels],
    featureDim: parts.featurizer.dim,
    stages: parts.stages.map((s) => s.name),
    savedAt: new Date().toISOString(),
    budget: parts.budget.state(),
    rngState: parts.rng.state,
    versions: Object.fromEntries(parts.stages.map((s) => [s.name, s.version])),
    policies: {},
    ...(meta === undefined ? {} : { meta }),
  };
  const keep = (key: string, p: unknown): void => {
    if (!(p instanceof DeferralPolicy)) return; // the threshold baseline has nothing to save
    const st = p.state();
    manifest.policies[key] = { updates: st.updates, weights: Array.from(st.weights), gradSquares: Array.from(st.gradSquares) };
  };
  parts.policies.forEach((p, i) => keep((parts.stages[i] as { name: string }).name, p));
  parts.multiplexer?.forEach((p, i) => keep(`mux-${(parts.stages[i] as { name: string }).name}`, p));
  for (const stage of parts.stages) {
    await mkdir(`${next}/${stage.name}`, { recursive: true });
    if (stage instanceof LrStage) {
      const st = stage.model.state();
      manifest.lr = { learningRate: st.learningRate, l2: st.l2, updates: st.updates };
      await writeFile(`${next}/lr/weights.f32`, Buffer.from(st.weights.buffer, st.weights.byteOffset, st.weights.byteLength));
      await writeFile(`${next}/lr/grad-squares.f32`, Buffer.from(st.gradSquares.buffer, st.gradSquares.byteOffset, st.gradSquares.byteLength));
    } else if (stage instanceof MidStage) {
      const model: MidModel = stage.model;
      const st = model.state();
      manifest.mid = { updates: st.updates, labels: st.labels };
      await saveLayersModel(model.model, `${next}/mid`);
      await writeFile(`${next}/mid/bag.f32`, Buffer.from(st.bag.buffer, st.bag.byteOffset, st.bag.byteLength));
      await writeFile(`${next}/mid/bag-grad-squares.f32`, Buffer.from(st.bagGradSquares.buffer, st.bagGradSquares.byteOffset, st.bagGradSquares.byteLength));
    }
  }
  await writeFile(`${next}/manifest.json`, JSON.stringify(manifest, null, 1));
  const old = `${dir}.old-${tag}`;
  if (existsSync(dir)) await rename(dir, old);
  await rename(next, dir);
  await rm(old, { recursive: true, force: true });
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

/**
 * Reads saved state, or returns undefined when `dir` holds none. Throws ModelStateError when the state
 * exists but does not fit the running configuration (other labels, feature size or stages).
 */
export async function loadCascadeState(dir: string, expect: { classes: number; featureDim: number; stages: readonly string[]; labels: readonly string[] }): Promise<SavedState | undefined> {
  if (!existsSync(`${dir}/manifest.json`)) return undefined;
  let manifest: Manifest;
  try {
    manifest = JSON.parse(await readFile(`${dir}/manifest.json`, 'utf8')) as Manifest;
  } catch (err: unknown) {
    throw new ModelStateError(dir, 'manifest.json is unreadable', { cause: err });
  }
  const problems: string[] = [];
  if (manifest.format !== FORMAT) problems.push(`format ${manifest.format}, expected ${FORMAT}`);
  if (manifest.labels.join('\u0000') !== expect.labels.join('\u0000')) problems.push(`labels [${manifest.labels.join(', ')}] differ from the task's`);
  if (manifest.featureDim !== expect.featureDim) problems.push(`feature dim ${manifest.featureDim}, configured ${expect.featureDim}`);
  if (manifest.stages.join() !== expect.stages.join()) problems.push(`stages [${manifest.stages.join(', ')}], configured [${expect.stages.join(', ')}]`);
  if (problems.length > 0) throw new ModelStateError(dir, `${problems.join('; ')} (move the folder away to start fresh)`);
  const policies: Record<string, DeferralPolicyState> = {};
  for (const [name, p] of Object.entries(manifest.policies)) {
    policies[name] = { classes: expect.classes, updates: p.updates, weights: Float32Array.from(p.weights), gradSquares: Float32Array.from(p.gradSquares) };
  }
  const saved: SavedState = { budget: manifest.budget, rngState: manifest.rngState, policies };
  if (manifest.lr !== undefined) {
    saved.lr = {
      dim: manifest.featureDim,
      classes: expect.classes,
      learningRate: manifest.lr.learningRate,
      l2: manifest.lr.l2,
      updates: manifest.lr.updates,
      weights: f32(await readFile(`${dir}/lr/weights.f32`)),
      gradSquares: f32(await readFile(`${dir}/lr/grad-squares.f32`)),
    };
  }
  if (manifest.mid !== undefined) {
    saved.mid = {
      model: await loadLayersModel(`${dir}/mid`),
      state: { updates: manifest.mid.updates, labels: manifest.mid.labels, bag: f32(await readFile(`${dir}/mid/bag.f32`)), bagGradSquares: f32(await readFile(`${dir}/mid/bag-grad-squares.f32`)) },
    };
  }
  return saved;
}
