/**
 * The service keeps the sequential walk's promise, on the real broker with the LLM over HTTP (the replay
 * server): a backlog through `spillway run` reaches the accuracy of the walk one item at a time on the same
 * items and spends its budget, exactly once through a SIGKILL; a worker's own labels teach it at once and only
 * once; with no latency bound a slow LLM slows consumption instead of producing `deadline` answers, and with
 * one the answers come on time.
 */
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { DEFAULTS, parseConfig } from '../../src/config.js';
import { readLabelledStream, runCascadeBench, type LabelledItem } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { freePort } from '../helpers/services.js';
import { EMOTIONS } from '../helpers/paths.js';
import { committedCount, logLines, readJsonRecords, spawnCli, useKafkaSuite, waitFor, writeConfig, type TestTopics } from '../stream/helpers.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const DATASET = EMOTIONS;
const TASK = EMOTIONS.replace(/\.jsonl$/, '.task.json');
const BUDGET = 0.313;
const suite = useKafkaSuite();
const rows = readLabelledStream(DATASET);
let instant: ReplayServer;

beforeAll(async () => {
  instant = await startReplayServer({ dataset: DATASET, teacher: TEACHER, port: 0 });
});

afterAll(async () => {
  await instant?.close();
});

/** A worker's config: the defaults, but for the run's names (and no Redis tier: a test leaves the user's Redis alone). */
function workerConfig(
  t: TestTopics,
  llmUrl: string,
  extra: { llm?: Record<string, unknown>; cascade?: Record<string, unknown>; httpPort?: number } = {},
): string {
  return writeConfig(
    (dir: string) => ({
      task: TASK,
      llm: { baseUrl: llmUrl, model: TEACHER, ...extra.llm },
      cascade: { llmBudget: BUDGET, seed: 7, sentenceEncoder: 'glove', ...extra.cascade },
      models: { dir: path.join(dir, 'models') },
      monitor: { httpPort: extra.httpPort ?? 0 },
      cache: { redisTier: false },
      kafka: {
        groupId: t.groupId,
        topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models },
        shutdownTimeoutMs: 5_000,
      },
    }),
    'spillway-service-path-',
  );
}

async function produce(t: TestTopics, items: readonly LabelledItem[]): Promise<void> {
  const producer = suite.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  for (let i = 0; i < items.length; i += 500) {
    await producer.send({
      topic: t.input,
      acks: -1,
      messages: items.slice(i, i + 500).map((r) => ({ key: r.id, value: JSON.stringify({ id: r.id, text: r.text }) })),
    });
  }
  await producer.disconnect();
}

/** The sequential walk on the same items, budget and seed, in process: the reference. */
async function sequential(items: LabelledItem[]): Promise<{ accuracy: number; llm_share: number }> {
  const report = await runCascadeBench({
    dataset: DATASET,
    taskPath: TASK,
    teacher: TEACHER,
    stream: items,
    sample: 1,
    seed: 7,
    budgets: [BUDGET],
    strategies: ['learned'],
    modes: ['sequential'],
    config: parseConfig({ logLevel: 'silent', cascade: { seed: 7, sentenceEncoder: 'glove' } }),
    logger: pino({ level: 'silent' }),
  });
  return report.results[0] as { accuracy: number; llm_share: number };
}

/** Accuracy against gold and own LLM calls of what a run published. */
function scoreRun(annotations: ReadonlyArray<Record<string, unknown>>, items: readonly LabelledItem[]): { accuracy: number; share: number } {
  const gold = new Map(items.map((r) => [r.id, r.label]));
  const accuracy = annotations.filter((a) => gold.get(String(a.id)) === a.labelId).length / items.length;
  const share = annotations.filter((a) => a.llmCalled === true && a.reason !== 'shared').length / items.length;
  return { accuracy, share };
}

