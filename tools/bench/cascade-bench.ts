/**
 * The cascade benchmark: streams a labelled dataset through the real cascade and the real LLM client,
 * talking HTTP to the replay server, at several LLM budgets, beside two baselines run on the same stream:
 *  - "threshold": the same stages and online training, deferring on a fixed confidence signal (1 − max p)
 *    whose cutoff the same budget controller sets;
 *  - "llm-only": a budget's share of items (seeded, spread over the stream) sent to the LLM, the others
 *    answered with the LLM's most frequent answer so far; at budget 1 this is the LLM alone.
 * Items are processed one at a time, in stream order, so every strategy learns strictly online.
 */
import type { Logger } from 'pino';
import { ANNOTATION_REASONS, BudgetController, createCascade, Rng, type Annotation, type SentenceEncoder, type WordVectors } from '../../src/cascade/index.js';
import type { Config } from '../../src/config.js';
import { formatObjective, loadTask, OpenAiTeacher, type LlmAnswer, type Objective, type Task, type Teacher } from '../../src/llm/index.js';
import { startReplayServer } from '../replay/index.js';
import { classificationReport } from './classification-report.js';
import type { QualityReport } from './quality-windows.js';
import type { LabelledItem } from './labelled-stream.js';
import { paperPoint } from './paper-results.js';
import { runServiceCascade } from './service-run.js';
import { benchStrategy, type BenchStrategy } from './strategies.js';

/** A strategy's name (see strategies.ts: learned, threshold, llm-only, and any registered later). */
export type Strategy = string;

/** 'unknown': the cascade is not told the stream's length, as in the service (default); 'known': it is. */
export type HorizonMode = 'unknown' | 'known';

/**
 * 'service': the path `spillway start` runs (the embedded pipeline, its in-flight window, the scheduler, the LLM
 * over HTTP at the given latency; service-run.ts); 'sequential': one item at a time, each LLM answer learned before
 * the next item is read (the reference a service should reach).
 */
export type BenchMode = 'service' | 'sequential';

/** One row of the report (snake_case: it is the `--json` contract). */
/** Quality targets a service run keeps (`spillway bench --quality`). */
export interface BenchQuality {
  targets: string[];
  delta: number;
  window: number;
  /** The certify-once baseline (BARGAIN, LOTUS): `quality.certifyOnce`. */
  certifyOnce: boolean;
}

export interface StrategyResult {
  strategy: Strategy;
  /** The path the row was measured on. @defaultValue 'sequential' */
  mode?: BenchMode;
  budget: number;
  items: number;
  llm_calls: number;
  llm_share: number;
  accuracy: number;
  macro_f1: number;
  balanced_accuracy: number;
  recall: number[];
  agreement: number;
  /** Share of items answered by each stage: [lr, mid, llm]. */
  stage_share: number[];
  cost_units: number;
  /** Items per second of the cascade itself, time waiting on the LLM excluded. */
  items_per_s: number;
  positive_recall?: number;
  positive_precision?: number;
  positive_f1?: number;
  /** The task's quality objective (accuracy, macro F1 or a label's recall: see `objective` of the report). */
  objective?: number;
  /** With quality targets (service mode): the run judged window by window against the recorded LLM answers. */
  quality?: QualityReport;
  /** The paper's accuracy at this budget, when it reports one. */
  paper_accuracy?: number;
  paper_positive_recall?: number;
  /**
   * Cascade strategies: over the second half of the stream, the share of items on which the deepest small stage
   * the item reached (its last non-LLM trace) gave the teacher's recorded answer (items without a parseable
   * recorded answer, or reaching no stage, are left out). The measure of how much the small stages learned.
   */
  stage_agreement_late?: number;
  /** With `cascade.selfTraining`: share of the items whose small stages' answer the stages learned (pseudo-labels). */
  pseudo_label_share?: number;
  /** LLM tiers only: calls made to each tier, cheapest first. */
  tier_calls?: number[];
  /** LLM tiers only: share of the items escalated past tier 0 (its answer disagreed with the small stages'). */
  escalated_share?: number;
  /** Service mode: share of the annotations by `reason`, in the order of the report's `reasons`. */
  reason_shares?: number[];
  /** Service mode: items per second, wall clock, first item in to last annotation out. */
  wall_items_per_s?: number;
}

