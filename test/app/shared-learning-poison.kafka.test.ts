/**
 * Shared learning against records an adversary (or a bug) could put on its topics, on the real broker: a
 * malformed label is dead-lettered with its reason and skipped, and workers, running or new, learn the good
 * labels around it; a garbage, truncated, NaN or far-future snapshot is passed over for the previous good one,
 * or for a replay of the labels; `--reset-models` starts from label offset 0 whatever the snapshots say.
 * Synthetic task and texts; an LR-only cascade.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import avro from 'avsc';
import type { Message } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { buildOnSharedState, prepareSharedState, SharedLearning } from '../../src/app/index.js';
import { archiveCascadeState, createCascade, modelStateDir, unpackCascadeArchive, type Cascade, type StateArchive } from '../../src/cascade/index.js';
import { parseConfig, type Config } from '../../src/config.js';
import type { Task } from '../../src/llm/index.js';
import { sha256 } from '../../src/cascade/model-integrity.js';
import { SpillwayMetrics } from '../../src/monitor/index.js';
import { buildCodecs, DeadLetterWriter, snapshotMessages, SnapshotPublisher, type LabelRecord, type StreamCodecs } from '../../src/stream/index.js';
import { readJsonRecords, sendRecords, useKafkaSuite, waitFor, type TestTopics } from '../stream/helpers.js';

const logger = pino({ level: 'silent' });
const suite = useKafkaSuite();
const { kafka } = suite;

const task: Task = {
  name: 'weather',
  labels: ['sunny', 'rainy', 'snowy'],
  prompt: { system: 'Classify the weather.', user: '{text}' },
};
const WORDS = [
  ['sun', 'bright', 'warm', 'clear', 'blue', 'shine'],
  ['rain', 'wet', 'umbrella', 'drizzle', 'puddle', 'storm'],
  ['snow', 'cold', 'flake', 'frost', 'sled', 'white'],
];
/** Label `i % 3`, in words of that label, deterministic. */
function text(i: number): string {
  const words = WORDS[i % 3] as string[];
  return Array.from({ length: 6 }, (_, k) => words[(i * 7 + k * 3) % words.length]).join(' ') + ` day ${i}`;
}
function label(i: number): LabelRecord {
  const labelId = i % 3;
  return {
    id: `item-${i}`,
    task: task.name,
    text: text(i),
    labelId,
    label: task.labels[labelId] as string,
    teacherModel: 't',
    workerId: 'w',
    modelVersions: {},
    producedAtMs: 1,
  };
}

const dirs: string[] = [];
const running: Array<{ shared: SharedLearning; deadLetters: DeadLetterWriter }> = [];
afterEach(async () => {
  for (const w of running.splice(0)) {
    await w.shared.stop();
    await w.deadLetters.close();
  }
});
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function configFor(t: TestTopics, snapshotEveryLabels = 1_000_000): Readonly<Config> {
  const dir = mkdtempSync(path.join(tmpdir(), 'spillway-poison-'));
  dirs.push(dir);
  return parseConfig({
    cascade: { stages: ['lr'], pretrainedVectors: false, featureDim: 4096 },
    models: { dir, backend: 'cpu', saveEveryItems: 0 },
    kafka: { groupId: t.groupId, topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models } },
    sharedLearning: { snapshotEveryLabels, catchUpTimeoutMs: 60_000, chunkBytes: 4096 },
  });
}

function labelRecords(codecs: StreamCodecs, from: number, to: number): Message[] {
  return Array.from({ length: to - from }, (_, k) => ({ key: `item-${from + k}`, value: codecs.labelEncoder.encode(label(from + k)) }));
}

/** A worker's learning side, as `spillway run` builds it: state chosen, cascade built, label topic replayed. */
async function startWorker(config: Readonly<Config>, codecs: StreamCodecs, options: { resetModels?: boolean; metrics?: SpillwayMetrics } = {}) {
  const deadLetters = new DeadLetterWriter({
    kafka,
    config: config.kafka,
    codecs,
    logger,
    ...(options.metrics === undefined ? {} : { observer: options.metrics }),
  });
  await deadLetters.start();
  const start = await prepareSharedState(kafka, config, codecs, task, logger, { deadLetters, resetModels: options.resetModels === true });
  let shared: SharedLearning | undefined;
  const cascade: Cascade = await createCascade({
    task,
    config: { ...config, llm: { ...config.llm, concurrency: 1, costUnits: 1000 } },
    logger,
    allowNoLlm: true,
    learnInline: false,
    labelsShared: true,
    stateMeta: () => shared?.stateMeta() ?? {},
  });
  shared = new SharedLearning({ kafka, config, codecs, cascade, task, teacherModel: 't', workerId: 'w-test', start, deadLetters, logger });
  running.push({ shared, deadLetters });
  await shared.start();
  await deadLetters.flush();
  return { cascade, shared, start, deadLetters };
}

