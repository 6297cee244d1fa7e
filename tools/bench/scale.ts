/**
 * `npm run bench:scale [-- --seeds 1,2,3 --configs 1u,1s,3s,3u --budget 0.313 --latency-ms 200 --rate 150 --holdout 500 --skip-throughput --json]`
 *
 * Shared learning across workers on the real broker (npm run kafka:start) with ISEAR and the
 * replay LLM (recorded answers, `--latency-ms` per answer), unknown stream length, per seed:
 * - 1 worker with and without shared learning, 3 workers with it, 3 workers with `--no-shared-learning`, on a live stream of
 *   `--rate` items/s (one the LLM keeps up with, so its capacity does not cap the share): accuracy against
 *   the gold labels and LLM share;
 * - a worker of the shared group SIGKILLed and replaced by a new one on an empty models folder: its
 *   accuracy on the next `--holdout` items (held out of the stream) next to a cold worker's on the same items;
 * - throughput (first seed): 1, 2 and 3 shared workers draining the stream as a backlog, items/s from the
 *   first item produced to the last offset committed (and the LLM share the capacity governor then allows).
 * It also reports what the label and snapshot topics carried (records, bytes) for docs/scale.md.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { Kafka } from 'kafkajs';
import { datasetFile, spawnCli, waitFor, committedCount, eachJsonRecord, kafkaClient, type CliProcess } from '../harness/index.js';
import { meanInterval } from './confidence-interval.js';
import { awaitGroup, createRunTopics, produceRows, runGroup, score, startWorker, stopAll, type Row, type RunResult, type WorkerSettings } from './scale-run.js';

const { values: args } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3' },
    budget: { type: 'string', default: '0.313' },
    'latency-ms': { type: 'string', default: '200' },
    holdout: { type: 'string', default: '500' },
    'snapshot-every': { type: 'string', default: '500' },
    rate: { type: 'string', default: '150' },
    'skip-throughput': { type: 'boolean', default: false },
    // Runs per seed: <workers><s|u> (shared / --no-shared-learning); 3s also runs the replacement.
    configs: { type: 'string', default: '1u,1s,3s,3u' },
    json: { type: 'boolean', default: false },
  },
});
const seeds = args.seeds.split(',').map(Number);
const budget = Number(args.budget);
const HOLDOUT = Number(args.holdout);
const RATE = Number(args.rate);
const kafka = kafkaClient('spillway-bench-scale');
const ISEAR = datasetFile('isear.jsonl');

function log(message: string): void {
  process.stderr.write(`bench:scale ${new Date().toISOString().slice(11, 19)} ${message}\n`);
}

function logLine(child: CliProcess, msg: string): Record<string, unknown> | undefined {
  return child
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === msg);
}

function logLines(children: CliProcess[], msg: string): Array<Record<string, unknown>> {
  return children.flatMap((c) =>
    c
      .stderr()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.msg === msg),
  );
}

async function startReplay(latencyMs: string): Promise<{ url: string; stop(): Promise<void> }> {
  const cli = spawnCli(['replay-llm', '--dataset', ISEAR, '--teacher', 'gpt-3.5-turbo-1106', '--port', '0', '--latency-ms', latencyMs]);
  await waitFor('the replay LLM to listen', () => /^http:\/\/\S+/m.test(cli.stdout()), 60_000);
  const url = (/^(http:\/\/\S+)/m.exec(cli.stdout()) ?? [])[1] ?? '';
  return { url: url.endsWith('/v1') ? url : `${url}/v1`, stop: async () => void (cli.child.kill('SIGTERM'), await cli.exited) };
}

interface RestoreResult {
  replacementAccuracy: number;
  replacementLlmShare: number;
  coldAccuracy: number;
  coldLlmShare: number;
  restoreMs: number;
  snapshotBytes: number;
  replayedLabels: number;
  replayMs: number;
}

/** SIGKILLs worker 0 of a finished shared run, stops the others, and lets a new worker on an empty models folder answer the held-out items. */
async function replaceWorker(
  admin: ReturnType<Kafka['admin']>,
  t: Awaited<ReturnType<typeof createRunTopics>>,
  children: CliProcess[],
  streamItems: number,
  holdout: Row[],
  settings: WorkerSettings,
): Promise<Omit<RestoreResult, 'coldAccuracy' | 'coldLlmShare'>> {
  children[0]?.child.kill('SIGKILL');
  await children[0]?.exited;
  await stopAll(children.slice(1));
  const replacement = startWorker(t, settings, 0, true);
  try {
    await awaitGroup(admin, t.groupId, 1, [replacement]);
    await produceRows(kafka, t.input, holdout, RATE);
    await waitFor('the held-out items committed', async () => (await committedCount(admin, t.groupId, t.input)) >= streamItems + holdout.length, 900_000, 100);
    const scored = await score(kafka, t.output, new Map(holdout.map((r) => [r.id, r.label])));
    // score() counts every annotation; only the held-out ids have gold here, so rescale to them.
    const restored = logLine(replacement, 'snapshot restored from the models topic');
    const replayed = logLine(replacement, 'label topic replayed');
    const accuracy = (scored.accuracy * scored.items) / holdout.length;
    const calls = await holdoutCalls(t.output, new Set(holdout.map((r) => r.id)));
    return {
      replacementAccuracy: accuracy,
      replacementLlmShare: calls / holdout.length,
      restoreMs: Number(restored?.ms ?? NaN),
      snapshotBytes: Number(restored?.bytes ?? NaN),
      replayedLabels: Number(replayed?.labels ?? NaN),
      replayMs: Number(replayed?.ms ?? NaN),
    };
  } finally {
    await stopAll([replacement]);
  }
}