describe('spillway run on a backlog', () => {
  const items = rows.slice(0, 2_000);

  it('reaches the sequential walk’s accuracy and spends its budget as the walk does', async () => {
    // One partition: the worker reads the items in the walk's order (several would interleave them differently each run).
    const t = await suite.topics('service-backlog', 1);
    await produce(t, items);
    suite.child(spawnCli(['run', '--config', workerConfig(t, instant.url)]));
    await waitFor('the whole backlog committed', async () => (await committedCount(suite.admin, t.groupId, t.input)) >= items.length, 300_000, 200);
    const annotations = await readJsonRecords(suite.kafka, t.output);
    expect(annotations).toHaveLength(items.length);
    const { accuracy, share } = scoreRun(annotations, items);
    const reference = await sequential(items);
    const figures = `service ${accuracy.toFixed(4)} at ${share.toFixed(4)}, sequential ${reference.accuracy.toFixed(4)} at ${reference.llm_share.toFixed(4)}`;
    expect(Math.abs(accuracy - reference.accuracy), figures).toBeLessThanOrEqual(0.03);
    // On 2,000 items the budget's front-load (unknown length) is not yet repaid: the walk's own share is the yardstick.
    expect(Math.abs(share - reference.llm_share), figures).toBeLessThanOrEqual(0.03);
    // No untrained stage answered while the budget could still ask the LLM.
    expect(annotations.filter((a) => a.reason === 'cold')).toHaveLength(0);
  });

  it('publishes exactly one annotation per id through a SIGKILL, and the restarted worker picks up what was learned', async () => {
    const t = await suite.topics('service-sigkill', 3);
    await produce(t, items);
    // An LLM that takes 40 ms: the backlog drains over seconds, so the kill lands mid-way.
    const paced = await startReplayServer({ dataset: DATASET, teacher: TEACHER, port: 0, latencyMs: 40 });
    onTestFinished(() => paced.close());
    const first = suite.child(spawnCli(['run', '--config', workerConfig(t, paced.url), '--instance', '0']));
    await waitFor('a fifth of the backlog committed', async () => (await committedCount(suite.admin, t.groupId, t.input)) >= 300, 180_000, 100);
    first.child.kill('SIGKILL');
    await first.exited;
    // Restarted (same instance: it fences the killed one's open transaction) on an empty models folder, it
    // restores what the group learned from the label and snapshot topics and finishes the backlog.
    expect(await committedCount(suite.admin, t.groupId, t.input)).toBeLessThan(items.length);
    const second = suite.child(spawnCli(['run', '--config', workerConfig(t, paced.url), '--instance', '0']));
    await waitFor('the whole backlog committed', async () => (await committedCount(suite.admin, t.groupId, t.input)) >= items.length, 300_000, 200);
    await waitFor('the restarted worker to say what it restored', () => /label topic replayed/.test(second.stderr()), 30_000, 100);
    const annotations = await readJsonRecords(suite.kafka, t.output);
    expect(annotations).toHaveLength(items.length);
    expect(new Set(annotations.map((a) => a.id)).size).toBe(items.length);
    // Labels went out as the LLM answered (sharedLearning.labelDelivery: immediate): at least once. Every
    // committed LLM answer has its label, and a label beyond those is an item the kill interrupted after its
    // answer (redone by the restarted worker): at most the killed worker's items in flight.
    const labels = await readJsonRecords(suite.kafka, t.labels);
    const labelled = new Map<string, number[]>();
    for (const l of labels) labelled.set(String(l.id), [...(labelled.get(String(l.id)) ?? []), Number(l.labelId)]);
    const byCall = annotations.filter((a) => a.llmSource === 'call' && a.answeredBy === 'llm');
    for (const a of byCall) expect(labelled.get(String(a.id)), String(a.id)).toContain(a.labelId);
    expect(new Set(labels.map((l) => String(l.id))).size).toBeLessThanOrEqual(items.length);
    expect(labels.length - byCall.length).toBeGreaterThanOrEqual(0);
    expect(labels.length - byCall.length).toBeLessThanOrEqual(DEFAULTS.pipeline.maxInFlight);
    // It started from what the group had learned: a snapshot and the labels after it, or every label.
    const lines = logLines(second.stderr());
    const restored = Number(lines.find((l) => l.msg === 'snapshot restored from the models topic')?.labels ?? 0);
    const replayed = Number(lines.find((l) => l.msg === 'label topic replayed')?.labels ?? 0);
    expect(restored + replayed, second.stderr().slice(-2_000)).toBeGreaterThan(100);
    // What it replayed took the place of a second warm-up: the share stays near the budget's.
    const { accuracy, share } = scoreRun(annotations, items);
    expect(share, `accuracy ${accuracy.toFixed(4)}`).toBeLessThan(BUDGET + 0.08);
  });
});