/** A cascade trained on labels [0, n), packed as a snapshot archive with label offset `n`. */
async function trainedArchive(config: Readonly<Config>, n: number): Promise<StateArchive> {
  const cascade = await createCascade({
    task,
    config: { ...config, llm: { ...config.llm, concurrency: 1, costUnits: 1000 } },
    logger,
    allowNoLlm: true,
    restore: false,
  });
  for (let i = 0; i < n; i++) await cascade.learnFromLabel(text(i), i % 3);
  return archiveCascadeState(cascade.parts, task, { labelOffset: n, labels: n });
}

/** The archive's files changed by `edit` (path → bytes), the manifest's checksums left as they were. */
function repacked(archive: StateArchive, edit: (files: Map<string, Buffer>) => void): StateArchive {
  const files = unpackCascadeArchive(archive, 'test');
  edit(files);
  const map = avro.Type.forSchema({ type: 'map', values: 'bytes' });
  const pack = (entries: Array<[string, Buffer]>): Buffer => gzipSync(map.toBuffer(Object.fromEntries(entries)));
  return new Map([
    ['manifest', pack([...files].filter(([f]) => !f.includes('/')))],
    ['lr', pack([...files].filter(([f]) => f.startsWith('lr/')))],
  ]);
}

/** The archive with one float of the LR weights replaced by NaN, its checksums recomputed (only finiteness is wrong). */
function withNaN(archive: StateArchive): StateArchive {
  return repacked(archive, (files) => {
    const weights = Buffer.from(files.get('lr/weights.f32') as Buffer);
    weights.writeFloatLE(Number.NaN, 40);
    const manifest = JSON.parse(String(files.get('manifest.json'))) as { files: Record<string, { sha256: string }> };
    (manifest.files['lr/weights.f32'] as { sha256: string }).sha256 = sha256(weights);
    files.set('lr/weights.f32', weights);
    files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
  });
}

async function publish(config: Readonly<Config>, codecs: StreamCodecs, archive: StateArchive, labelOffset: number, slot: number): Promise<string> {
  const publisher = new SnapshotPublisher(
    kafka.producer({ idempotent: true }),
    config.kafka.topics.models,
    codecs.schemas.modelChunk,
    config.sharedLearning.chunkBytes,
  );
  await publisher.start();
  const { snapshotId } = await publisher.publish(
    { task: task.name, labelOffset: BigInt(labelOffset), labels: labelOffset, workerId: 'w-pub', createdAtMs: Date.now(), parts: archive },
    slot,
  );
  await publisher.close();
  return snapshotId;
}

