/**
 * The endpoint's shared back-off and health (llm-breaker.ts), through the real client against an
 * OpenAI-compatible server on node:http: a chat endpoint failing for good sees one call per back-off, the
 * back-off doubling, however many texts wait; Retry-After is obeyed by every call; a models list that answers
 * does not make a failing endpoint healthy; a stalled call makes it unhealthy until an answer arrives.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RetriesExhaustedError } from '../../src/errors.js';
import { describeLlmFailure, OpenAiTeacher, type Task } from '../../src/llm/index.js';
import { gaps, startOutageLlm, type OutageLlm } from '../../tools/harness/index.js';

const task: Task = { name: 'sentiment', labels: ['positive', 'negative'], prompt: { system: 'Classify the sentiment.', user: '{text}' } };
let llm: OutageLlm;

beforeEach(async () => {
  llm = await startOutageLlm();
});
afterEach(async () => {
  await llm.close();
});

function teacher(options: Partial<ConstructorParameters<typeof OpenAiTeacher>[0]> = {}): OpenAiTeacher {
  return new OpenAiTeacher({
    task,
    baseUrl: llm.url,
    model: llm.model,
    timeoutMs: 5_000,
    maxRetries: 1,
    retryBaseMs: 100,
    retryMaxMs: 3_200,
    // Jitter fixed at the middle of its range: every back-off is 0.75 × base × 2^(failures − 1).
    random: () => 0.5,
    ...options,
  });
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('a chat endpoint that answers 500 for good', () => {
  it('sees the calls already out, then one call per back-off, the back-off doubling', async () => {
    llm.mode = 'error';
    const t = teacher();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => t.classify(`text number ${i}`).catch((e: unknown) => e)));
    for (const r of results) expect(r).toBeInstanceOf(RetriesExhaustedError);
    // 6 texts × 2 attempts, and no more: the 6 first attempts went together, each retry went alone as a trial.
    expect(llm.chatTimes).toHaveLength(12);
    const trials = llm.chatTimes.slice(6);
    expect((trials[0] as number) - (llm.chatTimes[0] as number)).toBeGreaterThanOrEqual(70); // 0.75 × 100 after the first failure
    // Each trial waits at least its back-off, 0.75 × 100 × 2^(failures − 1): 150, 300, 600, 1200, 2400 ms apart
    // (timers fire late on a loaded machine, never early).
    const spacing = gaps(trials);
    expect(spacing).toHaveLength(5);
    spacing.forEach((gap, i) => expect(gap).toBeGreaterThanOrEqual(0.95 * 150 * 2 ** i));
    expect(t.breaker.consecutiveFailures).toBe(7);
    expect(t.breaker.health()).toMatchObject({ up: false, reason: expect.stringMatching(/failing for \d+ s: .*HTTP 500/) as unknown });

    // An answer closes the breaker: calls go at once again.
    llm.mode = 'ok';
    expect((await t.classify('now it answers')).labelId).toBe(0);
    expect(t.breaker.health()).toEqual({ up: true });
    const before = llm.chatTimes.length;
    await Promise.all([t.classify('a'), t.classify('b'), t.classify('c')]);
    expect(llm.chatTimes.length - before).toBe(3);
  });

  it('is not made healthy by its models list answering: only an answered chat call closes the breaker', async () => {
    llm.mode = 'error';
    const t = teacher({ maxRetries: 0 });
    await t.classify('x').catch(() => undefined);
    await t.probe();
    expect(llm.modelRequests).toBe(1);
    expect(t.breaker.health().up).toBe(false);
    expect(t.breaker.consecutiveFailures).toBe(1);
  });
});

describe('an endpoint that sends Retry-After', () => {
  it('is not called again before it, by any call, and a 429 is reported as rate limiting, not a wrong URL', async () => {
    llm.mode = 'error';
    llm.status = 429;
    llm.retryAfterS = 1;
    const t = teacher({ retryBaseMs: 10, retryMaxMs: 50 });
    const results = await Promise.all([t.classify('one').catch((e: unknown) => e), t.classify('two').catch((e: unknown) => e)]);
    // Both first attempts together; each retry at least a second after the 429 that asked for it.
    expect(llm.chatTimes).toHaveLength(4);
    expect((llm.chatTimes[2] as number) - (llm.chatTimes[1] as number)).toBeGreaterThanOrEqual(990);
    const err = describeLlmFailure(results[0], { baseUrl: llm.url, model: llm.model });
    expect(err.setting).toBe('llm.maxRequestsPerMinute');
    expect(err.message).toMatch(/rate-limiting this client \(HTTP 429 after 2 attempts\): it is reachable and takes the key/);
    expect(err.message).not.toContain('SPILLWAY_LLM_BASE_URL');
  });

  it('a used-up quota (429 insufficient_quota) names the key', async () => {
    llm.mode = 'error';
    llm.status = 429;
    llm.code = 'insufficient_quota';
    const err = await teacher({ maxRetries: 0 })
      .classify('x')
      .catch((e: unknown) => e);
    expect(describeLlmFailure(err, { baseUrl: llm.url, model: llm.model })).toMatchObject({ setting: 'SPILLWAY_LLM_API_KEY' });
  });
});

describe('the health of an endpoint', () => {
  it('is down while its probe fails and up once the probe answers', async () => {
    llm.modelsDown = true;
    const t = teacher();
    await expect(t.probe()).rejects.toThrow(/HTTP 503/);
    expect(t.breaker.health()).toMatchObject({ up: false });
    llm.modelsDown = false;
    await t.probe();
    expect(t.breaker.health()).toEqual({ up: true });
  });

  it('is "stalled" while a call has waited llm.stallMs with no answer from any call, and up once one answers', async () => {
    llm.mode = 'stall';
    const t = teacher({ stallMs: 300, timeoutMs: 20_000, maxRetries: 0 });
    const stuck = t.classify('stuck').catch((e: unknown) => e);
    await until(() => llm.chatTimes.length === 1);
    expect(t.breaker.health()).toEqual({ up: true });
    await until(() => !t.breaker.health().up, 2_000);
    expect(t.breaker.health().reason).toMatch(/^stalled: a call has waited \d+ s and none has answered for \d+ s$/);
    llm.mode = 'ok';
    await t.classify('another');
    expect(t.breaker.health()).toEqual({ up: true });
    await llm.close(); // ends the stalled call
    await stuck;
    llm = await startOutageLlm();
  });
});
