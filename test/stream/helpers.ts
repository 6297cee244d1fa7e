/**
 * Helpers of the Kafka tests: random topics on the real broker (started by `npm run kafka:start`), a test
 * file's client, admin and teardown, StreamWorkers on test topics, polling waits, reading a topic to its end,
 * and `spillway run` as a child process.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { Admin, Kafka, Message } from 'kafkajs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { DEFAULTS, type KafkaConfig } from '../../src/config.js';
import { buildCodecs, StreamWorker, type ItemAnswer, type ItemProcessor, type StreamItem, type StreamWorkerOptions } from '../../src/stream/index.js';
import { createTopicSet, kafkaClient, KAFKA_BROKERS, type CliProcess, type TopicSet } from '../../tools/harness/index.js';
import { STREAMS_DIR } from '../helpers/paths.js';

// Shared with the benchmarks: they live in tools/harness.
export {
  committedCount,
  randomName,
  readJsonRecords,
  REPO_ROOT,
  spawnCli,
  spawnEchoWorker,
  waitFor,
  writeConfig,
  type CliProcess,
} from '../../tools/harness/index.js';
export { STREAMS_DIR };
export const BROKERS = KAFKA_BROKERS;

/** A kafkajs client for tests, silent. */
export function testKafka(): Kafka {
  return kafkaClient('spillway-test', { retries: 8, initialRetryTime: 200 });
}

/** The topics of one test, named randomly, and their consumer group. */
export type TestTopics = TopicSet;

/** Creates input/output/dead-letter/labels/models topics with the settings of topics/topics.yaml (input partitions overridable). */
export function createTestTopics(admin: Admin, prefix: string, inputPartitions?: number): Promise<TestTopics> {
  return createTopicSet(admin, prefix, { ...(inputPartitions === undefined ? {} : { inputPartitions }), deleteTimeoutMs: 10_000 });
}

/** The worker settings of a test on `t`: the defaults, its group and topics, then `overrides`. */
export function testKafkaConfig(
  t: Pick<TestTopics, 'input' | 'output' | 'deadLetter' | 'labels' | 'models' | 'groupId'>,
  overrides: Partial<KafkaConfig> = {},
): KafkaConfig {
  return {
    ...DEFAULTS.kafka,
    groupId: t.groupId,
    topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models },
    ...overrides,
  };
}

/** A confident stage-1 answer (label 1, "one") for an item, its metadata passed through: the processor of the worker tests. */
export function answerFor(item: Pick<StreamItem, 'id' | 'metadata'>): ItemAnswer {
  return {
    id: item.id,
    labelId: 1,
    label: 'one',
    confidence: 1,
    answeredBy: 'lr',
    stages: [],
    pDefer: {},
    llmCalled: false,
    llmSource: 'none',
    llmUnparseable: false,
    llmFailed: false,
    audited: false,
    reason: 'confident',
    costUnits: 1,
    latencyMs: 0,
    modelVersions: {},
    ...(item.metadata === undefined ? {} : { metadata: item.metadata }),
  };
}

/** Sends records with a producer of its own: a kafkajs producer keeps refreshing the metadata of every topic it ever wrote to, deleted ones too. */
export async function sendRecords(kafka: Kafka, topic: string, messages: Message[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    await producer.send({ topic, acks: -1, messages });
  } finally {
    await producer.disconnect();
  }
}

/** A Kafka test file's client, admin and teardown (see {@link useKafkaSuite}). */
export interface KafkaSuite {
  readonly kafka: Kafka;
  /** Connected before the file's tests, disconnected after them. */
  readonly admin: Admin;
  /** Random topics (as {@link createTestTopics}), deleted at the end of the current test. */
  topics(prefix: string, inputPartitions?: number): Promise<TestTopics>;
  /** Random topics deleted at the end of the file (for a `beforeAll`). */
  fileTopics(prefix: string, inputPartitions?: number): Promise<TestTopics>;
  /** A StreamWorker (not started) with a silent logger and the `i`-th transactional id of the test, stopped at the end of the test. */
  worker(config: KafkaConfig, process: ItemProcessor, extra?: Pick<StreamWorkerOptions, 'sideRecords' | 'sideDelivery'>): Promise<StreamWorker>;
  /** Tracks a child process: SIGKILLed at the end of the test if still running, and awaited. */
  child<T extends CliProcess>(child: T): T;
}

/** Registers the hooks of a Kafka test file (connect, per-test and per-file teardown); call at the top of the file. */
export function useKafkaSuite(): KafkaSuite {
  const kafka = testKafka();
  const admin = kafka.admin();
  const silent = pino({ level: 'silent' });
  const testTopics: TestTopics[] = [];
  const fileTopics: TestTopics[] = [];
  const workers: StreamWorker[] = [];
  const children: CliProcess[] = [];
  beforeAll(async () => {
    await admin.connect();
  });
  afterEach(async () => {
    await Promise.allSettled(workers.splice(0).map((w) => w.stop()));
    for (const c of children.splice(0)) {
      if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await c.exited;
    }
    for (const t of testTopics.splice(0)) await t.cleanup();
  });
  afterAll(async () => {
    for (const t of fileTopics.splice(0)) await t.cleanup();
    await admin.disconnect();
  });
  return {
    kafka,
    admin,
    async topics(prefix, inputPartitions) {
      const t = await createTestTopics(admin, prefix, inputPartitions);
      testTopics.push(t);
      return t;
    },
    async fileTopics(prefix, inputPartitions) {
      const t = await createTestTopics(admin, prefix, inputPartitions);
      fileTopics.push(t);
      return t;
    },
    async worker(config, process, extra = {}) {
      const codecs = await buildCodecs(config);
      const worker = new StreamWorker({
        kafka: testKafka(),
        config,
        transactionalId: `${config.groupId}-${workers.length}`,
        decoder: codecs.itemDecoder,
        annotationEncoder: codecs.annotationEncoder,
        deadLetterEncoder: codecs.deadLetterEncoder,
        process,
        logger: silent,
        ...extra,
      });
      workers.push(worker);
      return worker;
    },
    child(child) {
      children.push(child);
      return child;
    },
  };
}

/** Total records (high watermarks) of a topic. */
export async function endOffsetsSum(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Reads `n` items (id, text) of a dataset, in stream order. */
export function datasetItems(name: string, n: number): Array<{ id: string; text: string }> {
  const lines = readFileSync(path.join(STREAMS_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines.slice(0, n).map((l) => {
    const row = JSON.parse(l) as { id: string; text: string };
    return { id: row.id, text: row.text };
  });
}

/** Parsed pino lines of a child's stderr. */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