describe('when a malformed label sits among good ones', () => {
  it('dead-letters it with its offset and reason, and running and new workers learn every good label around it', async () => {
    const t = await suite.topics('bad-label', 1);
    const config = configFor(t);
    const codecs = await buildCodecs(config.kafka);
    await sendRecords(kafka, t.labels, labelRecords(codecs, 0, 30));
    const metrics = new SpillwayMetrics(new Registry());
    const first = await startWorker(config, codecs, { metrics });
    expect(first.cascade.labelsLearned).toBe(30);

    const bad: Message[] = [
      { key: 'number-text', value: JSON.stringify({ ...label(100), text: 42 }) }, // 30: "text" is a number
      { key: 'out-of-range', value: JSON.stringify({ ...label(101), labelId: 7 }) }, // 31
      { key: 'garbage', value: Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x00]) }, // 32: neither JSON nor Avro
      { key: 'mismatch', value: JSON.stringify({ ...label(102), label: 'foggy' }) }, // 33: another task file
      { key: 'huge-id', value: JSON.stringify({ ...label(103), id: 'i'.repeat(5_000) }) }, // 34
      { key: 'time', value: JSON.stringify({ ...label(104), producedAtMs: 'yesterday' }) }, // 35
    ];
    await sendRecords(kafka, t.labels, [...bad, ...labelRecords(codecs, 30, 60)]);
    // The running worker goes on learning past them.
    await waitFor('the running worker learns the labels after the bad ones', () => first.cascade.labelsLearned === 60, 30_000);
    expect(first.shared.status()).toMatchObject({ labels: 60, labelOffset: 66 });
    await first.deadLetters.flush();

    // A new worker starts and learns the same.
    const second = await startWorker(configFor(t), codecs);
    expect(second.cascade.labelsLearned).toBe(60);
    expect(second.cascade.parts.stages[0]?.version).toBe(first.cascade.parts.stages[0]?.version);

    const letters = await readJsonRecords(kafka, t.deadLetter);
    // One per worker that read them: the first worker's six, then the second worker's six.
    const firsts = letters.slice(0, 6).map((l) => [l.topic, l.offset, l.errorKind]);
    expect(firsts).toEqual([
      [t.labels, 30, 'label-malformed'],
      [t.labels, 31, 'label-out-of-range'],
      [t.labels, 32, 'label-undecodable'],
      [t.labels, 33, 'label-mismatch'],
      [t.labels, 34, 'label-oversize'],
      [t.labels, 35, 'label-malformed'],
    ]);
    expect(String(letters[0]?.errorMessage)).toContain('"text" is number, not a string');
    expect(String(letters[1]?.errorMessage)).toContain('label id 7 of label item-101 is not one of the 3 labels of task weather');
    expect(String(letters[3]?.errorMessage)).toContain('"foggy"');
    expect(await metrics.text()).toMatch(/spillway_shared_records_rejected_total\{topic="labels",kind="label-malformed"\} 2/);
  });
});

