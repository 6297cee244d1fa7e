/**
 * What the sentence encoders' suites share: the paraphrase check every encoder must pass, and a cascade
 * wired to one encoder (replay LLM over HTTP, a fresh models folder) for the learn-save-restore cases.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { expect } from 'vitest';
import type { CascadeSections } from '../../src/cascade/index.js';
import type { CascadeConfig } from '../../src/config.js';
import type { SentenceEncoder } from '../../src/cascade/sentence-encoder.js';
import { defaultTaskPath, loadTask, OpenAiTeacher, type Task } from '../../src/llm/index.js';
import { startReplayServer } from '../../tools/replay/index.js';
import { cascadeSections } from '../helpers/cascade-sections.js';
import { EMOTIONS } from '../helpers/paths.js';

export const TEACHER = 'gpt-3.5-turbo-1106';

export const cosine = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * (b[i] as number), 0);

/** Unit vectors of the encoder's width, a paraphrase closer than an unrelated sentence by at least `margin`. */
export async function expectParaphrasesCloser(encoder: SentenceEncoder, margin: number): Promise<void> {
  const [happy, joyful, train] = await Promise.all([
    encoder.embed('I was so happy when I passed my exam.'),
    encoder.embed('I felt great joy after succeeding in my test.'),
    encoder.embed('The train left the station at noon.'),
  ]);
  for (const v of [happy, joyful, train]) {
    expect(v).toHaveLength(encoder.dimensions);
    expect(Math.hypot(...v)).toBeCloseTo(1, 3);
  }
  expect(cosine(happy as Float32Array, joyful as Float32Array)).toBeGreaterThan(cosine(happy as Float32Array, train as Float32Array) + margin);
}

/** What `createCascade` needs, for the emotions stream on `encoderName`, saving into a fresh folder. */
export interface EncoderCascadeBase {
  task: Task;
  config: CascadeSections;
  logger: pino.Logger;
}

/**
 * Runs `body` with the replay LLM serving GPT-3.5's answers on the emotions stream and the cascade options for `encoderName`;
 * removes the models folder and stops the server afterwards.
 */
export async function withEncoderCascade(
  encoderName: CascadeConfig['sentenceEncoder'],
  body: (base: EncoderCascadeBase, teacher: OpenAiTeacher) => Promise<void>,
): Promise<void> {
  const modelsDir = await mkdtemp(join(tmpdir(), `spillway-${encoderName}-`));
  const task = loadTask(defaultTaskPath(EMOTIONS));
  const server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
  try {
    const teacher = new OpenAiTeacher({ task, baseUrl: server.url, model: TEACHER, timeoutMs: 5000, maxRetries: 2, retryBaseMs: 10, retryMaxMs: 100 });
    const base: EncoderCascadeBase = {
      task,
      config: cascadeSections({ cascade: { llmBudget: 0.5, sentenceEncoder: encoderName }, llm: { concurrency: 4 }, models: { dir: modelsDir } }),
      logger: pino({ level: 'silent' }),
    };
    await body(base, teacher);
  } finally {
    await server.close();
    await rm(modelsDir, { recursive: true, force: true });
  }
}
