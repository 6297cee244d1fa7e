/**
 * Checks saved state before it is restored, without building any model: shared learning asks it of every
 * snapshot (and of the local models folder) so that a damaged one is passed over for an older one instead of
 * stopping the worker at start. The state is given as its files (path → bytes), from an archive or a folder.
 *
 * What is checked is what a restore relies on: the manifest (format 2: every file with its size and SHA-256)
 * and its fit to this worker's configuration (labels, feature size, stages, sentence encoder); each file's
 * size, checksum and shape; finite numbers in every float array (`*.f32`, the mid model's float32 weights,
 * the policies, the budget threshold); and the label offset the state claims.
 */
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { CorruptModelStateError, ModelStateError } from '../errors.js';
import { firstNonFinite, sha256 } from './model-integrity.js';

/** What the running configuration expects of saved state. */
export interface StateExpectation {
  labels: readonly string[];
  featureDim: number;
  stages: readonly string[];
  /** `cascade.sentenceEncoder` ('glove' when absent). */
  sentenceEncoder?: string;
}

interface CheckedManifest {
  format?: unknown;
  labels?: unknown;
  featureDim?: unknown;
  stages?: unknown;
  sentenceEncoder?: unknown;
  budget?: { threshold?: unknown };
  rngState?: unknown;
  policies?: Record<string, { weights?: unknown; gradSquares?: unknown }>;
  meta?: Record<string, unknown>;
  files?: Record<string, { bytes?: unknown; sha256?: unknown; shape?: unknown }>;
}

/** Reads every file under `dir` (a saved state folder) into memory. */
export async function readStateFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await readdir(path.join(dir, rel), { withFileTypes: true })) {
      const file = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) await walk(file);
      else files.set(file, await readFile(path.join(dir, file)));
    }
  };
  await walk('');
  return files;
}

function floats(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.byteLength - (bytes.byteLength % 4));
  copy.set(bytes.subarray(0, copy.byteLength));
  return new Float32Array(copy.buffer);
}

function requireFiniteBytes(where: string, file: string, bytes: Uint8Array): void {
  const values = floats(bytes);
  const at = firstNonFinite(values);
  if (at >= 0) throw new CorruptModelStateError(where, file, `value ${at} is ${String(values[at])}: the weights are not finite`);
}

function numbers(value: unknown): boolean {
  return Array.isArray(value) && value.every((v) => typeof v === 'number' && Number.isFinite(v));
}

function parseManifest(where: string, files: ReadonlyMap<string, Uint8Array>): CheckedManifest {
  const raw = files.get('manifest.json');
  if (raw === undefined) throw new CorruptModelStateError(where, 'manifest.json', 'is missing');
  let manifest: unknown;
  try {
    manifest = JSON.parse(Buffer.from(raw).toString('utf8'));
  } catch (err: unknown) {
    throw new CorruptModelStateError(where, 'manifest.json', 'is not JSON', { cause: err });
  }
  if (typeof manifest !== 'object' || manifest === null) throw new CorruptModelStateError(where, 'manifest.json', 'is not an object');
  return manifest as CheckedManifest;
}

function checkFit(where: string, m: CheckedManifest, expect: StateExpectation): void {
  const problems: string[] = [];
  if (!Array.isArray(m.labels) || m.labels.join('\u0000') !== expect.labels.join('\u0000')) problems.push('its labels differ from the task’s');
  if (m.featureDim !== expect.featureDim) problems.push(`feature dim ${String(m.featureDim)}, configured ${expect.featureDim}`);
  if (!Array.isArray(m.stages) || m.stages.join() !== expect.stages.join())
    problems.push(`stages [${String(m.stages)}], configured [${expect.stages.join(', ')}]`);
  const encoder = typeof m.sentenceEncoder === 'string' ? m.sentenceEncoder : 'glove';
  if (expect.stages.includes('mid') && encoder !== (expect.sentenceEncoder ?? 'glove'))
    problems.push(`sentence encoder ${encoder}, configured ${expect.sentenceEncoder ?? 'glove'}`);
  if (problems.length > 0) throw new ModelStateError(where, `does not fit this configuration: ${problems.join('; ')}`);
}

