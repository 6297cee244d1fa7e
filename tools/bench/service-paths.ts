/**
 * The service paths `npm run bench:service` drives, as a user runs them: `spillway start` on a JSONL file, and
 * `spillway run` with one or several workers of a group on fresh topics of the real broker, each with the
 * default configuration (only the task, the LLM's address, the budget, the seed, the topics and a private models
 * folder are set). The stream is a backlog (every item waiting before the service starts) or arrives at a rate.
 * Each path returns the annotations it published, and how long they took.
 */
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Admin, Kafka } from 'kafkajs';
import { usableCores } from '../../src/cascade/index.js';
import { committedCount, eachJsonRecord, spawnCli, waitFor, writeConfig, type CliProcess } from '../harness/index.js';
import { awaitGroup, createRunTopics, produceRows, stopAll, type Row, type RunTopics } from './scale-run.js';

/** What every path of one measurement shares. */
export interface PathSettings {
  taskPath: string;
  llmUrl: string;
  teacher: string;
  budget: number;
  seed: number;
  /** Items per second; absent: a backlog. */
  rate?: number;
  /** `cascade.sentenceEncoder` when not the default. */
  encoder?: string;
  /** Configuration sections merged over the run's (an experiment's settings; none for the figures). */
  overrides?: Record<string, Record<string, unknown>>;
}

/** An annotation as the paths publish it: the fields the bench scores. */
export interface PublishedAnnotation {
  id: string;
  labelId: number;
  reason: string;
  llmCalled: boolean;
  /** `run` only: when the worker produced the record, ms since the epoch. */
  processedAtMs?: number;
}

/**
 * What a path published and how long it took, from its first annotation to its last (the service's own pace:
 * process start-up and a group's join are left out; `run` reads the records' `processedAtMs`, `start` watches
 * its output file).
 */
export interface PathOutcome {
  annotations: PublishedAnnotation[];
  seconds: number;
  /** Worker processes' exit codes (run) or the command's (start). */
  exits: Array<number | string>;
  /** What each process logged (stderr). */
  logs: string[];
}

/** The configuration a user would write: the defaults, and only what names this run. */
function userConfig(settings: PathSettings, dir: string, extra: Record<string, Record<string, unknown>> = {}): Record<string, unknown> {
  const config: Record<string, unknown> = {
    task: settings.taskPath,
    llm: { baseUrl: settings.llmUrl, model: settings.teacher },
    cascade: { llmBudget: settings.budget, seed: settings.seed, ...(settings.encoder === undefined ? {} : { sentenceEncoder: settings.encoder }) },
    models: { dir: path.join(dir, 'models') },
    monitor: { httpPort: 0 },
    cache: { redisTier: false },
    ...extra,
  };
  for (const [section, values] of Object.entries(settings.overrides ?? {})) {
    config[section] = { ...(config[section] as Record<string, unknown> | undefined), ...values };
  }
  return config;
}

/** `spillway start --input items.jsonl --output annotations.jsonl [--rate]`. */
export async function runStart(rows: readonly Row[], settings: PathSettings): Promise<PathOutcome> {
  const dir = mkdtempSync(path.join(tmpdir(), 'spillway-bench-start-'));
  const input = path.join(dir, 'items.jsonl');
  const output = path.join(dir, 'annotations.jsonl');
  writeFileSync(input, rows.map((r) => JSON.stringify({ id: r.id, text: r.text })).join('\n') + '\n');
  const config = writeConfig(userConfig(settings, dir), 'spillway-bench-start-');
  const cli = spawnCli([
    'start',
    '--config',
    config,
    '--input',
    input,
    '--output',
    output,
    ...(settings.rate === undefined ? [] : ['--rate', String(settings.rate)]),
  ]);
  let first: number | undefined;
  const watch = setInterval(() => {
    if (first === undefined && existsSync(output) && statSync(output).size > 0) first = Date.now();
  }, 20);
  const code = await cli.exited;
  clearInterval(watch);
  // To the last annotation written (the file's last change), as `run` counts: the shutdown after it (models
  // saved, the monitor closed) is not the drain.
  const last = existsSync(output) ? statSync(output).mtimeMs : Date.now();
  const seconds = Math.max(0.001, (last - (first ?? last)) / 1000);
  if (code !== 0) throw new Error(`spillway start exited ${String(code)}:\n${cli.stderr().slice(-3_000)}`);
  const annotations = readFileSync(output, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as PublishedAnnotation);
  return { annotations, seconds, exits: [code], logs: [cli.stderr()] };
}

/**
 * One `spillway run` worker of the group on the run's topics. Workers sharing this host each encode on their
 * share of its cores (`cascade.encoderThreads`), as docs/scale.md asks of co-located workers.
 */
function startWorker(t: RunTopics, settings: PathSettings, instance: number, workers: number): CliProcess {
  const config = writeConfig((dir: string) => {
    const config = userConfig(settings, dir, {
      kafka: {
        groupId: t.groupId,
        topics: { input: t.input, output: t.output, deadLetter: t.deadLetter, labels: t.labels, models: t.models },
      },
    });
    if (workers > 1)
      config.cascade = { ...(config.cascade as Record<string, unknown>), encoderThreads: Math.max(1, Math.floor(usableCores().cores / workers)) };
    return config;
  }, 'spillway-bench-run-');
  return spawnCli(['run', '--config', config, '--instance', String(instance)]);
}

/**
 * `spillway run` with `workers` workers sharing learning: a backlog is produced before the first worker starts
 * (as after downtime), a paced stream once every worker owns partitions. Done when every offset is committed.
 */
export async function runWorkers(kafka: Kafka, admin: Admin, rows: readonly Row[], workers: number, settings: PathSettings): Promise<PathOutcome> {
  const t = await createRunTopics(admin, 'spillway-bench-service', 3);
  const backlog = settings.rate === undefined;
  try {
    if (backlog) await produceRows(kafka, t.input, rows);
    const children = Array.from({ length: workers }, (_, i) => startWorker(t, settings, i, workers));
    try {
      await awaitGroup(admin, t.groupId, workers, children);
      if (!backlog) await produceRows(kafka, t.input, rows, settings.rate);
      await waitFor(
        'every offset committed',
        async () => {
          const dead = children.find((w) => w.child.exitCode !== null);
          if (dead !== undefined) throw new Error(`a worker exited:\n${dead.stderr().slice(-3_000)}`);
          return (await committedCount(admin, t.groupId, t.input)) >= rows.length;
        },
        3_600_000,
        200,
      );
      const annotations: PublishedAnnotation[] = [];
      await eachJsonRecord(kafka, t.output, (a) => annotations.push(a as unknown as PublishedAnnotation));
      const times = annotations.map((a) => a.processedAtMs ?? 0);
      const seconds = (Math.max(...times) - Math.min(...times)) / 1000;
      await stopAll(children);
      const exits = await Promise.all(children.map((c) => c.exited));
      return { annotations, seconds, exits, logs: children.map((c) => c.stderr()) };
    } finally {
      await stopAll(children);
    }
  } finally {
    await t.cleanup();
  }
}
