/**
 * Helpers of the Kafka tests: random topics on the real broker (started by `npm run kafka:start`),
 * polling waits, reading a topic to its end, and `spillway run` as a child process.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { ensureTopics, loadTopicSettings, readTopic } from '../../src/stream/index.js';
import { DATASETS_DIR, randomName, waitFor } from '../../tools/harness/index.js';

// Shared with the benchmarks: they live in tools/harness.
export { committedCount, DATASETS_DIR, randomName, REPO_ROOT, spawnCli, spawnEchoWorker, waitFor, type CliProcess } from '../../tools/harness/index.js';
export const BROKERS = (process.env.SPILLWAY_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A kafkajs client for tests, silent. */
export function testKafka(): Kafka {
  return new Kafka({ clientId: 'spillway-test', brokers: BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
}

/** The topics of one test, named randomly, and their consumer group. */
export interface TestTopics {
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

/** Creates input/output/dead-letter/labels/models topics with the settings of topics/topics.yaml (input partitions overridable). */
export async function createTestTopics(admin: Admin, prefix: string, inputPartitions?: number): Promise<TestTopics> {
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
  const wanted = [
    { ...settings.input, name: names.input, ...(inputPartitions === undefined ? {} : { partitions: inputPartitions }) },
    { ...settings.output, name: names.output },
    { ...settings.deadLetter, name: names.deadLetter },
    { ...settings.labels, name: names.labels },
    { ...settings.models, name: names.models },
  ];
  // ensureTopics is idempotent: a busy broker may answer "does not host this topic-partition" while the
  // new topics' leaders settle, so try again rather than fail the suite.
  await waitFor('the test topics', async () => (await ensureTopics(admin, wanted)).length === wanted.length, 60_000, 500);
  return {
    ...names,
    groupId: `${base}-group`,
    cleanup: () => admin.deleteTopics({ topics: Object.values(names), timeout: 10_000 }).catch(() => undefined),
  };
}

/** Every committed record of a topic, parsed as JSON (read_committed, up to the end at call time). */
export async function readJsonRecords(kafka: Kafka, topic: string): Promise<Array<Record<string, unknown>>> {
  const records: Array<Record<string, unknown>> = [];
  await readTopic({
    kafka,
    topic,
    exitAtEnd: true,
    onRecord: (m) => void records.push(JSON.parse(m.value?.toString('utf8') ?? 'null') as Record<string, unknown>),
  });
  return records;
}

/** Total records (high watermarks) of a topic. */
export async function endOffsetsSum(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Reads `n` items (id, text) of a dataset, in stream order. */
export function datasetItems(name: string, n: number): Array<{ id: string; text: string }> {
  const lines = readFileSync(path.join(DATASETS_DIR, name), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  return lines.slice(0, n).map((l) => {
    const row = JSON.parse(l) as { id: string; text: string };
    return { id: row.id, text: row.text };
  });
}

/** Writes a config file (JSON is valid YAML) into a fresh temp dir; returns its path. */
export function writeConfig(config: unknown): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'spillway-test-'));
  const file = path.join(dir, 'config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/** Parsed pino lines of a child's stderr. */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
