/**
 * Failure behaviour against a broker of its own (a second KRaft broker on ports chosen free at run time,
 * started with the project's script), so restarting it disturbs neither the other Kafka tests nor any other
 * program's broker: the worker rides out a broker restart with nothing lost or duplicated, exits non-zero
 * when the broker stays down, and `spillway run` stops on SIGTERM after a long broker outage without waiting
 * for the shutdown watchdog. Every worker the suite starts is killed at its end, whatever happened.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOutageLlm } from '../../tools/harness/index.js';
import {
  committedCount,
  createTestTopics,
  logLines,
  readJsonRecords,
  REPO_ROOT,
  spawnCli,
  spawnEchoWorker,
  waitFor,
  writeConfig,
  type CliProcess,
  type TestTopics,
} from './helpers.js';
import { freePort } from '../helpers/services.js';

const run = promisify(execFile);
const home = mkdtempSync(path.join(tmpdir(), 'spillway-broker-'));
let BROKER = '';
let brokerEnv: NodeJS.ProcessEnv = {};
const startBroker = (): Promise<unknown> => run('bash', [path.join(REPO_ROOT, 'scripts/kafka/start.sh')], { env: brokerEnv });
const stopBroker = (): Promise<unknown> => run('bash', [path.join(REPO_ROOT, 'scripts/kafka/stop.sh')], { env: brokerEnv });

let admin: Admin;
let kafka: Kafka;
const workers: CliProcess[] = [];

beforeAll(async () => {
  // Ports nothing listens on now: the start script would leave a broker it finds on its port alone.
  const port = await freePort();
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  BROKER = `127.0.0.1:${port}`;
  brokerEnv = {
    ...process.env,
    SPILLWAY_KAFKA_HOME: home,
    SPILLWAY_KAFKA_LIB: path.join(REPO_ROOT, '.kafka/lib'),
    SPILLWAY_KAFKA_PORT: String(port),
    SPILLWAY_KAFKA_CONTROLLER_PORT: String(controllerPort),
    SPILLWAY_KAFKA_HEAP: '-Xms128m -Xmx512m',
  };
  kafka = new Kafka({ clientId: 'spillway-test', brokers: [BROKER], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 300 } });
  await startBroker();
  admin = kafka.admin();
  await admin.connect();
}, 180_000);

afterAll(async () => {
  for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await admin?.disconnect().catch(() => undefined);
  await stopBroker();
  if (process.env.SPILLWAY_KEEP_TEST_BROKER === undefined) rmSync(home, { recursive: true, force: true });
}, 120_000);

function worker(t: TestTopics, kafkaConfig: Record<string, unknown>): CliProcess {
  const config = writeConfig({
    monitor: { httpPort: 0 },
    kafka: { brokers: [BROKER], groupId: t.groupId, topics: { input: t.input, output: t.output, deadLetter: t.deadLetter }, ...kafkaConfig },
  });
  // The test processor answers after up to 20 ms with 8 items in flight: the stream lasts a few seconds.
  // The environment's broker list (the suites' broker) would override the config file's: name this one.
  const child = spawnEchoWorker(config, { SPILLWAY_TEST_DELAY_MS: '20', SPILLWAY_KAFKA_BROKERS: BROKER });
  workers.push(child);
  return child;
}

/** The process's own warnings and errors (kafkajs' connection noise left out), the last dozen. */
function ownWarnings(stderr: string): string {
  return logLines(stderr)
    .filter((l) => Number(l.level) >= 40 && l.logger !== 'kafkajs')
    .slice(-12)
    .map((l) => `${String(l.msg)}: ${JSON.stringify(l.err ?? {}).slice(0, 400)}`)
    .join('\n');
}

async function produce(t: TestTopics, n: number): Promise<string[]> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const ids = Array.from({ length: n }, (_, i) => `r-${i}`);
  await producer.send({ topic: t.input, acks: -1, messages: ids.map((id) => ({ key: id, value: JSON.stringify({ id, text: `text ${id}` }) })) });
  await producer.disconnect();
  return ids;
}