export interface BenchReport {
  dataset: string;
  task: string;
  teacher: string;
  items: number;
  sample: number;
  seed: number;
  /** The task's objective (task file `objective`, or `--objective`); rows carry its value in `objective`. */
  objective?: string;
  /** Whether the cascade knew the stream's length. */
  horizon?: HorizonMode;
  backend?: string;
  /** The mid stage's sentence vectors (`cascade.sentenceEncoder`): glove or use-lite. */
  sentence_encoder?: string;
  /** The LLM tiers of the `tiered` strategy, cheapest first, with the cost units of one call to each. */
  tiers?: BenchTiers;
  /** Service mode: the stand-in LLM's latency and limit, and the arrival rate (absent: a backlog). */
  service?: { llm_latency_ms?: { p50: number; p99: number }; llm_rpm?: number; rate?: number };
  /** The reasons `reason_shares` counts, in order. */
  reasons?: string[];
  results: StrategyResult[];
}

/** LLM tiers for the bench: recorded teachers, cheapest first, and the cost units of one call to each. */
export interface BenchTiers {
  models: string[];
  costUnits: number[];
}

export interface CascadeBenchOptions {
  dataset: string;
  taskPath: string;
  teacher: string;
  stream: LabelledItem[];
  sample: number;
  seed: number;
  budgets: number[];
  strategies: Strategy[];
  /** Replaces the task file's objective for this bench. */
  objective?: Objective;
  /** Tell the cascade the stream's length ('known') or not ('unknown', as the service runs). @defaultValue 'unknown' */
  horizon?: HorizonMode;
  /** LLM tiers of the strategies that use them (`tiered`): served by the same replay server. */
  tiers?: BenchTiers;
  /** The paths to measure each strategy on, in order. @defaultValue ['service', 'sequential'] */
  modes?: BenchMode[];
  /** Service mode: the stand-in LLM's latency (lognormal, seeded); absent: it answers at once. */
  llmLatency?: { p50Ms: number; p99Ms: number };
  /** Service mode: the stand-in LLM's requests per minute (HTTP 429 with Retry-After above it). */
  llmRpm?: number;
  /** Service mode: items per second the stream arrives at; absent: a backlog. */
  rate?: number;
  /** Service mode: quality targets instead of a budget (`quality.*`), each run judged by window (quality-windows.ts). */
  quality?: BenchQuality;
  /** Base configuration; the bench overrides the budget, policy and horizon per run. */
  config: Readonly<Config>;
  logger: Logger;
  vectors?: WordVectors | null;
  /** One sentence encoder for every run (its cache spans them), with `cascade.sentenceEncoder` other than glove. */
  encoder?: SentenceEncoder;
  onItem?: () => void;
  /** Each cascade strategy's annotation of each item, as published (`index`: the item's place in the stream). */
  onAnnotation?: (annotation: Annotation, item: LabelledItem, index: number, run: { strategy: Strategy; budget: number }) => void;
}

/** Counts the time spent inside the LLM client, so the cascade's own speed can be reported. */
class TimedTeacher implements Teacher {
  busyMs = 0;

  constructor(private readonly inner: Teacher) {}

  get model(): string {
    return this.inner.model;
  }

  async classify(text: string, signal?: AbortSignal): Promise<LlmAnswer> {
    const started = performance.now();
    try {
      return await this.inner.classify(text, signal);
    } finally {
      this.busyMs += performance.now() - started;
    }
  }
}

