/**
 * /healthz and spillway_llm_up of `spillway start` (the embedded service) tell the truth about the LLM in every
 * `llm.onUnavailable` mode: not "ok" while its chat calls fail (fallback answering with the small stages
 * included), while the service waits for it at start, and while a call stalls; "ok" again once it answers.
 * An OpenAI-compatible server on node:http stands in for the LLM; nothing else is faked.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmbeddedService, createRootLogger, Lifecycle, type EmbeddedService } from '../../src/app/index.js';
import { parseConfig } from '../../src/config.js';
import { LlmUnavailableError } from '../../src/errors.js';
import { startOutageLlm, type OutageLlm } from '../../tools/harness/index.js';
import { freePort } from '../helpers/services.js';

const dir = mkdtempSync(path.join(tmpdir(), 'spillway-llm-health-'));
const taskFile = path.join(dir, 'sentiment.task.json');
writeFileSync(taskFile, JSON.stringify({ name: 'sentiment', labels: ['positive', 'negative'], prompt: { system: 'Classify.', user: '{text}' } }));
let llm: OutageLlm;
let lifecycle: Lifecycle | undefined;

beforeAll(async () => {
  llm = await startOutageLlm();
});
afterEach(async () => {
  lifecycle?.stop();
  await lifecycle?.close();
  lifecycle = undefined;
  llm.mode = 'ok';
  llm.modelsDown = false;
});
afterAll(async () => {
  await llm.close();
  rmSync(dir, { recursive: true, force: true });
});

async function service(
  onUnavailable: 'pause' | 'fallback' | 'fail',
  llmKeys: Record<string, unknown> = {},
): Promise<{ service: EmbeddedService; port: number }> {
  const port = await freePort();
  const config = parseConfig({
    task: taskFile,
    llm: { baseUrl: llm.url, model: llm.model, onUnavailable, timeoutMs: 5_000, maxRetries: 0, retryBaseMs: 20, retryMaxMs: 200, ...llmKeys },
    cascade: { stages: ['lr'], pretrainedVectors: false, featureDim: 1024, warmupItems: 1000 },
    models: { dir: mkdtempSync(path.join(dir, 'models-')), backend: 'cpu' },
    monitor: { httpPort: port },
  });
  const logger = createRootLogger('silent', { destination: new PassThrough() });
  lifecycle = new Lifecycle({ logger, graceMs: 1_000 });
  const built = await createEmbeddedService({ context: { config, logger }, lifecycle });
  await built.serve();
  return { service: built, port };
}

async function healthz(port: number): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}/healthz`);
  return { status: res.status, body: await res.text() };
}

async function llmUp(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^spillway_llm_up(?:\{[^}]*\})? (\d)$/m.exec(text)?.[1]);
}

async function run(s: EmbeddedService, n: number, from = 0): Promise<void> {
  const file = path.join(dir, `items-${from}-${Date.now()}.jsonl`);
  writeFileSync(file, Array.from({ length: n }, (_, i) => JSON.stringify({ id: `i${from + i}`, text: `a fine review number ${from + i}` })).join('\n'));
  await s.run(s.entries({ file }), { output: new PassThrough(), rejectsPath: path.join(dir, 'rejects.jsonl') });
}

async function until(condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('/healthz and spillway_llm_up of spillway start', () => {
  it('fallback: not ok while chat calls fail, though the small stages answer; ok again once the LLM answers', async () => {
    const { service: s, port } = await service('fallback');
    await s.checkLlm();
    expect((await healthz(port)).status).toBe(200);
    llm.mode = 'error';
    await run(s, 5);
    const down = await healthz(port);
    expect(down.status).toBe(503);
    expect(down.body).toMatch(/^unhealthy: LLM unavailable \(failing for \d+ s: .*HTTP 500/);
    expect(await llmUp(port)).toBe(0);
    llm.mode = 'ok';
    await run(s, 5, 100);
    expect((await healthz(port)).status).toBe(200);
    expect(await llmUp(port)).toBe(1);
  });

  it('fail: not ok once a call failed, and the run stops with the LLM named', async () => {
    const { service: s, port } = await service('fail');
    await s.checkLlm();
    llm.mode = 'error';
    const err = await run(s, 3).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmUnavailableError);
    expect((err as Error).message).toMatch(/LLM server at .* answers HTTP 500/);
    expect((await healthz(port)).status).toBe(503);
    expect(await llmUp(port)).toBe(0);
  });

  it('pause: not ok while it waits for an unreachable LLM at start; ok once the LLM answers', async () => {
    llm.modelsDown = true;
    const { service: s, port } = await service('pause');
    const waiting = s.checkLlm();
    await until(async () => (await healthz(port)).status === 503);
    expect((await healthz(port)).body).toMatch(/LLM unavailable \(failing for \d+ s: .*HTTP 503/);
    expect(await llmUp(port)).toBe(0);
    llm.modelsDown = false;
    await waiting;
    expect((await healthz(port)).status).toBe(200);
  });

  it('pause: not ok while chat calls fail mid-stream', async () => {
    const { service: s, port } = await service('pause', { maxRetries: 1 });
    await s.checkLlm();
    llm.mode = 'error';
    const running = run(s, 3);
    await until(async () => (await healthz(port)).status === 503);
    expect(await llmUp(port)).toBe(0);
    llm.mode = 'ok';
    await running;
    await until(async () => (await healthz(port)).status === 200);
  });

  it('any mode: not ok while a call has stalled past llm.stallMs with no answer', async () => {
    const { service: s, port } = await service('fallback', { stallMs: 300, timeoutMs: 20_000 });
    await s.checkLlm();
    llm.mode = 'stall';
    const running = run(s, 1);
    await until(async () => (await healthz(port)).status === 503, 5_000);
    expect((await healthz(port)).body).toMatch(/LLM unavailable \(stalled: a call has waited \d+ s and none has answered for \d+ s\)/);
    expect(await llmUp(port)).toBe(0);
    lifecycle?.stop(); // aborts the stalled call after the grace period
    await running;
  });
});
