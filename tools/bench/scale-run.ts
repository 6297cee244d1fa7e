/**
 * One run of the scale benchmark: N `spillway run` workers of one group on fresh topics of the real broker,
 * a stream of ISEAR items produced once every worker owns partitions, and what came out: accuracy against
 * the gold labels, the LLM share, items/s, label and snapshot sizes.
 */
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { PARTITIONER, readTopic } from '../../src/stream/index.js';
import {
  committedCount,
  createTopicSet,
  datasetFile,
  eachJsonRecord,
  spawnCli,
  waitFor,
  writeConfig,
  type CliProcess,
  type TopicSet,
} from '../harness/index.js';

/** One ISEAR row: text, gold label. */
export interface Row {
  id: string;
  text: string;
  label: number;
}

/** The topics and group of one run. */
export type RunTopics = Omit<TopicSet, 'cleanup'>;

/** What a run measured. */
export interface RunResult {
  workers: number;
  shared: boolean;
  items: number;
  accuracy: number;
  llmShare: number;
  seconds: number;
  itemsPerSecond: number;
  /** Label records and their mean value size, bytes. */
  labels: number;
  labelBytes: number;
  /** Snapshot chunk records on the models topic, total bytes and the newest snapshot's bytes. */
  snapshotChunks: number;
  snapshotBytes: number;
}

/** Creates the five topics of a run (input with `partitions`). */
export function createRunTopics(admin: Admin, prefix: string, partitions: number): Promise<TopicSet> {
  return createTopicSet(admin, prefix, { inputPartitions: partitions, deleteTimeoutMs: 30_000 });
}

/** Options every worker of a run gets. */
export interface WorkerSettings {
  llmUrl: string;
  budget: number;
  seed: number;
  snapshotEveryLabels: number;
}

/** Writes one worker's config (its own empty models folder) and starts it. */
export function startWorker(t: RunTopics, settings: WorkerSettings, instance: number, shared: boolean): CliProcess {
  const config = writeConfig(
    (dir: string) => ({
      logLevel: 'info',
      task: datasetFile('isear.task.json'),
      llm: { baseUrl: settings.llmUrl, concurrency: 16 },
      cascade: { llmBudget: settings.budget, seed: settings.seed },
      models: { dir: path.join(dir, 'models'), backend: 'cpu' },
      monitor: { httpPort: 0 },
      kafka: {
        groupId: t.groupId,
        topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models },
        sessionTimeoutMs: 10_000,
      },
      sharedLearning: { snapshotEveryLabels: settings.snapshotEveryLabels },
    }),
    'spillway-scale-',
  );
  return spawnCli(['run', '--config', config, '--instance', String(instance), ...(shared ? [] : ['--no-shared-learning'])]);
}

/** Waits until the group has `n` members, each with partitions (so the stream is split from its first item). */
export async function awaitGroup(admin: Admin, groupId: string, n: number, workers: CliProcess[]): Promise<void> {
  await waitFor(
    `${n} workers to own partitions`,
    async () => {
      const dead = workers.find((w) => w.child.exitCode !== null);
      if (dead !== undefined) throw new Error(`a worker exited early:\n${dead.stderr().slice(-2_000)}`);
      const { groups } = await admin.describeGroups([groupId]);
      const members = groups[0]?.members ?? [];
      return groups[0]?.state === 'Stable' && members.length === n && members.every((m) => m.memberAssignment.length > 0);
    },
    600_000,
    250,
  );
}

/**
 * Produces the rows as items (key = id) with an idempotent producer: at `ratePerSecond` (a live stream the
 * LLM can keep up with), or as fast as possible (a backlog) when it is undefined.
 */
export async function produceRows(kafka: Kafka, topic: string, rows: readonly Row[], ratePerSecond?: number): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
  await producer.connect();
  const step = ratePerSecond === undefined ? 2_000 : Math.max(1, Math.round(ratePerSecond / 10));
  const started = performance.now();
  for (let i = 0; i < rows.length; i += step) {
    await producer.send({ topic, acks: -1, messages: rows.slice(i, i + step).map((r) => ({ key: r.id, value: JSON.stringify({ id: r.id, text: r.text }) })) });
    if (ratePerSecond !== undefined) {
      const due = started + ((i + step) / ratePerSecond) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
  await producer.disconnect();
}

/** Accuracy against gold and LLM share of the committed annotations (read_committed). */
export async function score(kafka: Kafka, topic: string, gold: ReadonlyMap<string, number>): Promise<{ items: number; accuracy: number; llmShare: number }> {
  let items = 0;
  let correct = 0;
  let calls = 0;
  await eachJsonRecord(kafka, topic, (a) => {
    items++;
    if (gold.get(String(a.id)) === a.labelId) correct++;
    if (a.llmSource === 'call') calls++;
  });
  return { items, accuracy: items === 0 ? 0 : correct / items, llmShare: items === 0 ? 0 : calls / items };
}

/** Count and mean value bytes of a topic's committed records. */
export async function recordSizes(kafka: Kafka, topic: string): Promise<{ count: number; meanBytes: number; totalBytes: number }> {
  let count = 0;
  let bytes = 0;
  await readTopic({
    kafka,
    topic,
    exitAtEnd: true,
    onRecord: (m) => {
      count++;
      bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
    },
  });
  return { count, meanBytes: count === 0 ? 0 : bytes / count, totalBytes: bytes };
}

/**
 * A whole run: starts `workers` workers, produces `rows` once they own partitions, waits for every offset
 * to commit, scores the output. `keep` leaves the workers running (the caller kills or stops them).
 */
export async function runGroup(
  kafka: Kafka,
  admin: Admin,
  t: RunTopics,
  rows: readonly Row[],
  workers: number,
  shared: boolean,
  settings: WorkerSettings,
  ratePerSecond?: number,
): Promise<{ result: RunResult; children: CliProcess[] }> {
  const children = Array.from({ length: workers }, (_, i) => startWorker(t, settings, i, shared));
  await awaitGroup(admin, t.groupId, workers, children);
  const started = performance.now();
  await produceRows(kafka, t.input, rows, ratePerSecond);
  await waitFor(
    'every offset committed',
    async () => {
      const dead = children.find((w) => w.child.exitCode !== null);
      if (dead !== undefined) throw new Error(`a worker exited:\n${dead.stderr().slice(-3_000)}`);
      return (await committedCount(admin, t.groupId, t.input)) >= rows.length;
    },
    1_800_000,
    100,
  );
  const seconds = (performance.now() - started) / 1000;
  const gold = new Map(rows.map((r) => [r.id, r.label]));
  const scored = await score(kafka, t.output, gold);
  const labels = await recordSizes(kafka, t.labels);
  const snapshots = await recordSizes(kafka, t.models);
  return {
    children,
    result: {
      workers,
      shared,
      items: scored.items,
      accuracy: scored.accuracy,
      llmShare: scored.llmShare,
      seconds,
      itemsPerSecond: rows.length / seconds,
      labels: labels.count,
      labelBytes: labels.meanBytes,
      snapshotChunks: snapshots.count,
      snapshotBytes: snapshots.totalBytes,
    },
  };
}

/** SIGTERM every child still running and wait for them. */
export async function stopAll(children: CliProcess[]): Promise<void> {
  for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
  await Promise.all(children.map((c) => c.exited));
}
