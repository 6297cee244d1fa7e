/**
 * An LLM outage on the real broker: with `llm.onUnavailable: pause` (the default), an LLM that goes down mid-run
 * pauses consumption — nothing is published from models that cannot learn, /healthz says 503 — and when it
 * answers again the worker resumes: every id gets exactly one annotation, none flagged llmFailed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { freePort } from '../helpers/services.js';
import { startStandInLlm, type StandInLlm } from '../helpers/stand-in-llm.js';
import { datasetItems, STREAMS_DIR, logLines, readJsonRecords, spawnCli, useKafkaSuite, waitFor, writeConfig, type TestTopics } from './helpers.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const suite = useKafkaSuite();
const { kafka } = suite;
let replay: ReplayServer;
let llm: StandInLlm;
let topics: TestTopics;

async function health(port: number): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${port}/healthz`)).status;
  } catch {
    return 0;
  }
}

beforeAll(async () => {
  replay = await startReplayServer({ dataset: path.join(STREAMS_DIR, 'emotions.jsonl'), teacher: TEACHER, port: 0 });
  llm = await startStandInLlm(replay.url);
  topics = await suite.fileTopics('llm-pause');
});

afterAll(async () => {
  await llm?.close();
  await replay?.close();
});

describe('spillway run when the LLM goes down and comes back (llm.onUnavailable: pause)', () => {
  it('pauses, says 503 on /healthz, publishes nothing meanwhile, then resumes: exactly one LLM annotation per id', async () => {
    const items = datasetItems('emotions.jsonl', 90);
    const port = await freePort();
    const config = writeConfig({
      logLevel: 'info',
      task: path.join(STREAMS_DIR, 'emotions.task.json'),
      // Every item goes to the LLM (a long warm-up), so each one needs it.
      llm: { baseUrl: llm.url, model: TEACHER, concurrency: 4, timeoutMs: 3_000, maxRetries: 1, retryBaseMs: 10, retryMaxMs: 50 },
      cascade: { llmBudget: 0.5, warmupItems: 10_000, stages: ['lr'] },
      models: { dir: mkdtempSync(path.join(tmpdir(), 'spillway-models-')), backend: 'cpu' },
      monitor: { httpPort: port },
      kafka: { groupId: topics.groupId, topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter }, shutdownTimeoutMs: 5_000 },
    });
    const producer = kafka.producer();
    await producer.connect();
    const send = (batch: typeof items): Promise<unknown> =>
      producer.send({ topic: topics.input, messages: batch.map((i) => ({ key: i.id, value: JSON.stringify(i) })) });
    await send(items.slice(0, 30));
    const worker = suite.child(spawnCli(['run', '--config', config, '--no-shared-learning']));
    await waitFor('the first 30 annotations', async () => (await readJsonRecords(kafka, topics.output)).length >= 30, 120_000, 500);
    expect(await health(port)).toBe(200);

    llm.mode = 'down';
    await send(items.slice(30));
    await waitFor('/healthz to report the LLM down', async () => (await health(port)) === 503, 60_000, 200);
    const body = await (await fetch(`http://127.0.0.1:${port}/healthz`)).text();
    expect(body).toMatch(/LLM unavailable/);
    expect(logLines(worker.stderr()).some((l) => l.msg === 'consumption paused')).toBe(true);
    // While it is down, nothing more is published: the items wait for the LLM.
    const whileDown = (await readJsonRecords(kafka, topics.output)).length;
    const probesBefore = llm.requests;
    await waitFor('a few probes while down', () => llm.requests >= probesBefore + 3, 60_000, 200);
    expect((await readJsonRecords(kafka, topics.output)).length).toBe(whileDown);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^spillway_llm_up(\{[^}]*\})? 0$/m);

    llm.mode = 'ok';
    await waitFor('all 90 annotations', async () => (await readJsonRecords(kafka, topics.output)).length >= 90, 120_000, 500);
    await waitFor('/healthz ok again', async () => (await health(port)) === 200, 30_000, 200);
    expect(logLines(worker.stderr()).some((l) => l.msg === 'consumption resumed')).toBe(true);
    const annotations = await readJsonRecords(kafka, topics.output);
    const ids = annotations.map((a) => String(a.id));
    expect(new Set(ids).size).toBe(90);
    expect(ids.length).toBe(90);
    expect(annotations.filter((a) => a.llmFailed === true)).toEqual([]);
    await producer.disconnect();

    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
  });
});

describe('spillway run when the model state cannot be saved', () => {
  it('counts failed periodic saves on /metrics, logs at error, and exits non-zero at shutdown', async () => {
    const own = await suite.topics('save-fails');
    const items = datasetItems('emotions.jsonl', 20);
    const port = await freePort();
    // A file where the models folder should be: every save fails, as on a read-only disk (tests run as root).
    const blocker = path.join(mkdtempSync(path.join(tmpdir(), 'spillway-blocked-')), 'file');
    writeFileSync(blocker, 'x');
    const config = writeConfig({
      logLevel: 'info',
      task: path.join(STREAMS_DIR, 'emotions.task.json'),
      llm: { baseUrl: llm.url, model: TEACHER, concurrency: 4 },
      cascade: { stages: ['lr'], warmupItems: 5 },
      models: { dir: path.join(blocker, 'models'), backend: 'cpu', saveEveryMs: 100 },
      monitor: { httpPort: port },
      kafka: { groupId: own.groupId, topics: { input: own.input, output: own.output, deadLetter: own.deadLetter }, shutdownTimeoutMs: 3_000 },
    });
    llm.mode = 'ok';
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: own.input, messages: items.map((i) => ({ key: i.id, value: JSON.stringify(i) })) });
    await producer.disconnect();
    const run = suite.child(spawnCli(['run', '--config', config, '--no-shared-learning']));
    await waitFor('20 annotations', async () => (await readJsonRecords(kafka, own.output)).length >= 20, 120_000, 500);
    const failedSaves = async (): Promise<number> => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^spillway_model_saves_total\{[^}]*outcome="failed"[^}]*\} (\d+)/m.exec(text)?.[1] ?? 0);
    };
    await waitFor('a failed periodic save on /metrics', async () => (await failedSaves()) > 0, 30_000, 200);
    run.child.kill('SIGTERM');
    expect(await run.exited).not.toBe(0);
    const errors = logLines(run.stderr()).filter((l) => l.level === 50);
    expect(errors.some((l) => l.msg === 'saving the model state failed')).toBe(true);
    expect(run.stderr()).toMatch(/cannot save model state to .*: ENOTDIR/);
  });
});

describe('spillway run with an LLM whose bodies never finish', () => {
  it('stops on SIGTERM within kafka.shutdownTimeoutMs plus the margin, exit 0, nothing published as answered', async () => {
    const own = await suite.topics('drip-stop');
    const items = datasetItems('emotions.jsonl', 20);
    const config = writeConfig({
      logLevel: 'info',
      task: path.join(STREAMS_DIR, 'emotions.task.json'),
      // The default 30 s attempt deadline: without the stop path, a stalled call would hold shutdown that long per attempt.
      llm: { baseUrl: llm.url, model: TEACHER, concurrency: 4 },
      cascade: { stages: ['lr'], warmupItems: 1_000 },
      models: { dir: mkdtempSync(path.join(tmpdir(), 'spillway-models-')), backend: 'cpu' },
      monitor: { httpPort: 0 },
      kafka: { groupId: own.groupId, topics: { input: own.input, output: own.output, deadLetter: own.deadLetter }, shutdownTimeoutMs: 2_000 },
    });
    llm.mode = 'ok';
    const run = suite.child(spawnCli(['run', '--config', config, '--no-shared-learning']));
    await waitFor('the worker to start', () => logLines(run.stderr()).some((l) => l.msg === 'worker started'), 120_000, 200);
    llm.mode = 'drip';
    const dripsBefore = llm.chats.drip;
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: own.input, messages: items.map((i) => ({ key: i.id, value: JSON.stringify(i) })) });
    await producer.disconnect();
    await waitFor('stalled chat calls', () => llm.chats.drip > dripsBefore, 60_000, 100);
    const signalledAt = Date.now();
    run.child.kill('SIGTERM');
    const code = await run.exited;
    const tookMs = Date.now() - signalledAt;
    llm.mode = 'ok';
    expect(code).toBe(0);
    expect(logLines(run.stderr()).some((l) => l.msg === 'shutdown did not finish in time; exiting')).toBe(false);
    expect(tookMs).toBeLessThan(2_000 + 5_000 + 3_000);
    // Stalled items were left uncommitted for the next worker, not published from an untrained model.
    expect((await readJsonRecords(kafka, own.output)).filter((a) => a.llmFailed === true)).toEqual([]);
  });
});
