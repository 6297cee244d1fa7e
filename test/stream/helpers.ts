/**
 * Helpers of the Kafka tests: random topics on the real broker (started by `npm run kafka:start`),
 * polling waits, reading a topic to its end, and `spillway run` as a child process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { ensureTopics, loadTopicSettings, readTopic } from '../../src/stream/index.js';

export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
export const DATASETS_DIR = path.resolve(REPO_ROOT, '../shared/datasets');
export const BROKERS = (process.env.SPILLWAY_KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');

/** A kafkajs client for tests, silent. */
export function testKafka(): Kafka {
  return new Kafka({ clientId: 'spillway-test', brokers: BROKERS, logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 200 } });
}

/** A short random suffix for topic and group names. */
export function randomName(prefix: string): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** The three topics of one test, named randomly, and their consumer group. */
export interface TestTopics {
  input: string;
  output: string;
  deadLetter: string;
  groupId: string;
  /** Deletes the topics. */
  cleanup(): Promise<void>;
}

/** Creates input/output/dead-letter topics with the settings of topics/topics.yaml (input partitions overridable). */
export async function createTestTopics(admin: Admin, prefix: string, inputPartitions?: number): Promise<TestTopics> {
  const base = randomName(prefix);
  const settings = loadTopicSettings();
  const names = { input: `${base}.items`, output: `${base}.annotations`, deadLetter: `${base}.dead-letter` };
  await ensureTopics(admin, [
    { ...settings.input, name: names.input, ...(inputPartitions === undefined ? {} : { partitions: inputPartitions }) },
    { ...settings.output, name: names.output },
    { ...settings.deadLetter, name: names.deadLetter },
  ]);
  return {
    ...names,
    groupId: `${base}-group`,
    cleanup: () => admin.deleteTopics({ topics: Object.values(names), timeout: 10_000 }).catch(() => undefined),
  };
}

/**
 * Polls `condition` every `everyMs` until it holds or `timeoutMs` passes (then throws with `what`). A
 * condition that throws counts as not yet (a broker coordinator still loading after a restart), and the
 * last error is reported on time-out.
 */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await condition()) return;
    } catch (err: unknown) {
      lastError = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Every committed record of a topic, parsed as JSON (read_committed, up to the end at call time). */
export async function readJsonRecords(kafka: Kafka, topic: string): Promise<Array<Record<string, unknown>>> {
  const records: Array<Record<string, unknown>> = [];
  await readTopic({ kafka, topic, exitAtEnd: true, onRecord: (m) => void records.push(JSON.parse(m.value?.toString('utf8') ?? 'null') as Record<string, unknown>) });
  return records;
}

/** Sum of the committed offsets of a group on a topic (−1 for none counts as 0). */
export async function committedCount(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (entry?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

/** Total records (high watermarks) of a topic. */
export async function endOffsetsSum(admin: Admin, topic: string): Promise<number> {
  return (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
}

/** Reads `n` items (id, text) of a dataset, in stream order. */
export function datasetItems(name: string, n: number): Array<{ id: string; text: string }> {
  const lines = readFileSync(path.join(DATASETS_DIR, name), 'utf8').split('\n').filter((l) => l.trim() !== '');
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

/** A `spillway` CLI child process with its output captured. */
export interface CliProcess {
  child: ChildProcess;
  /** stderr so far (pino JSON lines). */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
}

/** Starts `node bin/spillway.js ...args` in the repo root. */
export function spawnCli(args: string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin/spillway.js'), ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  return { child, stderr: () => err, stdout: () => out, exited };
}

/** Parsed pino lines of a child's stderr. */
export function logLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