/** Runs every strategy at every budget; one replay server serves them all. */
export async function runCascadeBench(options: CascadeBenchOptions): Promise<BenchReport> {
  const loaded = loadTask(options.taskPath);
  const task: Task = options.objective === undefined ? loaded : { ...loaded, objective: options.objective };
  const tierModels = options.tiers?.models ?? [];
  const modes = options.modes ?? ['service', 'sequential'];
  const server = await startReplayServer({ dataset: options.dataset, task, teacher: options.teacher, teachers: tierModels, port: 0, seed: options.seed });
  // The service meets the LLM at its real pace; the sequential reference waits for every answer, so it asks an instant one.
  const paced =
    modes.includes('service') && (options.llmLatency !== undefined || options.llmRpm !== undefined)
      ? await startReplayServer({
          dataset: options.dataset,
          task,
          teacher: options.teacher,
          port: 0,
          seed: options.seed,
          ...(options.llmLatency === undefined ? {} : { latency: options.llmLatency }),
          ...(options.llmRpm === undefined ? {} : { rpm: options.llmRpm }),
        })
      : server;
  const client = (model: string): TimedTeacher =>
    new TimedTeacher(
      new OpenAiTeacher({ task, baseUrl: server.url, model, timeoutMs: 10_000, maxRetries: 3, retryBaseMs: 50, retryMaxMs: 1000, logprobs: false }),
    );
  try {
    const results: StrategyResult[] = [];
    for (const [strategy, budget] of benchRuns(options.strategies, options.budgets)) {
      if (strategy.tiered === true && options.tiers === undefined) throw new RangeError(`strategy "${strategy.name}" needs LLM tiers (--tiers)`);
      const tiers =
        strategy.tiered === true
          ? options.tiers?.models.map((model, i) => ({ teacher: client(model), costUnits: options.tiers?.costUnits[i] ?? 1 }))
          : undefined;
      const teacher = tiers?.[0]?.teacher ?? client(options.teacher);
      if (strategy.kind === 'llm-only') {
        results.push(await runLlmOnly(options, task, teacher, budget));
        continue;
      }
      for (const mode of modes) {
        const score = (annotations: readonly Annotation[], ownMs: number): StrategyResult =>
          scoreAnnotations(options, task, strategy.name, budget, annotations, ownMs);
        const row =
          mode === 'sequential' || tiers !== undefined
            ? await runCascade(options, task, teacher, strategy, budget, tiers)
            : await runServiceCascade(options, task, strategy, budget, `${paced.url}`, options.rate === undefined ? {} : { rate: options.rate }, score);
        results.push({ ...row, mode });
        options.logger.debug({ strategy: strategy.name, mode, budget, accuracy: row.accuracy }, 'bench run done');
      }
    }
    const horizon = options.horizon ?? 'unknown';
    const objective = formatObjective(task.objective ?? { kind: 'accuracy' }, task.labels);
    return {
      dataset: options.dataset,
      task: task.name,
      teacher: options.teacher,
      items: options.stream.length,
      sample: options.sample,
      seed: options.seed,
      objective,
      horizon,
      ...(options.tiers === undefined ? {} : { tiers: options.tiers }),
      ...(modes.includes('service') ? { service: serviceSetting(options), reasons: [...ANNOTATION_REASONS] } : {}),
      results,
    };
  } finally {
    if (paced !== server) await paced.close();
    await server.close();
  }
}

function serviceSetting(options: CascadeBenchOptions): NonNullable<BenchReport['service']> {
  return {
    ...(options.llmLatency === undefined ? {} : { llm_latency_ms: { p50: options.llmLatency.p50Ms, p99: options.llmLatency.p99Ms } }),
    ...(options.llmRpm === undefined ? {} : { llm_rpm: options.llmRpm }),
    ...(options.rate === undefined ? {} : { rate: options.rate }),
  };
}