async function holdoutCalls(topic: string, ids: Set<string>): Promise<number> {
  let calls = 0;
  await eachJsonRecord(kafka, topic, (a) => {
    if (ids.has(String(a.id)) && a.llmSource === 'call') calls++;
  });
  return calls;
}

function fmt(xs: number[], scale = 100, digits = 1): string {
  const m = meanInterval(xs);
  return `${(m.mean * scale).toFixed(digits)} ± ${(m.halfWidth * scale).toFixed(digits)}`;
}

async function main(): Promise<void> {
  const rows = readFileSync(ISEAR, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);
  const stream = rows.slice(0, rows.length - HOLDOUT);
  const holdout = rows.slice(rows.length - HOLDOUT);
  const admin = kafka.admin();
  await admin.connect();
  const llm = await startReplay(args['latency-ms']);
  const runs: RunResult[] = [];
  const throughput: RunResult[] = [];
  const restores: RestoreResult[] = [];
  const snapshotLogs: Array<Record<string, unknown>> = [];
  const cleanups: Array<() => Promise<void>> = [];
  try {
    for (const seed of seeds) {
      const settings: WorkerSettings = { llmUrl: llm.url, budget, seed, snapshotEveryLabels: Number(args['snapshot-every']) };
      const plan = args.configs.split(',').map((c): [number, boolean] => [Number.parseInt(c, 10), c.endsWith('s')]);
      for (const [workers, shared] of plan) {
        log(`seed ${seed}: ${workers} worker(s), shared learning ${shared ? 'on' : 'off'}, ${stream.length} items`);
        const t = await createRunTopics(admin, 'scale', 6);
        cleanups.push(t.cleanup);
        const { result, children } = await runGroup(kafka, admin, t, stream, workers, shared, settings, RATE);
        runs.push({ ...result, seed } as RunResult & { seed: number });
        snapshotLogs.push(...logLines(children, 'snapshot published'));
        log(
          `  accuracy ${(100 * result.accuracy).toFixed(2)}%, LLM share ${(100 * result.llmShare).toFixed(2)}%, ${result.itemsPerSecond.toFixed(1)} items/s, ${result.labels} labels`,
        );
        if (workers === 3 && shared) {
          log(`  worker 0 SIGKILLed, replaced on an empty models folder; ${HOLDOUT} held-out items`);
          const replaced = await replaceWorker(admin, t, children, stream.length, holdout, settings);
          const cold = await createRunTopics(admin, 'scale-cold', 6);
          cleanups.push(cold.cleanup);
          const coldRun = await runGroup(kafka, admin, cold, holdout, 1, false, settings, RATE);
          await stopAll(coldRun.children);
          restores.push({ ...replaced, coldAccuracy: coldRun.result.accuracy, coldLlmShare: coldRun.result.llmShare });
          log(
            `  replacement ${(100 * replaced.replacementAccuracy).toFixed(2)}% vs cold ${(100 * coldRun.result.accuracy).toFixed(2)}% (restore ${replaced.restoreMs} ms, ${replaced.replayedLabels} labels replayed)`,
          );
        } else await stopAll(children);
      }
    }
    const settings: WorkerSettings = { llmUrl: llm.url, budget, seed: seeds[0] ?? 1, snapshotEveryLabels: Number(args['snapshot-every']) };
    for (const workers of args['skip-throughput'] ? [] : [1, 2, 3]) {
      log(`throughput: ${workers} shared worker(s) draining a ${stream.length}-item backlog`);
      const t = await createRunTopics(admin, 'scale-tp', 6);
      cleanups.push(t.cleanup);
      const { result, children } = await runGroup(kafka, admin, t, stream, workers, true, settings);
      await stopAll(children);
      throughput.push(result);
      log(`  ${result.itemsPerSecond.toFixed(1)} items/s, LLM share ${(100 * result.llmShare).toFixed(2)}%`);
    }
  } finally {
    await llm.stop();
    for (const c of cleanups) await c();
    await admin.disconnect();
  }
  const of = (workers: number, shared: boolean): RunResult[] => runs.filter((r) => r.workers === workers && r.shared === shared);
  const configs: Array<[string, RunResult[]]> = [
    ['1 worker, --no-shared-learning', of(1, false)],
    ['1 worker, shared learning', of(1, true)],
    ['3 workers, shared learning', of(3, true)],
    ['3 workers, --no-shared-learning', of(3, false)],
  ];
  const label = runs.find((r) => r.labels > 0);
  const snapBytes = snapshotLogs.map((l) => Number(l.bytes)).filter(Number.isFinite);
  const summary = {
    seeds,
    budget,
    latencyMs: Number(args['latency-ms']),
    streamItems: stream.length,
    holdout: HOLDOUT,
    rate: RATE,
    runs,
    restores,
    throughput,
    labelRecordBytes: label?.labelBytes,
    snapshotBytes: snapBytes.length === 0 ? undefined : snapBytes.reduce((a, b) => a + b, 0) / snapBytes.length,
    snapshotPackMs: snapshotLogs.map((l) => Number(l.packMs)),
    snapshotMs: snapshotLogs.map((l) => Number(l.ms)),
  };
  if (args.json) {
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
    return;
  }
  const lines = [
    `ISEAR, ${stream.length} items at ${RATE} items/s, budget ${budget}, unknown length, replay LLM ${args['latency-ms']} ms, seeds ${seeds.join(',')} (mean ± 95% t-interval)`,
    '',
    '| run | accuracy % | LLM share % | labels |',
    '|---|---|---|---|',
    ...configs
      .filter(([, rs]) => rs.length > 0)
      .map(
        ([name, rs]) =>
          `| ${name} | ${fmt(rs.map((r) => r.accuracy))} | ${fmt(rs.map((r) => r.llmShare))} | ${fmt(
            rs.map((r) => r.labels),
            1,
            0,
          )} |`,
      ),
    '',
    `throughput (backlog of ${stream.length} items, seed ${seeds[0]}, 2 shared cores):`,
    ...throughput.map(
      (r) =>
        `  ${r.workers} worker(s): ${r.itemsPerSecond.toFixed(1)} items/s, LLM share ${(100 * r.llmShare).toFixed(1)}%, accuracy ${(100 * r.accuracy).toFixed(1)}%`,
    ),
    '',
    `replaced worker, first ${HOLDOUT} items: accuracy ${fmt(restores.map((r) => r.replacementAccuracy))}% (LLM share ${fmt(restores.map((r) => r.replacementLlmShare))}%) vs a cold worker ${fmt(restores.map((r) => r.coldAccuracy))}% (LLM share ${fmt(restores.map((r) => r.coldLlmShare))}%)`,
    `restore: ${fmt(
      restores.map((r) => r.restoreMs),
      1,
      0,
    )} ms for a ${fmt(
      restores.map((r) => r.snapshotBytes),
      1 / 1024,
      0,
    )} KiB snapshot, then ${fmt(
      restores.map((r) => r.replayedLabels),
      1,
      0,
    )} labels replayed in ${fmt(
      restores.map((r) => r.replayMs),
      1,
      0,
    )} ms`,
    `label record: ${summary.labelRecordBytes?.toFixed(0)} B; labels per item: ${label === undefined ? '-' : (label.labels / label.items).toFixed(3)}; snapshot: ${summary.snapshotBytes === undefined ? '-' : (summary.snapshotBytes / 1024).toFixed(0)} KiB (${snapBytes.length} published)`,
    '',
  ];
  process.stdout.write(lines.join('\n'));
}

await main();