/** A worker's /status. */
async function status(port: number): Promise<Record<string, unknown>> {
  return (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as Record<string, unknown>;
}

describe("a worker's own labels (shared learning)", () => {
  it('teach its stages as they arrive, and are learned once when they come back through the label topic', async () => {
    const items = rows.slice(2_000, 2_400);
    const t = await suite.topics('service-own-labels', 1);
    await produce(t, items);
    const port = await freePort();
    suite.child(spawnCli(['run', '--config', workerConfig(t, instant.url, { cascade: { warmupItems: 50 }, httpPort: port })]));
    await waitFor('the backlog committed', async () => (await committedCount(suite.admin, t.groupId, t.input)) >= items.length, 180_000, 200);
    const labels = (await readJsonRecords(suite.kafka, t.labels)).length;
    expect(labels).toBeGreaterThan(100);
    // The small stages answered only once they had learned the warm-up's labels, inline: no label had come back yet.
    const annotations = await readJsonRecords(suite.kafka, t.output);
    const small = annotations.filter((a) => a.answeredBy !== 'llm').map((a) => (a.modelVersions as Record<string, number>).lr ?? 0);
    expect(small.length).toBeGreaterThan(100);
    expect(Math.min(...small)).toBeGreaterThanOrEqual(50);
    // Once every label has been read back, the LR took exactly one step per label: none was learned twice.
    await waitFor('every label read back', async () => ((await status(port)).worker as { labels?: number } | undefined)?.labels === labels, 60_000, 200);
    expect(((await status(port)).models as Record<string, number>).lr).toBe(labels);
  });
});

describe('a slow LLM (p50 1.5 s)', () => {
  let slow: ReplayServer;
  beforeAll(async () => {
    slow = await startReplayServer({ dataset: DATASET, teacher: TEACHER, port: 0, latencyMs: 1_500 });
  });
  afterAll(async () => {
    await slow?.close();
  });
  const items = rows.slice(0, 150);
  const settings = { cascade: { llmBudget: 0.5, warmupItems: 20 } };

  it('with no latency bound, slows consumption (the lag grows) and answers every granted item with the LLM', async () => {
    const t = await suite.topics('service-slow', 1);
    await produce(t, items);
    suite.child(spawnCli(['run', '--config', workerConfig(t, slow.url, settings), '--no-shared-learning']));
    // Ten seconds in, most of the backlog still waits in the topic rather than being answered without the LLM.
    await waitFor('the first annotations', async () => (await committedCount(suite.admin, t.groupId, t.input)) > 0, 120_000, 200);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    expect(await committedCount(suite.admin, t.groupId, t.input)).toBeLessThan(items.length);
    await waitFor('the backlog committed', async () => (await committedCount(suite.admin, t.groupId, t.input)) >= items.length, 300_000, 200);
    const annotations = await readJsonRecords(suite.kafka, t.output);
    expect(annotations.filter((a) => a.reason === 'deadline' || a.reason === 'cold')).toHaveLength(0);
    const share = annotations.filter((a) => a.llmCalled === true).length / items.length;
    expect(share).toBeGreaterThan(0.45);
  });

  it('with a latency bound (llm.deadlineMs), answers on time, the deadline ones by the small stages', async () => {
    const t = await suite.topics('service-bounded', 1);
    await produce(t, items);
    suite.child(spawnCli(['run', '--config', workerConfig(t, slow.url, { ...settings, llm: { deadlineMs: 1_000 } }), '--no-shared-learning']));
    await waitFor('the backlog committed', async () => (await committedCount(suite.admin, t.groupId, t.input)) >= items.length, 300_000, 200);
    const annotations = await readJsonRecords(suite.kafka, t.output);
    // Past the bound the small stage answered: `deadline`, or `cold` while it had not learned enough to stand behind.
    expect(annotations.filter((a) => a.reason === 'deadline' || a.reason === 'cold').length).toBeGreaterThan(10);
    // Time inside the cascade, from the item entering it to its answer: within the bound (and a tick).
    expect(Math.max(...annotations.map((a) => Number(a.latencyMs)))).toBeLessThan(1_300);
  });
});

describe('spillway run --quality', () => {
  it('keeps the target with no budget cap, publishes exactly one annotation per id, and shows the target on /status', async () => {
    const items = rows.slice(0, 1_200);
    const t = await suite.topics('service-quality', 2);
    await produce(t, items);
    const port = await freePort();
    // No budget: the targets rule alone (`--llm-budget` would make it a cap).
    const config = workerConfig(t, instant.url, { cascade: { llmBudget: undefined }, httpPort: port });
    suite.child(spawnCli(['run', '--config', config, '--quality', 'agreement>=0.85', '--quality-delta', '0.05']));
    await waitFor('the whole stream committed', async () => (await committedCount(suite.admin, t.groupId, t.input)) >= items.length, 300_000, 200);
    const quality = (await status(port)).quality as { targets: Array<{ target: string; met: boolean }>; audits: number };
    expect(quality.targets[0]).toMatchObject({ target: 'agreement>=0.85', met: true });
    expect(quality.audits).toBeGreaterThan(0);
    const annotations = await readJsonRecords(suite.kafka, t.output);
    expect(annotations).toHaveLength(items.length);
    expect(new Set(annotations.map((a) => a.id)).size).toBe(items.length);
    const llm = new Map(items.map((r) => [r.id, r.llm[TEACHER] ?? -1]));
    const judged = annotations.filter((a) => (llm.get(String(a.id)) ?? -1) >= 0);
    const agreement = judged.filter((a) => a.labelId === llm.get(String(a.id))).length / judged.length;
    expect(agreement).toBeGreaterThanOrEqual(0.85);
    expect(annotations.some((a) => a.reason === 'uncertified')).toBe(false);
  });
});
