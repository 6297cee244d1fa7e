/**
 * Health that means something: what an item does when the LLM is down (`llm.onUnavailable`),
 * against the real client and a stand-in LLM that forwards to the replay server until it is switched off.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCascade } from '../../src/cascade/create-cascade.js';
import { LlmUnavailableError } from '../../src/errors.js';
import { loadTask, OpenAiTeacher } from '../../src/llm/index.js';
import type { CascadeObserver } from '../../src/cascade/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { startStandInLlm, type StandInLlm } from '../helpers/stand-in-llm.js';
import { cascadeSections } from '../helpers/cascade-sections.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const logger = pino({ level: 'silent' });
const task = loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json'));
/** A text with a recorded answer, so the replay server answers it with a label. */
const TEXT = readLabelledStream(EMOTIONS)[0]?.text ?? '';
let replay: ReplayServer;
let llm: StandInLlm;

beforeAll(async () => {
  replay = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0 });
  llm = await startStandInLlm(replay.url);
});

afterAll(async () => {
  await llm.close();
  await replay.close();
});

const availability: boolean[] = [];
const observer: CascadeObserver = {
  onAnnotation: () => undefined,
  onModelUpdate: () => undefined,
  onBudgetChange: () => undefined,
  onLlmError: () => undefined,
  onLlmAvailability: (up) => availability.push(up),
};

async function cascade(onUnavailable: 'pause' | 'fallback' | 'fail') {
  const teacher = new OpenAiTeacher({ task, baseUrl: llm.url, model: TEACHER, timeoutMs: 2_000, maxRetries: 1, retryBaseMs: 5, retryMaxMs: 10 });
  return createCascade({
    task,
    teacher,
    config: cascadeSections({
      cascade: { stages: ['lr'], featureDim: 1024, warmupItems: 1000 },
      llm: { concurrency: 2, onUnavailable },
      models: { dir: '/nonexistent', saveEveryItems: 0, saveEveryMs: 0 },
    }),
    logger,
    observer,
    restore: false,
    probeTiming: { baseMs: 50, maxMs: 200 },
  });
}

describe('when the LLM is down', () => {
  it("'fallback' answers with the small stage, flagged llmFailed with reason llm-failed", async () => {
    llm.mode = 'down';
    const c = await cascade('fallback');
    const a = await c.process({ id: '1', text: 'I was so happy when I passed the exam' });
    expect(a.llmFailed).toBe(true);
    expect(a.reason).toBe('llm-failed');
    expect(a.answeredBy).toBe('lr');
    await c.close();
  });

  it("'fail' rejects with LlmUnavailableError naming the setting", async () => {
    llm.mode = 'down';
    const c = await cascade('fail');
    const err = await c.process({ id: '1', text: 'I was so happy when I passed the exam' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect((err as LlmUnavailableError).setting).toBe('SPILLWAY_LLM_BASE_URL');
    c.stop();
  });

  it("'pause' holds the item until the LLM answers again, then answers it with the LLM (nothing flagged)", async () => {
    llm.mode = 'down';
    availability.length = 0;
    const c = await cascade('pause');
    let settled = false;
    const pending = c.process({ id: '1', text: TEXT }).finally(() => (settled = true));
    await waitUntil(() => c.llmGate?.up === false);
    expect(availability).toEqual([false]);
    // Probes keep failing while it is down: the item waits, it is not answered by an untrained model.
    const before = llm.requests;
    await waitUntil(() => llm.requests >= before + 2);
    expect(settled).toBe(false);
    llm.mode = 'ok';
    const a = await pending;
    expect(a.llmFailed).toBe(false);
    expect(a.answeredBy).toBe('llm');
    expect(c.llmGate?.up).toBe(true);
    expect(availability).toEqual([false, true]);
    await c.close();
  });

  it("'pause' lets a stopping cascade go: a held item is answered by the small stage, flagged", async () => {
    llm.mode = 'down';
    const c = await cascade('pause');
    const pending = c.process({ id: '2', text: 'I was afraid of the dark' });
    await waitUntil(() => c.llmGate?.up === false);
    c.stop();
    const a = await pending;
    expect(a.llmFailed).toBe(true);
    llm.mode = 'ok';
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
