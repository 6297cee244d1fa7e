/**
 * `spillway run` and `spillway start` against an LLM that fails, on the real broker: with `fallback` the worker
 * answers with the small stages but /healthz and spillway_llm_up say the LLM is down until it answers; with
 * `fail` it exits 1 naming the LLM, not Kafka; a 429 at start is reported as rate limiting, not a wrong URL.
 * An OpenAI-compatible server on node:http stands in for the LLM.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOutageLlm, type OutageLlm } from '../../tools/harness/index.js';
import { freePort } from '../helpers/services.js';
import { logLines, readJsonRecords, sendRecords, spawnCli, useKafkaSuite, waitFor, writeConfig, type TestTopics } from './helpers.js';

const suite = useKafkaSuite();
const { kafka } = suite;
const dir = mkdtempSync(path.join(tmpdir(), 'spillway-llm-run-'));
const taskFile = path.join(dir, 'sentiment.task.json');
writeFileSync(taskFile, JSON.stringify({ name: 'sentiment', labels: ['positive', 'negative'], prompt: { system: 'Classify.', user: '{text}' } }));
let llm: OutageLlm;

beforeAll(async () => {
  llm = await startOutageLlm();
});
afterAll(async () => {
  await llm.close();
});

function configFor(t: TestTopics, onUnavailable: string, httpPort = 0): string {
  return writeConfig({
    logLevel: 'info',
    task: taskFile,
    llm: { baseUrl: llm.url, model: llm.model, onUnavailable, concurrency: 2, timeoutMs: 3_000, maxRetries: 1, retryBaseMs: 20, retryMaxMs: 200 },
    cascade: { stages: ['lr'], warmupItems: 10_000 },
    models: { dir: mkdtempSync(path.join(dir, 'models-')), backend: 'cpu' },
    monitor: { httpPort },
    kafka: { groupId: t.groupId, topics: { input: t.input, output: t.output, deadLetter: t.deadLetter }, shutdownTimeoutMs: 3_000 },
  });
}

const items = (from: number, n: number): Array<{ key: string; value: string }> =>
  Array.from({ length: n }, (_, i) => ({ key: `i${from + i}`, value: JSON.stringify({ id: `i${from + i}`, text: `a fine review number ${from + i}` }) }));

async function healthz(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
  } catch {
    return 0;
  }
}

describe('spillway run with llm.onUnavailable: fallback', () => {
  it('answers with the small stages while the LLM fails, and /healthz and spillway_llm_up say so until it answers', async () => {
    const t = await suite.topics('health-fallback', 1);
    const port = await freePort();
    llm.mode = 'error';
    const worker = suite.child(spawnCli(['run', '--config', configFor(t, 'fallback', port), '--no-shared-learning']));
    await sendRecords(kafka, t.input, items(0, 10));
    await waitFor('10 annotations', async () => (await readJsonRecords(kafka, t.output)).length >= 10, 120_000, 500);
    expect((await readJsonRecords(kafka, t.output)).every((a) => a.llmFailed === true)).toBe(true);
    expect(await healthz(port)).toBe(503);
    expect(await (await fetch(`http://127.0.0.1:${port}/healthz`)).text()).toMatch(/LLM unavailable \(failing for \d+ s: .*HTTP 500/);
    expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toMatch(/^spillway_llm_up(\{[^}]*\})? 0$/m);

    llm.mode = 'ok';
    await sendRecords(kafka, t.input, items(10, 10));
    await waitFor('20 annotations', async () => (await readJsonRecords(kafka, t.output)).length >= 20, 60_000, 500);
    await waitFor('/healthz ok again', async () => (await healthz(port)) === 200, 30_000, 200);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});

describe('spillway run with llm.onUnavailable: fail', () => {
  it('exits 1 with a line naming the LLM failure, not Kafka', async () => {
    const t = await suite.topics('health-fail', 1);
    llm.mode = 'error';
    const worker = suite.child(spawnCli(['run', '--config', configFor(t, 'fail'), '--no-shared-learning']));
    await waitFor('the worker to start', () => logLines(worker.stderr()).some((l) => l.msg === 'worker started'), 120_000, 200);
    await sendRecords(kafka, t.input, items(0, 3));
    expect(await worker.exited).toBe(1);
    const last = worker.stderr().trim().split('\n').pop() ?? '';
    expect(last).toMatch(/^spillway: the LLM server at .* answers HTTP 500 after 2 attempts/);
    expect(worker.stderr()).not.toMatch(/Kafka is unavailable/);
  });
});

describe('spillway start when the LLM answers 429 at start', () => {
  it('with fail, exits 1 saying it is rate-limited, not that the URL is wrong', async () => {
    llm.modelsDown = true;
    llm.modelsStatus = 429;
    try {
      const config = configFor({ groupId: 'g', input: 'i', output: 'o', deadLetter: 'd', labels: 'l', models: 'm', cleanup: async () => undefined }, 'fail');
      const input = path.join(dir, 'items.jsonl');
      writeFileSync(input, `${JSON.stringify({ id: 'a', text: 'a fine review' })}\n`);
      const start = suite.child(spawnCli(['start', '--config', config, '--input', input, '--output', path.join(dir, 'out.jsonl')]));
      expect(await start.exited).toBe(1);
      const last = start.stderr().trim().split('\n').pop() ?? '';
      expect(last).toMatch(/^spillway: the LLM endpoint is rate-limiting this client \(HTTP 429\): it is reachable and takes the key/);
      expect(last).not.toContain('SPILLWAY_LLM_BASE_URL');
    } finally {
      llm.modelsDown = false;
      llm.modelsStatus = 503;
    }
  });
});