/** The mid model's weights file is float32 throughout unless its model.json says otherwise. */
function float32Weights(files: ReadonlyMap<string, Uint8Array>): boolean {
  const json = files.get('mid/model.json');
  if (json === undefined) return false;
  try {
    const model = JSON.parse(Buffer.from(json).toString('utf8')) as { weightsManifest?: Array<{ weights?: Array<{ dtype?: string }> }> };
    return (model.weightsManifest ?? []).every((g) => (g.weights ?? []).every((w) => (w.dtype ?? 'float32') === 'float32'));
  } catch {
    return false;
  }
}

function checkFiles(where: string, m: CheckedManifest, files: ReadonlyMap<string, Uint8Array>): void {
  if (typeof m.files !== 'object' || m.files === null) throw new CorruptModelStateError(where, 'manifest.json', 'lists no files with checksums (format 2)');
  const weightsAreFloats = float32Weights(files);
  for (const [file, entry] of Object.entries(m.files)) {
    const bytes = files.get(file);
    if (bytes === undefined) throw new CorruptModelStateError(where, file, 'is missing');
    if (bytes.byteLength !== entry.bytes)
      throw new CorruptModelStateError(where, file, `is ${bytes.byteLength} bytes, the manifest says ${String(entry.bytes)}`);
    if (sha256(bytes) !== entry.sha256) throw new CorruptModelStateError(where, file, 'checksum mismatch');
    if (Array.isArray(entry.shape) && entry.shape.reduce((p: number, d: unknown) => p * Number(d), 1) * 4 !== bytes.byteLength)
      throw new CorruptModelStateError(where, file, `does not hold the shape [${entry.shape.join(', ')}]`);
    if (file.endsWith('.f32') || (file === 'mid/weights.bin' && weightsAreFloats)) requireFiniteBytes(where, file, bytes);
  }
}

function checkNumbers(where: string, m: CheckedManifest): void {
  for (const [name, p] of Object.entries(m.policies ?? {})) {
    // JSON has no NaN: a non-finite weight was saved as null.
    if (!numbers(p.weights) || !numbers(p.gradSquares))
      throw new CorruptModelStateError(where, 'manifest.json', `policy ${name} has weights that are not finite`);
  }
  if (typeof m.budget?.threshold !== 'number' || !Number.isFinite(m.budget.threshold) || typeof m.rngState !== 'number' || !Number.isFinite(m.rngState))
    throw new CorruptModelStateError(where, 'manifest.json', 'budget threshold or random state is not a number');
}

/**
 * Checks saved state given as its files.
 * @param where names the state in messages (a folder, or `snapshot <id>`).
 * @param labelOffset when given, the label offset the state must record (a snapshot's chunks name it too).
 * @throws ModelStateError (it does not fit the configuration, or records another label offset) or
 *   CorruptModelStateError (a file missing, altered or misshapen, or a number that is not finite).
 */
export function checkStateFiles(where: string, files: ReadonlyMap<string, Uint8Array>, expect: StateExpectation, labelOffset?: bigint): void {
  const manifest = parseManifest(where, files);
  if (manifest.format !== 2) throw new ModelStateError(where, `manifest format ${String(manifest.format)}: only format 2 (with checksums) is checked`);
  checkFit(where, manifest, expect);
  checkFiles(where, manifest, files);
  checkNumbers(where, manifest);
  const recorded = manifest.meta?.labelOffset;
  if (labelOffset !== undefined && (typeof recorded !== 'number' || !Number.isSafeInteger(recorded) || BigInt(recorded) !== labelOffset))
    throw new ModelStateError(where, `records label offset ${String(recorded)}, its snapshot says ${labelOffset}`);
}
