/**
 * Shared learning over the real broker: workers that read the same label topic end with the
 * same models; a label of an aborted transaction is never trained on; a snapshot round trip keeps every
 * prediction; a restarted worker restores the newest snapshot and replays only the labels after it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { archiveCascadeState, createCascade, restoreCascadeArchive, type Cascade } from '../../src/cascade/index.js';
import type { ItemContext } from '../../src/cascade/stages.js';
import { prepareSharedState, SharedLearning } from '../../src/app/index.js';
import { type Config } from '../../src/config.js';
import { loadTask, type Task } from '../../src/llm/index.js';
import {
  buildCodecs,
  DeadLetterWriter,
  readSnapshots,
  SnapshotPublisher,
  type LabelRecord,
  type ModelSnapshot,
  type StreamCodecs,
} from '../../src/stream/index.js';
import { createTestTopics, STREAMS_DIR, readJsonRecords, testKafka, type TestTopics } from '../stream/helpers.js';
import { readFileSync } from 'node:fs';
import { testConfig } from '../helpers/test-config.js';

const logger = pino({ level: 'silent' });
const TASK_FILE = path.join(STREAMS_DIR, 'emotions.task.json');
const TEACHER = 'gpt-3.5-turbo-1106';

let kafka: Kafka;
let admin: Admin;
let task: Task;
let topics: TestTopics | undefined;
const dirs: string[] = [];
const running: SharedLearning[] = [];
const writers: DeadLetterWriter[] = [];

interface Row {
  id: string;
  text: string;
  llm: Record<string, number>;
}
const rows: Row[] = readFileSync(path.join(STREAMS_DIR, 'emotions.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .slice(0, 1_200)
  .map((l) => JSON.parse(l) as Row);
const probe = rows.slice(1_000, 1_200);

beforeAll(async () => {
  kafka = testKafka();
  admin = kafka.admin();
  await admin.connect();
  task = loadTask(TASK_FILE);
});

afterEach(async () => {
  for (const s of running.splice(0)) await s.stop();
  for (const w of writers.splice(0)) await w.close();
  await topics?.cleanup();
  topics = undefined;
});

afterAll(async () => {
  await admin.disconnect();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'spillway-shared-'));
  dirs.push(d);
  return d;
}

function configFor(t: TestTopics, snapshotEveryLabels = 1_000_000): Readonly<Config> {
  return testConfig({
    task: TASK_FILE,
    cascade: { stages: ['lr', 'mid'], pretrainedVectors: false, featureDim: 2 ** 14 },
    models: { dir: tempDir(), backend: 'cpu', saveEveryItems: 0 },
    kafka: { groupId: t.groupId, topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models } },
    sharedLearning: { snapshotEveryLabels, catchUpTimeoutMs: 60_000, chunkBytes: 64 * 1024 },
  });
}

function labelOf(row: Row, workerId = 'w-test'): LabelRecord {
  const labelId = row.llm[TEACHER] as number;
  return {
    id: row.id,
    task: task.name,
    text: row.text,
    labelId,
    label: task.labels[labelId] ?? '',
    teacherModel: TEACHER,
    workerId,
    modelVersions: {},
    producedAtMs: Date.now(),
  };
}

/** Writes labels in transactions of 50, like workers commit them; `abort` rows go in a transaction that is aborted. */
async function produceLabels(t: TestTopics, codecs: StreamCodecs, committed: Row[], abort: Row[] = []): Promise<void> {
  const producer = kafka.producer({ transactionalId: `${t.groupId}-labels-test`, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const send = async (batch: Row[], commit: boolean): Promise<void> => {
    const tx = await producer.transaction();
    await tx.send({ topic: t.labels, messages: batch.map((r) => ({ key: r.id, value: codecs.labelEncoder.encode(labelOf(r)) })) });
    await (commit ? tx.commit() : tx.abort());
  };
  for (let i = 0; i < committed.length; i += 50) {
    await send(committed.slice(i, i + 50), true);
    if (i === 0 && abort.length > 0) await send(abort, false);
  }
  await producer.disconnect();
}

async function cascadeFor(config: Readonly<Config>, restore: boolean): Promise<Cascade> {
  return createCascade({
    task,
    config: { ...config, llm: { ...config.llm, concurrency: 1, costUnits: 1000 } },
    logger,
    allowNoLlm: true,
    learnInline: false,
    labelsShared: true,
    restore,
  });
}

/** A worker's learning side: prepares its state, builds its cascade, replays the label topic. */
async function startWorker(
  config: Readonly<Config>,
  codecs: StreamCodecs,
  workerId: string,
  publisher = false,
): Promise<{ cascade: Cascade; shared: SharedLearning }> {
  const deadLetters = new DeadLetterWriter({ kafka, config: config.kafka, codecs, logger });
  await deadLetters.start();
  writers.push(deadLetters);
  const start = await prepareSharedState(kafka, config, codecs, task, logger, { deadLetters });
  let shared: SharedLearning | undefined;
  const cascade = await createCascade({
    task,
    config: { ...config, llm: { ...config.llm, concurrency: 1, costUnits: 1000 } },
    logger,
    allowNoLlm: true,
    learnInline: false,
    labelsShared: true,
    stateMeta: () => shared?.stateMeta() ?? {},
  });
  shared = new SharedLearning({ kafka, config, codecs, cascade, task, teacherModel: TEACHER, workerId, start, deadLetters, logger });
  if (publisher) shared.onAssignment([0]);
  running.push(shared);
  await shared.start();
  return { cascade, shared };
}

/** The newest complete snapshot on the models topic. */
async function newestSnapshot(t: TestTopics, codecs: StreamCodecs): Promise<ModelSnapshot | undefined> {
  const [newest] = await readSnapshots({
    kafka,
    topic: t.models,
    task: task.name,
    chunkType: codecs.schemas.modelChunk,
    maxLabelOffset: 1_000_000n,
    refuse: (_record, origin, err) => {
      throw new Error(`snapshot record at ${origin.offset} refused: ${err.message}`);
    },
  });
  return newest;
}

/** Every stage's probabilities on the probe texts. */
function predictions(cascade: Cascade): number[][] {
  return probe.map((r) => {
    const ctx: ItemContext = { features: cascade.parts.featurizer.featurize(r.text), probs: [] };
    return cascade.parts.stages.flatMap((s) => {
      const p = s.run(ctx);
      ctx.probs.push(p);
      return Array.from(p);
    });
  });
}

function versions(cascade: Cascade): number[] {
  return cascade.parts.stages.map((s) => s.version);
}

describe('when two workers read the same label topic', () => {
  it('they reach the same model versions and identical predictions, and never train on an aborted label', async () => {
    topics = await createTestTopics(admin, 'shared', 2);
    const t = topics;
    const config = configFor(t);
    const codecs = await buildCodecs(config.kafka);
    const committed = rows.slice(0, 600);
    const aborted = rows.slice(600, 700);
    await produceLabels(t, codecs, committed, aborted);

    const a = await startWorker(config, codecs, 'w-a');
    const b = await startWorker(configFor(t), codecs, 'w-b');
    expect(a.cascade.labelsLearned).toBe(committed.length);
    expect(b.cascade.labelsLearned).toBe(committed.length);
    expect(versions(a.cascade)).toEqual(versions(b.cascade));
    expect(versions(a.cascade)[0]).toBe(committed.length); // the LR takes one step per label
    expect(predictions(a.cascade)).toEqual(predictions(b.cascade));

    // The same labels learned directly, in topic order, without the aborted ones: the very same models.
    const reference = await cascadeFor(configFor(t), false);
    for (const r of committed) await reference.learnFromLabel(r.text, r.llm[TEACHER] as number);
    expect(predictions(reference)).toEqual(predictions(a.cascade));
    expect(a.shared.status()).toMatchObject({ id: 'w-a', sharedLearning: true, labels: committed.length, restored: { source: 'fresh', labelOffset: 0 } });
  });
});

describe('a snapshot on the models topic', () => {
  it('round-trips to identical predictions of every stage', async () => {
    topics = await createTestTopics(admin, 'snap', 1);
    const t = topics;
    const config = configFor(t);
    const codecs = await buildCodecs(config.kafka);
    const original = await cascadeFor(config, false);
    for (const r of rows.slice(0, 400)) await original.learnFromLabel(r.text, r.llm[TEACHER] as number);

    const archive = await archiveCascadeState(original.parts, task, { labelOffset: 400, labels: 400 });
    const publisher = new SnapshotPublisher(kafka.producer({ idempotent: true }), t.models, codecs.schemas.modelChunk, config.sharedLearning.chunkBytes);
    await publisher.start();
    const published = await publisher.publish({ task: task.name, labelOffset: 400n, labels: 400, workerId: 'w-a', createdAtMs: Date.now(), parts: archive });
    await publisher.close();
    expect(published.chunks).toBeGreaterThan(archive.size); // chunked: the LR part is larger than one chunk

    const snapshot = await newestSnapshot(t, codecs);
    expect(snapshot?.snapshotId).toBe(published.snapshotId);
    expect(snapshot?.labelOffset).toBe(400n);
    const other = configFor(t);
    await restoreCascadeArchive(snapshot?.parts ?? new Map(), path.join(other.models.dir, task.name));
    const restored = await cascadeFor(other, true);
    expect(versions(restored)).toEqual(versions(original));
    expect(predictions(restored)).toEqual(predictions(original));
  });
});

describe('when a worker is replaced by a new one on an empty models folder', () => {
  it('restores the newest snapshot and replays only the labels after its offset', async () => {
    topics = await createTestTopics(admin, 'restart', 1);
    const t = topics;
    const config = configFor(t, 100);
    const codecs = await buildCodecs(config.kafka);
    await produceLabels(t, codecs, rows.slice(0, 250));
    const first = await startWorker(config, codecs, 'w-a', true);
    await first.shared.stop(); // waits for the snapshot being published
    running.splice(running.indexOf(first.shared), 1);
    const snapshots = await readJsonRecords(kafka, t.labels);
    expect(snapshots).toHaveLength(250);

    const newest = await newestSnapshot(t, codecs);
    expect(newest?.labels).toBe(200);
    const replacement = await startWorker(configFor(t, 100), codecs, 'w-b');
    expect(replacement.shared.status()).toMatchObject({ restored: { source: 'snapshot', labelOffset: Number(newest?.labelOffset) }, labels: 250 });
    // Only the 50 labels after the snapshot were replayed.
    expect(replacement.cascade.labelsLearned).toBe(50);
    // The LR (whole state in the snapshot) is exactly the first worker's.
    expect(replacement.cascade.parts.stages[0]?.version).toBe(first.cascade.parts.stages[0]?.version);
    const lrOnly = (c: Cascade): number[][] =>
      probe.map((r) => Array.from(c.parts.stages[0]?.run({ features: c.parts.featurizer.featurize(r.text), probs: [] }) ?? []));
    expect(lrOnly(replacement.cascade)).toEqual(lrOnly(first.cascade));
  });
});