/**
 * The (strategy, budget) pairs of one seed, in run order: every strategy at every budget, then the
 * llm-only baseline once more at budget 1 (the LLM alone). An unknown name throws.
 */
export function benchRuns(strategies: readonly Strategy[], budgets: readonly number[]): Array<[BenchStrategy, number]> {
  const resolved = strategies.map((name) => {
    const s = benchStrategy(name);
    if (s === undefined) throw new RangeError(`unknown bench strategy "${name}"`);
    return s;
  });
  const runs: Array<[BenchStrategy, number]> = [];
  for (const budget of budgets) for (const s of resolved) runs.push([s, budget]);
  for (const s of resolved) if (s.kind === 'llm-only' && !budgets.includes(1)) runs.push([s, 1]);
  return runs;
}

async function runCascade(
  options: CascadeBenchOptions,
  task: Task,
  teacher: TimedTeacher,
  strategy: BenchStrategy,
  budget: number,
  tiers?: Array<{ teacher: TimedTeacher; costUnits: number }>,
): Promise<StrategyResult> {
  const stream = options.stream;
  const { horizonItems: _ignored, ...base } = options.config.cascade;
  const paced = { ...base, llmBudget: budget, ...(options.horizon === 'known' ? { horizonItems: stream.length } : {}) };
  const config = strategy.configure === undefined ? paced : strategy.configure(paced);
  // The service's one builder, with the bench's teacher, one call at a time, and no model state left behind.
  const cascade = await createCascade({
    config: {
      ...options.config,
      cascade: config,
      llm: { ...options.config.llm, concurrency: 1 },
      models: { ...options.config.models, saveEveryItems: 0, saveEveryMs: 0 },
    },
    logger: options.logger,
    task,
    ...(tiers === undefined ? { teacher } : { tiers }),
    restore: false,
    ...(options.vectors === undefined ? {} : { vectors: options.vectors }),
    ...(options.encoder === undefined ? {} : { encoder: options.encoder }),
  });
  const annotations: Annotation[] = [];
  const started = performance.now();
  for (const [i, item] of stream.entries()) {
    const a = await cascade.process({ id: item.id, text: item.text });
    options.onAnnotation?.(a, item, i, { strategy: strategy.name, budget });
    annotations.push(a);
    options.onItem?.();
  }
  const llmMs = tiers === undefined ? teacher.busyMs : tiers.reduce((ms, t) => ms + t.teacher.busyMs, 0);
  const row = scoreAnnotations(options, task, strategy.name, budget, annotations, performance.now() - started - llmMs);
  if (config.selfTraining !== 'off') row.pseudo_label_share = Number((cascade.counters.pseudoLabels / stream.length).toFixed(4));
  if (tiers !== undefined) {
    row.tier_calls = [...cascade.counters.tierCalls];
    row.escalated_share = Number((cascade.counters.escalations / stream.length).toFixed(4));
  }
  // Sequential: nothing is in flight. A run leaves no tfjs memory behind for the next one.
  await cascade.drain();
  cascade.dispose();
  return row;
}

/**
 * The row of a cascade run from its annotations, in stream order: accuracy against gold, agreement with the
 * teacher, LLM calls (an answer shared with another item's call is no call), and, over the second half of the
 * stream, how often the deepest small stage an item reached gave the teacher's answer. `ownMs`: the time the
 * rate is reported over.
 */
