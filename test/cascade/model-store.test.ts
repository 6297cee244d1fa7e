import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { createCascade } from '../../src/cascade/create-cascade.js';
import type { ItemContext, LrStage, MidStage } from '../../src/cascade/stages.js';
import { ModelStateError } from '../../src/errors.js';
import { loadTask, OpenAiTeacher } from '../../src/llm/index.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { cascadeSections } from '../helpers/cascade-sections.js';

const logger = pino({ level: 'silent' });
const TEACHER = 'gpt-3.5-turbo-1106';
const dirs: string[] = [];

afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('saving and restoring a cascade', () => {
  it('gives identical stage probabilities and deferral scores after a restore', async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), 'spillway-models-'));
    dirs.push(modelsDir);
    const task = loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json'));
    const server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
    try {
      const teacher = new OpenAiTeacher({
        task,
        baseUrl: server.url,
        model: TEACHER,
        timeoutMs: 5000,
        maxRetries: 2,
        retryBaseMs: 10,
        retryMaxMs: 100,
        logprobs: false,
      });
      const base = {
        task,
        config: cascadeSections({ cascade: { llmBudget: 0.5, ensembleSize: 2 }, llm: { concurrency: 4 }, models: { dir: modelsDir } }),
        logger,
        allowNoLlm: true,
      };
      const original = await createCascade({ ...base, teacher, restore: false });
      const rows = readLabelledStream(EMOTIONS);
      for (const r of rows.slice(0, 400)) await original.process({ id: r.id, text: r.text });
      await original.save();

      const restored = await createCascade({ ...base, restore: true });

      // A saved mid model is also a standard tfjs LayersModel another deployment can start from.
      const fresh = await createCascade({
        ...base,
        config: { ...base.config, models: { ...base.config.models, dir: join(modelsDir, 'elsewhere'), midModelPath: join(modelsDir, 'emotions', 'mid') } },
      });
      const weightsOf = (c: typeof original) =>
        (c.parts.stages[1] as unknown as { model: { model: { getWeights(): Array<{ dataSync(): Float32Array }> } } }).model.model
          .getWeights()
          .map((w) => Array.from(w.dataSync()));
      expect(weightsOf(fresh)).toEqual(weightsOf(original));
      // What was learned carries over; the spend does not: the budget counts from the new run.
      expect(restored.budgetStatus.threshold).toBe(original.budgetStatus.threshold);
      expect(restored.budgetStatus).toMatchObject({ items: 0, calls: 0, llmShare: 0 });
      expect(original.budgetStatus.calls).toBeGreaterThan(0);
      // The learning memories (LR rehearsal, mid neighbours) come back whole: the mid's probabilities below
      // include the neighbours' vote, so they match only if the memory does.
      const memoriesOf = (c: typeof original) => [
        (c.parts.stages[0] as LrStage).rehearsal?.memory.state(),
        (c.parts.stages[1] as MidStage).neighbours?.memory.state(),
      ];
      const [lrMemory, knnMemory] = memoriesOf(original);
      expect(lrMemory?.labels.length).toBeGreaterThan(100);
      expect(knnMemory?.labels.length).toBeGreaterThan(100);
      expect(memoriesOf(restored)).toEqual([lrMemory, knnMemory]);
      for (const r of rows.slice(400, 450)) {
        const a: ItemContext = { features: original.parts.featurizer.featurize(r.text), probs: [] };
        const b: ItemContext = { features: restored.parts.featurizer.featurize(r.text), probs: [] };
        original.parts.stages.forEach((stage, i) => {
          const pa = stage.run(a);
          const pb = (restored.parts.stages[i] as typeof stage).run(b);
          a.probs.push(pa);
          b.probs.push(pb);
          expect(Array.from(pb)).toEqual(Array.from(pa));
          expect(stage.version).toBeGreaterThan(0);
          expect((restored.parts.stages[i] as typeof stage).version).toBe(stage.version);
        });
      }
    } finally {
      await server.close();
    }
  });

  it('refuses state saved for other labels, naming the folder', async () => {
    const modelsDir = await mkdtemp(join(tmpdir(), 'spillway-models-'));
    dirs.push(modelsDir);
    const task = loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json'));
    const base = {
      config: cascadeSections({ cascade: { stages: ['lr'] }, llm: { concurrency: 1 }, models: { dir: modelsDir } }),
      logger,
      allowNoLlm: true,
    };
    const c = await createCascade({ ...base, task });
    await c.save();
    const other = { ...task, labels: ['a', 'b'] };
    await expect(createCascade({ ...base, task: other })).rejects.toBeInstanceOf(ModelStateError);
  });
});
