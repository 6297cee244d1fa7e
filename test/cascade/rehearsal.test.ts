import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { readLabelledStream, sampleStream } from '../../tools/bench/index.js';
import { createCascade } from '../../src/cascade/create-cascade.js';
import { Featurizer } from '../../src/cascade/featurizer.js';
import { LabelMemory } from '../../src/cascade/label-memory.js';
import { LogisticRegressor } from '../../src/cascade/logistic-regressor.js';
import { LrStage } from '../../src/cascade/stages.js';
import { loadTask } from '../../src/llm/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { cascadeSections } from '../helpers/cascade-sections.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const TRAIN = 400;
const logger = pino({ level: 'silent' });
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

function argmax(p: Float32Array): number {
  let b = 0;
  for (let k = 1; k < p.length; k++) if ((p[k] as number) > (p[b] as number)) b = k;
  return b;
}

describe('LR rehearsal over remembered labels', () => {
  it('agrees more with the LLM on held-out emotions items than one pass over the same labels', () => {
    const rows = readLabelledStream(EMOTIONS).filter((r) => (r.llm[TEACHER] ?? -1) >= 0);
    const featurizer = new Featurizer({ dim: 2 ** 18, maxTextChars: 5000 });
    // 400 labels to learn from, 1500 other items to judge, three draws (deterministic: seeded samples).
    let gain = 0;
    for (const seed of [1, 2, 3]) {
      const sample = sampleStream(rows, 0.999, seed);
      const train = sample.slice(0, TRAIN);
      const test = sample.slice(TRAIN, TRAIN + 1500);
      const once = new LrStage(new LogisticRegressor({ dim: 2 ** 18, classes: 7, learningRate: 0.3 }));
      const rehearsed = new LrStage(new LogisticRegressor({ dim: 2 ** 18, classes: 7, learningRate: 0.3 }), {
        memory: new LabelMemory(4096, seed),
        replays: 4,
      });
      for (const r of train) {
        const ctx = { features: featurizer.featurize(r.text), probs: [] };
        once.learn(ctx, r.llm[TEACHER] as number);
        rehearsed.learn(ctx, r.llm[TEACHER] as number);
      }
      expect(rehearsed.version).toBe(once.version); // replays are not new versions
      let a = 0;
      let b = 0;
      for (const r of test) {
        const ctx = { features: featurizer.featurize(r.text), probs: [] };
        if (argmax(once.run(ctx)) === r.llm[TEACHER]) a++;
        if (argmax(rehearsed.run(ctx)) === r.llm[TEACHER]) b++;
      }
      gain += (b - a) / test.length / 3;
    }
    // Measured +0.9 points on average (+1.6, +1.5, −0.3 per draw); the bar is half that, and fails if rehearsal
    // does nothing or harms.
    expect(gain).toBeGreaterThan(0.0045);
  });

  it('restores the memory: a restored cascade keeps learning exactly as the original', async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), 'spillway-rehearsal-'));
    dirs.push(modelsDir);
    const task = loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json'));
    const base = {
      task,
      config: cascadeSections({ cascade: { stages: ['lr'], lrReplays: 3, labelMemoryItems: 64 }, llm: { concurrency: 1 }, models: { dir: modelsDir } }),
      logger,
      allowNoLlm: true,
    };
    const original = await createCascade({ ...base, restore: false });
    const rows = readLabelledStream(EMOTIONS).filter((r) => (r.llm[TEACHER] ?? -1) >= 0);
    const lrOf = (c: typeof original): LrStage => c.parts.stages[0] as LrStage;
    const learn = (c: typeof original, r: (typeof rows)[number]): void => {
      lrOf(c).learn({ features: c.parts.featurizer.featurize(r.text), probs: [] }, r.llm[TEACHER] as number);
    };
    for (const r of rows.slice(0, 200)) learn(original, r); // past capacity: the reservoir has replaced items
    await original.save();
    const restored = await createCascade({ ...base, restore: true });
    expect(lrOf(restored).rehearsal?.memory.state()).toEqual(lrOf(original).rehearsal?.memory.state());
    for (const r of rows.slice(200, 300)) {
      learn(original, r);
      learn(restored, r);
    }
    for (const r of rows.slice(300, 350)) {
      const f = original.parts.featurizer.featurize(r.text);
      expect(Array.from(lrOf(restored).run({ features: f, probs: [] }))).toEqual(Array.from(lrOf(original).run({ features: f, probs: [] })));
    }
  });
});
