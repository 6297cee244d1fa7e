/**
 * `npm run bench:kafka [-- --items N --delivery exactly-once|at-least-once --processor cascade|echo --stages lr[,mid] --cpu-prof DIR --json]`
 *
 * End-to-end items/s of `spillway run` through the real broker (npm run kafka:start), next to a bare kafkajs
 * consume→produce passthrough on the same broker, the same backlog and in the same run; and the worker's
 * peak RSS (VmHWM) while it drains the backlog. Both read one input topic (with different groups), so they
 * see identical records. Time runs from the consumer starting to the last offset committed.
 *
 * The cascade run uses the replay LLM (recorded ISEAR answers) with a 2% LLM budget and, by default, the LR as
 * the only small stage (`--stages lr,mid` adds the tfjs model), so the LR answers most items. `--cpu-prof DIR` writes
 * the worker process's V8 CPU profile there (open it in Chrome DevTools, or any .cpuprofile viewer). `--processor echo` runs the test processor (no model) in a StreamWorker process (tools/harness/echo-worker.ts) to isolate the Kafka path.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Admin } from 'kafkajs';
import { ensureTopics, loadTopicSettings, PARTITIONER } from '../../src/stream/index.js';
import {
  committedCount,
  DATASETS_DIR,
  eachJsonRecord,
  kafkaClient,
  randomName,
  spawnCli,
  spawnEchoWorker,
  startReplayLlm,
  waitFor,
  writeConfig,
} from '../harness/index.js';

const { values: args } = parseArgs({
  options: {
    items: { type: 'string', default: '100000' },
    partitions: { type: 'string', default: '6' },
    delivery: { type: 'string', default: 'exactly-once' },
    processor: { type: 'string', default: 'cascade' },
    // The LR alone before the LLM: the regime where the cheapest stage answers most items.
    stages: { type: 'string', default: 'lr' },
    'cpu-prof': { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});
const ITEMS = Number(args.items);
const PARTITIONS = Number(args.partitions);
const kafka = kafkaClient('spillway-bench');

/** The worker's topics: its input, outputs, and shared learning's labels and snapshots. */
interface WorkerTopics {
  input: string;
  output: string;
  deadLetter: string;
  labels: string;
  models: string;
}

interface RunResult {
  name: string;
  items: number;
  seconds: number;
  itemsPerSecond: number;
  peakRssMiB?: number;
  /** CPU time the worker process used while it drained the backlog, µs per item (steadier than items/s on a busy machine). */
  cpuMicrosPerItem?: number;
}

function log(message: string): void {
  process.stderr.write(`bench:kafka ${message}\n`);
}

/** N items cycling through ISEAR with unique ids. */
function backlog(n: number): Array<{ key: string; value: string }> {
  const rows = readFileSync(path.join(DATASETS_DIR, 'isear.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { id: string; text: string });
  return Array.from({ length: n }, (_, i) => {
    const row = rows[i % rows.length] as { id: string; text: string };
    const id = `${row.id}-${Math.floor(i / rows.length)}`;
    return { key: id, value: JSON.stringify({ id, text: row.text }) };
  });
}

async function produceBacklog(topic: string): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
  await producer.connect();
  const messages = backlog(ITEMS);
  for (let i = 0; i < messages.length; i += 5_000) await producer.send({ topic, acks: -1, messages: messages.slice(i, i + 5_000) });
  await producer.disconnect();
}

/** Bare kafkajs: eachBatch → one send of the batch's values → commit, no decoding, no processing. */
async function passthrough(admin: Admin, input: string, output: string): Promise<RunResult> {
  const groupId = randomName('bench-pass');
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  await Promise.all([producer.connect(), consumer.connect()]);
  await consumer.subscribe({ topics: [input], fromBeginning: true });
  const start = performance.now();
  await consumer.run({
    autoCommit: false,
    partitionsConsumedConcurrently: PARTITIONS,
    eachBatch: async ({ batch }) => {
      await producer.send({ topic: output, acks: -1, messages: batch.messages.map((m) => ({ key: m.key, value: m.value })) });
      await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.lastOffset()) + 1n).toString() }]);
    },
  });
  await waitFor('passthrough to drain the backlog', async () => (await committedCount(admin, groupId, input)) >= ITEMS, 600_000, 20);
  const seconds = (performance.now() - start) / 1000;
  await consumer.disconnect();
  await producer.disconnect();
  return { name: 'kafkajs passthrough (at-least-once)', items: ITEMS, seconds, itemsPerSecond: ITEMS / seconds };
}

