/**
 * State you can trust: corrupt and NaN model files are refused with a typed error (or set aside with
 * --reset-models), saves are atomic, a failed save is a ModelSaveError, and saves are also time-based.
 */
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createCascade, type CreateCascadeOptions } from '../../src/cascade/create-cascade.js';
import { CorruptModelStateError, ModelSaveError } from '../../src/errors.js';
import { loadTask } from '../../src/llm/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { cascadeSections } from '../helpers/cascade-sections.js';

const logger = pino({ level: 'silent' });
const task = loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json'));
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) {
    await chmod(d, 0o755).catch(() => undefined);
    await rm(d, { recursive: true, force: true });
  }
});

async function modelsDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'spillway-integrity-'));
  dirs.push(d);
  return d;
}

/** An LR-only cascade (fast) whose state lives in `dir`. */
function options(dir: string, extra: Partial<CreateCascadeOptions> = {}): CreateCascadeOptions {
  return {
    task,
    config: cascadeSections({ cascade: { stages: ['lr'], featureDim: 1024 }, llm: { concurrency: 1 }, models: { dir, saveEveryItems: 0, saveEveryMs: 0 } }),
    logger,
    allowNoLlm: true,
    ...extra,
  };
}

/** Saves a cascade that has learned a little, and returns the state folder. */
async function savedState(dir: string): Promise<string> {
  const c = await createCascade(options(dir));
  const lr = c.parts.stages[0] as unknown as { learn(ctx: unknown, label: number): boolean };
  for (let i = 0; i < 20; i++) lr.learn({ features: c.parts.featurizer.featurize(`text number ${i} about joy`), probs: [] }, i % task.labels.length);
  await c.save();
  return join(dir, task.name);
}

describe('loading saved model state', () => {
  it('refuses a weights file changed after the save (checksum) with CorruptModelStateError naming the file', async () => {
    const state = await savedState(await modelsDir());
    const file = join(state, 'lr', 'weights.f32');
    const bytes = await readFile(file);
    bytes[17] = (bytes[17] ?? 0) ^ 0xff;
    await writeFile(file, bytes);
    const err = await createCascade(options(join(state, '..'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptModelStateError);
    expect((err as CorruptModelStateError).file).toBe('lr/weights.f32');
    expect((err as Error).message).toContain('--reset-models');
  });

  it('refuses a truncated weights file', async () => {
    const state = await savedState(await modelsDir());
    const file = join(state, 'lr', 'weights.f32');
    await writeFile(file, (await readFile(file)).subarray(0, 100));
    await expect(createCascade(options(join(state, '..')))).rejects.toBeInstanceOf(CorruptModelStateError);
  });

  it('refuses NaN weights even when the manifest was rewritten to match them', async () => {
    const state = await savedState(await modelsDir());
    const file = join(state, 'lr', 'weights.f32');
    const bytes = await readFile(file);
    new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)[3] = Number.NaN;
    await writeFile(file, bytes);
    // A save written by a buggy build: checksums that match NaN weights.
    const manifest = JSON.parse(await readFile(join(state, 'manifest.json'), 'utf8')) as { files: Record<string, { sha256: string }> };
    const { createHash } = await import('node:crypto');
    (manifest.files['lr/weights.f32'] as { sha256: string }).sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeFile(join(state, 'manifest.json'), JSON.stringify(manifest));
    const err = await createCascade(options(join(state, '..'))).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptModelStateError);
    expect((err as Error).message).toMatch(/NaN.*not finite/);
  });

  it('refuses a manifest that is not JSON', async () => {
    const state = await savedState(await modelsDir());
    await writeFile(join(state, 'manifest.json'), '{"format": 2, "labels": [');
    await expect(createCascade(options(join(state, '..')))).rejects.toBeInstanceOf(CorruptModelStateError);
  });

  it('with resetModels sets the corrupt folder aside and starts fresh', async () => {
    const dir = await modelsDir();
    const state = await savedState(dir);
    await writeFile(join(state, 'lr', 'weights.f32'), Buffer.alloc(8));
    const c = await createCascade(options(dir, { resetModels: true }));
    expect(c.parts.stages[0]?.version).toBe(0);
    const entries = await readdir(dir);
    expect(entries.some((e) => e.startsWith(`${task.name}.reset-`))).toBe(true);
    expect(existsSync(state)).toBe(false);
  });
});

describe('saving model state', () => {
  it('never saves non-finite weights over the last good save', async () => {
    const dir = await modelsDir();
    const c = await createCascade(options(dir));
    await c.save();
    const before = await readFile(join(dir, task.name, 'manifest.json'), 'utf8');
    const weights = (c.parts.stages[0] as unknown as { model: { state(): { weights: Float32Array } } }).model.state().weights;
    weights[5] = Number.POSITIVE_INFINITY;
    await expect(c.save()).rejects.toBeInstanceOf(ModelSaveError);
    expect(await readFile(join(dir, task.name, 'manifest.json'), 'utf8')).toBe(before);
  });

  it('on an unwritable models folder rejects with ModelSaveError naming the cause, and leaves no half-written folder', async () => {
    const parent = await modelsDir();
    // A file where the models folder should be: every write below it fails (ENOTDIR), as root too.
    await writeFile(join(parent, 'models'), 'not a folder');
    const c = await createCascade(options(join(parent, 'models')));
    const err = await c.save().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelSaveError);
    expect((err as Error).message).toMatch(/^cannot save model state to .*: (ENOTDIR|EEXIST)/);
    expect((await readdir(parent)).sort()).toEqual(['models']);
  });

  it('saves on time as well as on item count (models.saveEveryMs)', async () => {
    const dir = await modelsDir();
    const c = await createCascade(
      options(dir, { config: cascadeSections({ cascade: { stages: ['lr'], featureDim: 1024 }, models: { dir, saveEveryItems: 0, saveEveryMs: 50 } }) }),
    );
    await c.process({ id: 'a', text: 'first item' });
    expect(existsSync(join(dir, task.name, 'manifest.json'))).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 80));
    await c.process({ id: 'b', text: 'second item' });
    await c.drain();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(existsSync(join(dir, task.name, 'manifest.json'))).toBe(true);
  });
});
