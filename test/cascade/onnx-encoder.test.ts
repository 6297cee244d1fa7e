/**
 * The opt-in e5-small sentence encoder (cascade.sentenceEncoder: e5-small): the real quantised model on
 * onnxruntime-node (its files fetched from Maven Central by the global setup), and a cascade that learns on
 * its vectors, saves, and refuses to restore under another encoder.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCascade } from '../../src/cascade/create-cascade.js';
import { loadE5Small, type E5SmallEncoder } from '../../src/cascade/onnx-encoder.js';
import { DEFAULTS } from '../../src/config.js';
import { ModelStateError } from '../../src/errors.js';
import { defaultTaskPath, loadTask, OpenAiTeacher } from '../../src/llm/index.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer } from '../../tools/replay/index.js';
import { ISEAR } from '../helpers/paths.js';

const logger = pino({ level: 'silent' });
const TEACHER = 'gpt-3.5-turbo-1106';
const cosine = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] as number), 0);
const dirs: string[] = [];
let encoder: E5SmallEncoder;

beforeAll(async () => {
  encoder = await loadE5Small({ maxBatch: 4, threads: 1 });
});

afterAll(async () => {
  encoder.dispose();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('the e5-small sentence encoder', () => {
  it('gives unit 384-d vectors that put paraphrases closer than unrelated sentences', async () => {
    const [happy, joyful, train] = await Promise.all([
      encoder.embed('I was so happy when I passed my exam.'),
      encoder.embed('I felt great joy after succeeding in my test.'),
      encoder.embed('The train left the station at noon.'),
    ]);
    for (const v of [happy, joyful, train]) {
      expect(v).toHaveLength(384);
      expect(Math.hypot(...v)).toBeCloseTo(1, 3);
    }
    expect(cosine(happy as Float32Array, joyful as Float32Array)).toBeGreaterThan(cosine(happy as Float32Array, train as Float32Array) + 0.05);
  });

  it('gives a text nearly the same vector alone as padded in a batch with longer ones, and encodes it once', async () => {
    const before = encoder.encoded;
    const texts = ['short', 'a much longer sentence about a day at the seaside with my family', 'short', 'another one of medium length'];
    const batch = await Promise.all(texts.map((t) => encoder.embed(t)));
    expect(encoder.encoded - before).toBe(3);
    const alone = await loadE5Small({ maxBatch: 1, cacheItems: 1, threads: 1 });
    try {
      const solo = await alone.embed('short');
      // Nearly the same, not bit for bit: the int8 model quantises activations per run (dynamic quantisation),
      // so a batch's range moves the rounding a little.
      expect(cosine(solo, batch[0] as Float32Array)).toBeGreaterThan(0.995);
      expect(cosine(solo, batch[1] as Float32Array)).toBeLessThan(0.95);
    } finally {
      alone.dispose();
    }
  });

  it('gives an empty text a vector, and says what to run when the model files are missing', async () => {
    const v = await encoder.embed('');
    expect(v.every(Number.isFinite)).toBe(true);
    const missing = loadE5Small({ dir: join(tmpdir(), 'spillway-no-such-encoder') });
    await expect(missing).rejects.toBeInstanceOf(ModelStateError);
    await expect(missing).rejects.toThrow(/npm run models:fetch/);
  });
});

describe('a cascade whose mid stage reads e5-small vectors (cascade.sentenceEncoder: e5-small)', () => {
  it('learns from LLM labels, saves, and refuses to restore under USE-lite', async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), 'spillway-e5-'));
    dirs.push(modelsDir);
    const task = loadTask(defaultTaskPath(ISEAR));
    const server = await startReplayServer({ dataset: ISEAR, teacher: TEACHER, port: 0 });
    try {
      const teacher = new OpenAiTeacher({ task, baseUrl: server.url, model: TEACHER, timeoutMs: 5000, maxRetries: 2, retryBaseMs: 10, retryMaxMs: 100 });
      const base = {
        task,
        config: { ...DEFAULTS.cascade, llmBudget: 0.5, sentenceEncoder: 'e5-small' as const },
        llm: { concurrency: 4, costUnits: 1000 },
        models: { ...DEFAULTS.models, dir: modelsDir },
        logger,
      };
      const cascade = await createCascade({ ...base, teacher, restore: false, encoder });
      const rows = readLabelledStream(ISEAR).slice(0, 200);
      const annotations = await Promise.all(rows.map((r) => cascade.process({ id: r.id, text: r.text })));
      expect(annotations.filter((a) => a.llmCalled).length).toBeGreaterThan(40);
      const mid = cascade.parts.stages[1];
      expect(mid?.version).toBeGreaterThan(0);
      // The mid stage centres e5's vectors on their running mean, which is saved with the model: the
      // restored cascade answers every held-out item exactly as the one that learned.
      const held = readLabelledStream(ISEAR).slice(200, 230);
      const answersBefore = await Promise.all(held.map((r) => cascade.smallStageAnswers(r.text)));
      await cascade.close();
      cascade.dispose();
      const use = { ...base, config: { ...base.config, sentenceEncoder: 'use-lite' as const } };
      await expect(createCascade({ ...use, restore: true })).rejects.toThrow(/e5-small sentence vectors, configured use-lite/);
      const restored = await createCascade({ ...base, restore: true, encoder });
      expect(restored.parts.stages[1]?.version).toBe(mid?.version);
      const answersAfter = await Promise.all(held.map((r) => restored.smallStageAnswers(r.text)));
      expect(answersAfter).toEqual(answersBefore);
      restored.dispose();
    } finally {
      await server.close();
    }
  });
});