describe('when the newest snapshots are bad', () => {
  it('a fresh worker passes over garbage, truncated, NaN and far-future snapshots to the previous good one, and learns on', async () => {
    const t = await suite.topics('bad-snap', 1);
    const config = configFor(t);
    const codecs = await buildCodecs(config.kafka);
    await sendRecords(kafka, t.labels, labelRecords(codecs, 0, 90));
    const good = await trainedArchive(config, 40);
    const goodId = await publish(config, codecs, good, 40, 0);
    // Newer, all unusable: NaN weights (label offset 60), a far-future offset, a truncated chunk, garbage bytes.
    await publish(config, codecs, withNaN(await trainedArchive(config, 60)), 60, 1);
    await publish(config, codecs, await trainedArchive(config, 70), 1_000_000_000, 1);
    // Label offset 80, its last chunk cut short but still Avro: the stage no longer matches its SHA-256.
    const cut = snapshotMessages(
      { task: task.name, labelOffset: 80n, labels: 80, workerId: 'w-pub', createdAtMs: Date.now(), parts: await trainedArchive(config, 80) },
      codecs.schemas.modelChunk,
      config.sharedLearning.chunkBytes,
      1,
    ).messages;
    const last = codecs.schemas.modelChunk.fromBuffer(cut[cut.length - 1]?.value as Buffer) as { data: Buffer };
    cut[cut.length - 1] = {
      ...cut[cut.length - 1],
      value: codecs.schemas.modelChunk.toBuffer({ ...last, data: last.data.subarray(0, last.data.length - 100) }),
    };
    await sendRecords(kafka, t.models, cut);
    // A record whose Avro is cut short, and one that is no Avro at all.
    await sendRecords(kafka, t.models, [{ key: 'cut', value: (cut[0]?.value as Buffer).subarray(0, 300) }]);
    await sendRecords(kafka, t.models, [{ key: `${task.name}/0/lr/0`, value: Buffer.from('garbage, not Avro at all') }]);

    const worker = await startWorker(config, codecs);
    expect(worker.start).toMatchObject({ source: 'snapshot', labelOffset: 40n, snapshotId: goodId });
    expect(worker.cascade.labelsLearned).toBe(50);
    expect(worker.shared.status()).toMatchObject({ labels: 90, labelOffset: 90 });
    // The same models as a worker that learned all 90 labels in order.
    const reference = await createCascade({
      task,
      config: { ...config, llm: { ...config.llm, concurrency: 1, costUnits: 1000 }, models: configFor(t).models },
      logger,
      allowNoLlm: true,
      restore: false,
    });
    for (let i = 0; i < 90; i++) await reference.learnFromLabel(text(i), i % 3);
    const lr = (c: Cascade): number[][] =>
      [200, 201, 202, 203].map((i) => Array.from(c.parts.stages[0]?.run({ features: c.parts.featurizer.featurize(text(i)), probs: [] }) ?? []));
    expect(lr(worker.cascade)).toEqual(lr(reference));

    const letters = await readJsonRecords(kafka, t.deadLetter);
    const kinds = letters.map((l) => l.errorKind).sort();
    expect(kinds).toEqual(['snapshot-checksum', 'snapshot-chunk-undecodable', 'snapshot-chunk-undecodable', 'snapshot-offset', 'snapshot-unusable']);
    const unusable = letters.find((l) => l.errorKind === 'snapshot-unusable');
    expect(String(unusable?.errorMessage)).toMatch(/label offset 60\) is unusable: .*lr\/weights\.f32: value 10 is NaN/);
    const future = letters.find((l) => l.errorKind === 'snapshot-offset');
    expect(String(future?.errorMessage)).toContain('claims label offset 1000000000, but the label topic ends at 90');
  });

  it('a snapshot that passes its checks but does not load is set aside for the one before it', async () => {
    const t = await suite.topics('unloadable', 1);
    const config = configFor(t);
    const codecs = await buildCodecs(config.kafka);
    await sendRecords(kafka, t.labels, labelRecords(codecs, 0, 70));
    const goodId = await publish(config, codecs, await trainedArchive(config, 40), 40, 0);
    // Finite, checksummed, but a deferral policy of the wrong size: only the restore itself refuses it.
    const odd = repacked(await trainedArchive(config, 60), (files) => {
      const manifest = JSON.parse(String(files.get('manifest.json'))) as { policies: Record<string, { weights: number[]; gradSquares: number[] }> };
      for (const p of Object.values(manifest.policies)) {
        p.weights = p.weights.slice(0, 3);
        p.gradSquares = p.gradSquares.slice(0, 3);
      }
      files.set('manifest.json', Buffer.from(JSON.stringify(manifest)));
    });
    const oddId = await publish(config, codecs, odd, 60, 1);
    const deadLetters = new DeadLetterWriter({ kafka, config: config.kafka, codecs, logger });
    await deadLetters.start();
    try {
      const { start, built } = await buildOnSharedState(
        (refused) => prepareSharedState(kafka, config, codecs, task, logger, { deadLetters, refused }),
        () => createCascade({ task, config, logger, allowNoLlm: true, learnInline: false, labelsShared: true }),
        modelStateDir(config.models.dir, task.name),
        logger,
      );
      expect(start).toMatchObject({ source: 'snapshot', snapshotId: goodId, labelOffset: 40n });
      expect(built.parts.stages[0]?.version).toBe(40);
      await deadLetters.flush();
      const letters = await readJsonRecords(kafka, t.deadLetter);
      expect(letters.map((l) => l.errorKind)).toEqual(['snapshot-unusable']);
      expect(String(letters[0]?.errorMessage)).toMatch(new RegExp(`snapshot ${oddId} .* did not load: .*policy has 3 weights`));
    } finally {
      await deadLetters.close();
    }
  });

  it('a fresh worker replays the labels when no snapshot is usable, and --reset-models trains from offset 0', async () => {
    const t = await suite.topics('no-snap', 1);
    const config = configFor(t);
    const codecs = await buildCodecs(config.kafka);
    await sendRecords(kafka, t.labels, labelRecords(codecs, 0, 120));
    await publish(config, codecs, withNaN(await trainedArchive(config, 100)), 100, 0);
    const replayed = await startWorker(config, codecs);
    expect(replayed.start).toMatchObject({ source: 'fresh', labelOffset: 0n });
    expect(replayed.cascade.labelsLearned).toBe(120);

    // Local state saved at offset 120 and a bad snapshot: --reset-models ignores both and starts at 0.
    await replayed.cascade.save();
    const reset = await startWorker(config, codecs, { resetModels: true });
    expect(reset.start).toMatchObject({ source: 'fresh', labelOffset: 0n, labels: 0 });
    expect(reset.cascade.labelsLearned).toBe(120);
    expect(reset.shared.status()).toMatchObject({ labels: 120, labelOffset: 120, restored: { source: 'fresh', labelOffset: 0 } });
  });
});
