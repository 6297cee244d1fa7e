/**
 * One bench run through the path `spillway start` runs: the embedded pipeline (src/app: `runEmbedded`, its
 * in-flight window `pipeline.maxInFlight`, annotations in input order) over a cascade built by the one builder
 * from the configuration, the LLM reached over HTTP (the replay server, at the latency it is given), the stream
 * a backlog (every item available at once, as on a first run or after downtime) or paced at `rate` items/s.
 * The annotations are scored as the sequential walk's are, plus the count of each `reason` and the wall-clock
 * rate.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { paced, runEmbedded } from '../../src/app/index.js';
import { ANNOTATION_REASONS, createCascade, type Annotation } from '../../src/cascade/index.js';
import type { Task } from '../../src/llm/index.js';
import type { JsonlEntry } from '../../src/stream/index.js';
import { parseQualityTargets } from '../../src/quality/index.js';
import type { CascadeBenchOptions, StrategyResult } from './cascade-bench.js';
import { judgeQuality } from './quality-windows.js';
import type { LabelledItem } from './labelled-stream.js';
import type { BenchStrategy } from './strategies.js';

/** How items reach the service: all at once (a backlog) or at a steady rate. */
export interface Arrival {
  /** Items per second; absent: a backlog. */
  rate?: number;
}

/** What a service run adds to a row. */
export interface ServiceFacts {
  /** Share of the annotations by `reason`, in the order of ANNOTATION_REASONS. */
  reason_shares: number[];
  /** Items per second, wall clock, first item in to last annotation out. */
  wall_items_per_s: number;
}

/** Annotations as the pipeline writes them (JSON lines), parsed back (benchmarks and tests read runEmbedded's output with it). */
export class AnnotationSink extends Writable {
  readonly annotations: Annotation[] = [];
  private rest = '';

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    const lines = (this.rest + chunk.toString()).split('\n');
    this.rest = lines.pop() ?? '';
    for (const line of lines) if (line !== '') this.annotations.push(JSON.parse(line) as Annotation);
    done();
  }
}

async function* entriesOf(stream: readonly LabelledItem[]): AsyncGenerator<JsonlEntry> {
  for (const [i, item] of stream.entries()) yield { line: i + 1, item: { id: item.id, text: item.text } };
}

/**
 * Runs one strategy at one budget through the embedded pipeline against the LLM at `llmUrl`; `score` turns the
 * annotations, in stream order, into the row the sequential walk reports.
 */
export async function runServiceCascade(
  options: CascadeBenchOptions,
  task: Task,
  strategy: BenchStrategy,
  budget: number,
  llmUrl: string,
  arrival: Arrival,
  score: (annotations: readonly Annotation[], ownMs: number) => StrategyResult,
): Promise<StrategyResult & ServiceFacts> {
  const { horizonItems: _unknown, ...base } = options.config.cascade;
  // The service never knows a stream's length; the bench's `--horizon known` tells it, as the walk is told.
  // With quality targets the budget is left unset (no cap) unless below 1: a cap the targets rule under.
  const quality = options.quality;
  const llmBudget = quality !== undefined && budget >= 1 ? undefined : budget;
  const withBudget = {
    ...base,
    ...(llmBudget === undefined ? {} : { llmBudget }),
    ...(options.horizon === 'known' ? { horizonItems: options.stream.length } : {}),
  };
  const cascadeConfig = strategy.configure === undefined ? withBudget : strategy.configure(withBudget);
  const dir = await mkdtemp(path.join(tmpdir(), 'spillway-bench-service-'));
  const config = {
    ...options.config,
    cascade: cascadeConfig,
    llm: { ...options.config.llm, baseUrl: llmUrl, model: options.teacher },
    models: { ...options.config.models, dir, saveEveryItems: 0, saveEveryMs: 0 },
    // A fresh in-process cache per run: the Redis tier would carry answers from one run to the next.
    cache: { ...options.config.cache, redisTier: false },
    quality:
      quality === undefined
        ? options.config.quality
        : { ...options.config.quality, targets: quality.targets, delta: quality.delta, window: quality.window, certifyOnce: quality.certifyOnce },
  };
  const cascade = await createCascade({
    task,
    config,
    logger: options.logger,
    restore: false,
    ...(options.vectors === undefined ? {} : { vectors: options.vectors }),
    ...(options.encoder === undefined ? {} : { encoder: options.encoder }),
  });
  const sink = new AnnotationSink();
  const stop = new AbortController();
  const started = performance.now();
  try {
    const source = arrival.rate === undefined ? entriesOf(options.stream) : paced(entriesOf(options.stream), arrival.rate, stop.signal);
    await runEmbedded(cascade, source, {
      output: sink,
      rejectsPath: path.join(dir, 'rejects.jsonl'),
      logger: options.logger,
      signal: stop.signal,
      window: options.config.pipeline.maxInFlight,
    });
    await cascade.drain();
    await cascade.close();
  } finally {
    cascade.dispose();
    await rm(dir, { recursive: true, force: true });
  }
  const wallMs = performance.now() - started;
  const annotations = sink.annotations;
  annotations.forEach((a, i) => {
    options.onItem?.();
    options.onAnnotation?.(a, options.stream[i] as LabelledItem, i, { strategy: strategy.name, budget });
  });
  const row = score(annotations, wallMs);
  const n = Math.max(1, annotations.length);
  const judged =
    quality === undefined
      ? undefined
      : judgeQuality(annotations, options.stream, options.teacher, parseQualityTargets(quality.targets, task.labels, '--quality'), quality);
  return {
    ...row,
    ...(judged === undefined ? {} : { quality: judged }),
    reason_shares: ANNOTATION_REASONS.map((r) => Number((annotations.filter((a) => a.reason === r).length / n).toFixed(4))),
    wall_items_per_s: Math.round(annotations.length / (wallMs / 1000)),
  };
}