export function scoreAnnotations(
  options: CascadeBenchOptions,
  task: Task,
  strategy: Strategy,
  budget: number,
  annotations: readonly Annotation[],
  ownMs: number,
): StrategyResult {
  const stream = options.stream;
  const answeredBy = { lr: 0, mid: 0, llm: 0 };
  let calls = 0;
  let cost = 0;
  const late = { agreed: 0, seen: 0 };
  for (const [i, a] of annotations.entries()) {
    const deepest = a.stages.findLast((t) => t.stage !== 'llm');
    const recorded = stream[i]?.llm[options.teacher] ?? -1;
    if (2 * i >= stream.length && deepest !== undefined && recorded >= 0) {
      late.seen++;
      if (deepest.labelId === recorded) late.agreed++;
    }
    answeredBy[a.answeredBy]++;
    if (a.llmCalled && a.reason !== 'shared') calls++;
    cost += a.costUnits;
  }
  const predicted = annotations.map((a) => a.labelId);
  const row = resultRow(options, task, strategy, budget, predicted, calls, [answeredBy.lr, answeredBy.mid, answeredBy.llm], cost, ownMs);
  if (late.seen > 0) row.stage_agreement_late = Number((late.agreed / late.seen).toFixed(4));
  return row;
}

async function runLlmOnly(options: CascadeBenchOptions, task: Task, teacher: TimedTeacher, budget: number): Promise<StrategyResult> {
  const stream = options.stream;
  const controller = new BudgetController({ budget, ...(options.horizon === 'known' ? { horizonItems: stream.length } : {}), warmupItems: 0 });
  const rng = new Rng(options.seed);
  const seen = new Array<number>(task.labels.length).fill(0);
  const predicted: number[] = [];
  let calls = 0;
  let llmAnswered = 0;
  const started = performance.now();
  for (const item of stream) {
    // A uniform score makes the controller pick a random budget-sized share, paced over the stream.
    let label: number | null = null;
    if (controller.decide(rng.next())) {
      calls++;
      label = (await teacher.classify(item.text)).labelId;
    }
    if (label !== null) {
      seen[label] = (seen[label] as number) + 1;
      llmAnswered++;
    }
    predicted.push(label ?? seen.indexOf(Math.max(...seen)));
    options.onItem?.();
  }
  const ownMs = performance.now() - started - teacher.busyMs;
  const costUnits = calls * options.config.llm.costUnits;
  return resultRow(options, task, 'llm-only', budget, predicted, calls, [0, 0, llmAnswered], costUnits, ownMs);
}

function resultRow(
  options: CascadeBenchOptions,
  task: Task,
  strategy: Strategy,
  budget: number,
  predicted: number[],
  calls: number,
  byStage: number[],
  cost: number,
  ownMs: number,
): StrategyResult {
  const stream = options.stream;
  const n = stream.length;
  const report = classificationReport(
    predicted,
    stream.map((i) => i.label),
    stream.map((i) => i.llm[options.teacher] ?? -1),
    task.labels.length,
    task.positiveLabel,
  );
  const round = (x: number, d = 4): number => Number(x.toFixed(d));
  const row: StrategyResult = {
    strategy,
    budget,
    items: n,
    llm_calls: calls,
    llm_share: round(calls / n),
    accuracy: round(report.accuracy),
    macro_f1: round(report.macroF1),
    balanced_accuracy: round(report.balancedAccuracy),
    recall: report.recall.map((r) => round(r)),
    agreement: round(report.agreement),
    stage_share: byStage.map((c) => round(c / n)),
    cost_units: cost,
    items_per_s: Math.round(n / (Math.max(ownMs, 1e-3) / 1000)),
  };
  const objective = task.objective ?? { kind: 'accuracy' };
  row.objective = round(
    objective.kind === 'accuracy' ? report.accuracy : objective.kind === 'macro_f1' ? report.macroF1 : (report.recall[objective.label] ?? 0),
  );
  if (report.positive !== undefined) {
    row.positive_recall = round(report.positive.recall);
    row.positive_precision = round(report.positive.precision);
    row.positive_f1 = round(report.positive.f1);
  }
  const paper = strategy === 'learned' && options.sample === 0.5 ? paperPoint(task.name, budget) : undefined;
  if (paper !== undefined) {
    row.paper_accuracy = paper.accuracy / 100;
    if (paper.positiveRecall !== undefined) row.paper_positive_recall = paper.positiveRecall / 100;
  }
  return row;
}
