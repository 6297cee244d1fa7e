/**
 * `llm.onUnavailable: pause` against an endpoint whose models list answers while every chat call fails (the
 * flood: each answered probe used to release every waiting item at once, again and again): the gate's probes
 * back off, the items that try after a probe go one at a time through the endpoint's breaker, consumption is
 * never resumed, and once chat answers every item is answered by the LLM. Real client, real HTTP.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCascade, type CascadeObserver } from '../../src/cascade/index.js';
import { OpenAiTeacher, type Task } from '../../src/llm/index.js';
import { gaps, startOutageLlm, type OutageLlm } from '../../tools/harness/index.js';
import { cascadeSections } from '../helpers/cascade-sections.js';

const logger = pino({ level: 'silent' });
const task: Task = { name: 'sentiment', labels: ['positive', 'negative'], prompt: { system: 'Classify the sentiment.', user: '{text}' } };
let llm: OutageLlm;

beforeAll(async () => {
  llm = await startOutageLlm();
});
afterAll(async () => {
  await llm.close();
});

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('pause, when the models list answers but every chat call fails', () => {
  it('spaces the chat calls by a growing back-off, never resumes, and answers every item with the LLM once chat is back', async () => {
    llm.mode = 'error';
    const availability: boolean[] = [];
    const observer: CascadeObserver = {
      onAnnotation: () => undefined,
      onModelUpdate: () => undefined,
      onBudgetChange: () => undefined,
      onLlmError: () => undefined,
      onLlmAvailability: (up) => availability.push(up),
    };
    const teacher = new OpenAiTeacher({
      task,
      baseUrl: llm.url,
      model: llm.model,
      timeoutMs: 2_000,
      maxRetries: 1,
      retryBaseMs: 50,
      retryMaxMs: 800,
      random: () => 0.5,
    });
    const cascade = await createCascade({
      task,
      teacher,
      // A long warm-up: every item needs the LLM.
      config: cascadeSections({
        cascade: { stages: ['lr'], featureDim: 1024, warmupItems: 1000 },
        llm: { concurrency: 4, onUnavailable: 'pause' },
        models: { dir: '/nonexistent', saveEveryItems: 0, saveEveryMs: 0 },
      }),
      logger,
      observer,
      restore: false,
      probeTiming: { baseMs: 20, maxMs: 400 },
    });
    const pending = Array.from({ length: 20 }, (_, i) => cascade.process({ id: `i${i}`, text: `a pleasant review number ${i}` }));
    // Eight probes answered (or more): before the fix each one released all 20 items, 2 attempts each.
    await until(() => llm.modelRequests >= 8);
    const calls = [...llm.chatTimes];
    // The 4 calls the scheduler had out, then about one call per back-off (a flood was hundreds a second).
    const elapsedMs = (calls[calls.length - 1] as number) - (calls[0] as number);
    expect(calls.length - 4).toBeLessThanOrEqual(2 + elapsedMs / 300);
    const afterFirst = gaps(calls.slice(4));
    for (const gap of afterFirst) expect(gap).toBeGreaterThanOrEqual(30); // 0.75 × 50, less timer slack
    expect(afterFirst.slice(-3).every((gap) => gap >= 500)).toBe(true); // at the cap, 0.75 × 800
    expect(availability).toEqual([false]);
    expect(cascade.llmGate?.up).toBe(false);

    llm.mode = 'ok';
    const answers = await Promise.all(pending);
    expect(answers.every((a) => a.answeredBy === 'llm' && a.llmFailed === false)).toBe(true);
    expect(availability).toEqual([false, true]);
    await cascade.close();
  });
});