/** User + system CPU seconds of a process so far (/proc/<pid>/stat, in clock ticks of 1/100 s). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

/** `spillway run` as a child process; timed from its "worker started" log line to the last commit. */
async function worker(admin: Admin, topics: WorkerTopics, llmUrl: string | undefined): Promise<RunResult> {
  const groupId = randomName('bench-worker');
  const config = writeConfig(
    (dir: string) => ({
      logLevel: 'info',
      task: path.join(DATASETS_DIR, 'isear.task.json'),
      ...(llmUrl === undefined ? {} : { llm: { baseUrl: llmUrl, concurrency: 16 } }),
      cascade: { llmBudget: 0.02, warmupItems: 100, horizonItems: ITEMS, stages: args.stages.split(',') },
      models: { dir: path.join(dir, 'models') },
      monitor: { httpPort: 0 },
      kafka: {
        groupId,
        topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter, labels: topics.labels, models: topics.models },
        delivery: args.delivery,
        partitionsConsumedConcurrently: PARTITIONS,
      },
    }),
    'spillway-bench-',
  );
  const profile = args['cpu-prof'] === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args['cpu-prof'])}`];
  const child = args.processor === 'echo' ? spawnEchoWorker(config, {}, profile) : spawnCli(['run', '--config', config], {}, profile);
  await waitFor('the worker to start', () => child.stderr().includes('"worker started"') || child.child.exitCode !== null, 300_000, 10);
  if (child.child.exitCode !== null) throw new Error(`worker exited early:\n${child.stderr().slice(-2_000)}`);
  const start = performance.now();
  const cpuAtStart = cpuSeconds(child.child.pid ?? 0);
  let peak = 0;
  await waitFor(
    'the worker to drain the backlog',
    async () => {
      if (child.child.exitCode !== null) return true;
      peak = Math.max(peak, peakRssMiB(child.child.pid ?? 0));
      return (await committedCount(admin, groupId, topics.input)) >= ITEMS;
    },
    900_000,
    20,
  );
  if (child.child.exitCode !== null) throw new Error(`worker exited with ${child.child.exitCode}:\n${child.stderr().slice(-3_000)}`);
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(child.child.pid ?? 0) - cpuAtStart;
  peak = Math.max(peak, peakRssMiB(child.child.pid ?? 0));
  child.child.kill('SIGTERM');
  const code = await child.exited;
  if (code !== 0) log(`worker exited with ${String(code)}`);
  return {
    name: `spillway run (${args.delivery}, ${args.processor === 'echo' ? 'echo' : `cascade ${args.stages}`})`,
    items: ITEMS,
    seconds,
    itemsPerSecond: ITEMS / seconds,
    peakRssMiB: peak,
    cpuMicrosPerItem: (cpu * 1e6) / ITEMS,
  };
}

/** How many annotations each stage answered (and how many called the LLM). */
async function answerMix(topic: string): Promise<Record<string, number>> {
  const mix: Record<string, number> = {};
  await eachJsonRecord(kafka, topic, (a) => {
    const key = typeof a.answeredBy === 'string' ? a.answeredBy : '?';
    mix[key] = (mix[key] ?? 0) + 1;
  });
  return mix;
}

async function main(): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  const base = randomName('bench');
  const settings = loadTopicSettings();
  const topics = {
    input: `${base}.items`,
    output: `${base}.annotations`,
    deadLetter: `${base}.dead-letter`,
    labels: `${base}.labels`,
    models: `${base}.models`,
    passOut: `${base}.passthrough`,
  };
  // Every topic the worker uses, as `spillway topics create` makes them, so the bench runs on a fresh broker.
  const { labels, models } = settings;
  if (labels === undefined || models === undefined) throw new Error('topics/topics.yaml must list the labels and models topics');
  await ensureTopics(admin, [
    { ...settings.input, name: topics.input, partitions: PARTITIONS },
    { ...settings.output, name: topics.output, partitions: PARTITIONS },
    { ...settings.deadLetter, name: topics.deadLetter },
    { ...labels, name: topics.labels },
    { ...models, name: topics.models },
    { ...settings.output, name: topics.passOut, partitions: PARTITIONS },
  ]);
  const llm = args.processor === 'cascade' ? await startReplayLlm() : undefined;
  try {
    log(`producing a backlog of ${ITEMS} items on ${PARTITIONS} partitions`);
    await produceBacklog(topics.input);
    log('passthrough');
    const pass = await passthrough(admin, topics.input, topics.passOut);
    log(`spillway run (${args.processor})`);
    const run = await worker(admin, topics, llm?.url);
    const ratio = run.itemsPerSecond / pass.itemsPerSecond;
    const answeredBy = await answerMix(topics.output);
    if (args.json) {
      process.stdout.write(`${JSON.stringify({ items: ITEMS, partitions: PARTITIONS, passthrough: pass, worker: run, ratio, answeredBy }, null, 2)}\n`);
    } else {
      const rows = [pass, run].map(
        (r) =>
          `| ${r.name.padEnd(42)} | ${String(r.items).padStart(7)} | ${r.seconds.toFixed(2).padStart(7)} | ${Math.round(r.itemsPerSecond).toString().padStart(8)} | ${r.peakRssMiB === undefined ? '       -' : r.peakRssMiB.toFixed(0).padStart(8)} |`,
      );
      process.stdout.write(
        [
          `| ${'run'.padEnd(42)} |   items | seconds |  items/s | peak RSS MiB |`,
          `|${'-'.repeat(44)}|---------|---------|----------|--------------|`,
          ...rows,
          '',
          `worker / passthrough: ${(ratio * 100).toFixed(0)}% (target ≥ 50%); worker items/s: ${Math.round(run.itemsPerSecond)} (target ≥ 10000); worker CPU ${Math.round(run.cpuMicrosPerItem ?? 0)} µs per item`,
          `answered by: ${Object.entries(answeredBy)
            .map(([stage, n]) => `${stage} ${((100 * n) / ITEMS).toFixed(1)}%`)
            .join(', ')}`,
          '',
        ].join('\n'),
      );
    }
  } finally {
    await llm?.stop();
    await admin.deleteTopics({ topics: Object.values(topics), timeout: 30_000 }).catch(() => undefined);
    await admin.disconnect();
  }
}

await main();
