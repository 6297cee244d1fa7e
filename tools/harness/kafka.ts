import { randomBytes } from 'node:crypto';
import { Kafka, logLevel, type Admin, type RetryOptions } from 'kafkajs';
import { ensureTopics, loadTopicSettings, readTopic } from '../../src/stream/index.js';
import { waitFor } from './wait-for.js';

/** The brokers of the tests and benchmarks: SPILLWAY_KAFKA_BROKERS (comma-separated), else the project's broker. */
export const KAFKA_BROKERS = (process.env.SPILLWAY_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A silent kafkajs client on {@link KAFKA_BROKERS}; kafkajs's default retries unless `retry` is given. */
export function kafkaClient(clientId: string, retry?: RetryOptions): Kafka {
  return new Kafka({ clientId, brokers: KAFKA_BROKERS, logLevel: logLevel.NOTHING, ...(retry === undefined ? {} : { retry }) });
}

/** A short random suffix for topic and group names. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** Sum of the committed offsets of a group on a topic (−1 for none counts as 0). */
export async function committedCount(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** The topics of one test or benchmark run, named randomly, and their consumer group. */
export interface TopicSet {
  input: string;
  output: string;
  deadLetter: string;
  /** Shared learning's label topic. */
  labels: string;
  /** Shared learning's snapshot topic. */
  models: string;
  groupId: string;
  /** Deletes the topics. */
  cleanup(): Promise<void>;
}

/**
 * Creates input/output/dead-letter/labels/models topics named `<prefix>-<random>.*` with the settings of
 * topics/topics.yaml (input partitions overridable); `cleanup` deletes them, waiting up to `deleteTimeoutMs`.
 */
export async function createTopicSet(admin: Admin, prefix: string, options: { inputPartitions?: number; deleteTimeoutMs: number }): Promise<TopicSet> {
  const base = randomName(prefix);
  const settings = loadTopicSettings();
  const names = {
    input: `${base}.items`,
    output: `${base}.annotations`,
    deadLetter: `${base}.dead-letter`,
    labels: `${base}.labels`,
    models: `${base}.models`,
  };
  if (settings.labels === undefined || settings.models === undefined) throw new Error('topics/topics.yaml lacks the labels or models topic');
  const { inputPartitions } = options;
  const wanted = [
    { ...settings.input, name: names.input, ...(inputPartitions === undefined ? {} : { partitions: inputPartitions }) },
    { ...settings.output, name: names.output },
    { ...settings.deadLetter, name: names.deadLetter },
    { ...settings.labels, name: names.labels },
    { ...settings.models, name: names.models },
  ];
  // ensureTopics is idempotent: a busy broker may answer "does not host this topic-partition" while the
  // new topics' leaders settle, so try again rather than fail.
  await waitFor('the topics', async () => (await ensureTopics(admin, wanted)).length === wanted.length, 60_000, 500);
  return {
    ...names,
    groupId: `${base}-group`,
    cleanup: () => admin.deleteTopics({ topics: Object.values(names), timeout: options.deleteTimeoutMs }).catch(() => undefined),
  };
}

/** Calls `onRecord` with every committed record of a topic, its value parsed as JSON (read_committed, up to the end at call time). */
export async function eachJsonRecord(kafka: Kafka, topic: string, onRecord: (value: Record<string, unknown>) => void): Promise<void> {
  await readTopic({
    kafka,
    topic,
    exitAtEnd: true,
    onRecord: (m) => onRecord(JSON.parse(m.value?.toString('utf8') ?? 'null') as Record<string, unknown>),
  });
}

/** Every committed record of a topic, parsed as JSON (read_committed, up to the end at call time). */
export async function readJsonRecords(kafka: Kafka, topic: string): Promise<Array<Record<string, unknown>>> {
  const records: Array<Record<string, unknown>> = [];
  await eachJsonRecord(kafka, topic, (value) => void records.push(value));
  return records;
}