describe('when the broker restarts mid-stream', () => {
  it('the worker reconnects and every id still gets exactly one committed annotation', async () => {
    const t = await createTestTopics(admin, 'restart', 3);
    const ids = await produce(t, 3_000);
    const child = worker(t, { maxInFlight: 8, commitIntervalMs: 200 });
    await waitFor('some offsets committed', async () => (await committedCount(admin, t.groupId, t.input)) >= 300, 60_000, 50).catch((err: unknown) => {
      writeFileSync(path.join(home, 'worker.log'), child.stderr());
      throw new Error(`worker log: ${path.join(home, 'worker.log')}`, { cause: err });
    });
    expect(await committedCount(admin, t.groupId, t.input)).toBeLessThan(3_000);
    await admin.disconnect();
    await stopBroker();
    await startBroker();
    await admin.connect();
    expect(child.child.exitCode).toBeNull();
    await waitFor('every offset committed after the restart', async () => (await committedCount(admin, t.groupId, t.input)) === 3_000, 120_000, 250).catch(
      (err: unknown) => {
        // The worker's own account is what explains a failure here.
        writeFileSync(path.join(home, 'worker.log'), child.stderr());
        throw new Error(`worker log: ${path.join(home, 'worker.log')}`, { cause: err });
      },
    );
    const outputs = (await readJsonRecords(kafka, t.output)).map((o) => String(o.id));
    expect(outputs.length).toBe(3_000);
    expect(new Set(outputs)).toEqual(new Set(ids));
    child.child.kill('SIGTERM');
    expect(await child.exited).toBe(0);
    await t.cleanup();
  }, 240_000);
});

describe('when the broker stays down', () => {
  it('the worker gives up after its retries and exits non-zero', async () => {
    const t = await createTestTopics(admin, 'down', 1);
    await produce(t, 10);
    const child = worker(t, { maxRestarts: 0 });
    await waitFor('the first commit', async () => (await committedCount(admin, t.groupId, t.input)) === 10, 60_000, 50);
    await admin.disconnect();
    await stopBroker();
    try {
      // Bounded: a worker that never gives up fails the test instead of hanging it.
      const gaveUp = await Promise.race([
        child.exited,
        new Promise<string>((resolve) => setTimeout(() => resolve('still running after 150 s'), 150_000).unref()),
      ]);
      expect(gaveUp).toBe(1);
      expect(logLines(child.stderr()).some((l) => l.msg === 'worker failed')).toBe(true);
    } finally {
      await startBroker();
      await admin.connect();
      await t.cleanup();
    }
  }, 240_000);
});

describe('when SIGTERM comes after the broker was down past the client retries', () => {
  it('spillway run (shared learning on) stops within the grace period, exit 0, without the watchdog', async () => {
    const t = await createTestTopics(admin, 'sigterm', 2);
    const llm = await startOutageLlm();
    const taskFile = path.join(home, 'sentiment.task.json');
    writeFileSync(taskFile, JSON.stringify({ name: 'sentiment', labels: ['positive', 'negative'], prompt: { system: 'Classify.', user: '{text}' } }));
    const config = writeConfig({
      logLevel: 'info',
      task: taskFile,
      llm: { baseUrl: llm.url, model: llm.model, concurrency: 4 },
      cascade: { stages: ['lr'], warmupItems: 20 },
      models: { dir: mkdtempSync(path.join(tmpdir(), 'spillway-models-')), backend: 'cpu' },
      monitor: { httpPort: 0 },
      kafka: {
        brokers: [BROKER],
        groupId: t.groupId,
        topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models },
        shutdownTimeoutMs: 5_000,
      },
    });
    try {
      const run = spawnCli(['run', '--config', config], { SPILLWAY_KAFKA_BROKERS: BROKER });
      await produce(t, 50);
      await waitFor('50 committed', async () => (await committedCount(admin, t.groupId, t.input)) === 50, 120_000, 200);
      await admin.disconnect();
      await stopBroker();
      // Longer than kafkajs' retries (about 30 s): the consumers crash and are restarting when the broker returns.
      await new Promise((resolve) => setTimeout(resolve, 45_000));
      await startBroker();
      await admin.connect();
      await new Promise((resolve) => setTimeout(resolve, 10_000));
      // A process that gave up during the outage says why in its own warnings and errors.
      if (run.child.exitCode !== null) throw new Error(`spillway run exited ${run.child.exitCode} before SIGTERM:\n${ownWarnings(run.stderr())}`);
      run.child.kill('SIGTERM');
      // The watchdog (shutdownTimeoutMs + 5 s) would exit 1.
      expect(await run.exited).toBe(0);
      const lines = logLines(run.stderr());
      expect(lines.some((l) => l.msg === 'shutdown did not finish in time; exiting')).toBe(false);
      expect(lines.some((l) => l.msg === 'worker stopped')).toBe(true);
    } finally {
      await llm.close();
      await t.cleanup();
    }
  }, 240_000);
});
