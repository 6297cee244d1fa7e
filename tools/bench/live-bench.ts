/**
 * The live benchmark (`spillway bench-live`): the cascade at a real LLM's pace. Items arrive at a seeded
 * rate with bursts (arrivals.ts), open loop, the stream length unknown to the cascade; the LLM is the replay
 * server with lognormal latency and a requests-per-minute limit (429 + Retry-After above it). Each setting
 * gets a fresh cascade and a fresh stand-in:
 *  - `fifo-baseline`: today's behaviour before the scheduler: batch 1, 8 calls in flight, FIFO, no deadline,
 *    at most 8 items in flight (`start`'s old window, `llm.concurrency`);
 *  - `batch-k`: the scheduler (priority by deferral score, deadlines, capacity-aware budget, AIMD, rate
 *    limits) with k items per request, `pipeline.maxInFlight` items in flight, annotations as ready (`run`);
 *  - `instant@batch-k`: the same cascade with an LLM that answers at once, at the LLM share `batch-k`
 *    reached, fed as fast as it goes: that setting's accuracy reference.
 */
import type { Logger } from 'pino';
import { createCascade, type Annotation, type WordVectors } from '../../src/cascade/index.js';
import type { Config } from '../../src/config.js';
import { OpenAiTeacher, type Task } from '../../src/llm/index.js';
import { startReplayServer } from '../replay/index.js';
import { arrivalTimes } from './arrivals.js';
import type { LabelledItem } from './labelled-stream.js';

/** How one setting runs. */
export interface LiveSetting {
  name: string;
  batchSize: number;
  order: 'priority' | 'fifo';
  adaptive: boolean;
  /** ms; Infinity: none (the baseline). */
  deadlineMs: number;
  capacityAware: boolean;
  /** Items in flight at most. */
  window: number;
  /** The stand-in's latency; undefined: it answers at once. */
  latency?: { p50Ms: number; p99Ms: number };
  rpm?: number;
  tpm?: number;
  budget: number;
  /** Items arrive at their scheduled times (true) or as fast as the window allows (false). */
  openLoop: boolean;
  /** Stop feeding after the run's duration even if arrivals are left (the baseline cannot keep up). */
  stopAtDuration: boolean;
}

/** One row of the report (snake_case: the `--json` contract). */
export interface LiveResult {
  setting: string;
  batch: number;
  budget: number;
  items: number;
  wall_s: number;
  throughput_items_per_s: number;
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  /** Share of items answered later than the deadline (arrival → annotation). */
  past_deadline_share: number;
  /** Share of items the small stages answered because the LLM could not in time (reason `deadline`). */
  instead_of_deadline_share: number;
  accuracy: number;
  /** Items answered by the LLM / items. */
  llm_share: number;
  llm_requests: number;
  llm_answered_items: number;
  throttled_429: number;
  prompt_tokens: number;
  completion_tokens: number;
  prompt_tokens_per_llm_item: number;
  dollars: number;
  peak_rss_mb: number;
  max_queue: number;
  final_concurrency: number;
  /** Mean deferral score (last small stage's P(defer)) of items the LLM answered, and of those the small stages answered. */
  mean_pdefer_llm: number;
  mean_pdefer_small: number;
  reasons: Record<string, number>;
}

export interface LiveBenchOptions {
  dataset: string;
  task: Task;
  teacher: string;
  stream: readonly LabelledItem[];
  config: Readonly<Config>;
  logger: Logger;
  vectors?: WordVectors | null;
  rate: number;
  durationS: number;
  seed: number;
  /** Dollars per million prompt / completion tokens. */
  priceIn: number;
  priceOut: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number;
}

/** The score the LLM gate judged: P(defer) of the last small stage the item reached. */
function gateScore(a: Annotation): number {
  const small = a.stages.filter((s) => s.stage !== 'llm');
  return small[small.length - 1]?.pDefer ?? 0;
}

/** Runs one setting over the stream and measures it. */
export async function runLiveSetting(options: LiveBenchOptions, setting: LiveSetting): Promise<LiveResult> {
  const { task } = options;
  const server = await startReplayServer({
    dataset: options.dataset,
    task,
    teacher: options.teacher,
    seed: options.seed,
    ...(setting.latency === undefined ? {} : { latency: setting.latency }),
    ...(setting.rpm === undefined ? {} : { rpm: setting.rpm }),
    ...(setting.tpm === undefined ? {} : { tpm: setting.tpm }),
  });
  const llm = options.config.llm;
  const teacher = new OpenAiTeacher({
    task,
    baseUrl: server.url,
    model: options.teacher,
    timeoutMs: llm.timeoutMs,
    maxRetries: llm.maxRetries,
    retryBaseMs: llm.retryBaseMs,
    retryMaxMs: llm.retryMaxMs,
  });
  const { horizonItems: _unknown, ...cascadeConfig } = options.config.cascade;
  // The service's one builder; the setting's scheduler knobs are configuration, but for the baseline's.
  const cascade = await createCascade({
    config: {
      ...options.config,
      cascade: { ...cascadeConfig, llmBudget: setting.budget },
      llm: {
        ...llm,
        concurrency: 8,
        minConcurrency: setting.adaptive ? llm.minConcurrency : 8,
        maxConcurrency: setting.adaptive ? llm.maxConcurrency : 8,
        deadlineMs: setting.deadlineMs,
        batchSize: setting.batchSize,
        maxRequestsPerMinute: setting.rpm,
        maxTokensPerMinute: setting.tpm,
      },
      models: { ...options.config.models, saveEveryItems: 0 },
    },
    logger: options.logger,
    task,
    teacher,
    restore: false,
    scheduling: { order: setting.order, adaptive: setting.adaptive, capacityAware: setting.capacityAware },
    ...(options.vectors === undefined ? {} : { vectors: options.vectors }),
  });
  const times = arrivalTimes({ rate: options.rate, durationS: options.durationS, seed: options.seed });
  const stream = options.stream;
  const latencies: number[] = [];
  const annotations: Array<{ a: Annotation; gold: number }> = [];
  let inFlight = 0;
  let freed: (() => void) | undefined;
  let peakRss = process.memoryUsage().rss;
  let maxQueue = 0;
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss);
    maxQueue = Math.max(maxQueue, cascade.scheduler?.snapshot().queued ?? 0);
  }, 100);
  const started = performance.now();
  let lastDoneMs = 0;
  const submit = (i: number, arrivalMs: number): void => {
    const row = stream[i % stream.length] as LabelledItem;
    inFlight++;
    void cascade.process({ id: `${row.id}#${Math.floor(i / stream.length)}`, text: row.text }).then((a) => {
      const doneMs = performance.now() - started;
      lastDoneMs = doneMs;
      latencies.push(doneMs - arrivalMs);
      annotations.push({ a, gold: row.label });
      inFlight--;
      freed?.();
    });
  };
  const waitFreed = (): Promise<void> => new Promise((resolve) => (freed = resolve));
  let next = 0;
  while (next < times.length) {
    const now = performance.now() - started;
    if (setting.stopAtDuration && now >= options.durationS * 1000) break;
    if (inFlight >= setting.window) {
      await waitFreed();
      continue;
    }
    if (!setting.openLoop) {
      submit(next, now);
      next++;
      continue;
    }
    const due = times[next] as number;
    if (due > now) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(10, due - now)));
      continue;
    }
    while (next < times.length && (times[next] as number) <= now && inFlight < setting.window) {
      submit(next, times[next] as number);
      next++;
    }
  }
  while (inFlight > 0) await waitFreed();
  clearInterval(sampler);
  const snapshot = cascade.scheduler?.snapshot();
  await cascade.close();
  cascade.dispose();
  const served = server.stats();
  await server.close();

  const n = annotations.length;
  const sorted = Float64Array.from(latencies).sort();
  const correct = annotations.filter(({ a, gold }) => a.labelId === gold).length;
  const byLlm = annotations.filter(({ a }) => a.answeredBy === 'llm');
  const bySmall = annotations.filter(({ a }) => a.answeredBy !== 'llm');
  const mean = (xs: Array<{ a: Annotation }>): number => (xs.length === 0 ? 0 : xs.reduce((s, { a }) => s + gateScore(a), 0) / xs.length);
  const deadline = setting.deadlineMs;
  const c = cascade.counters;
  return {
    setting: setting.name,
    batch: setting.batchSize,
    budget: setting.budget,
    items: n,
    wall_s: lastDoneMs / 1000,
    throughput_items_per_s: n / Math.max(1e-9, lastDoneMs / 1000),
    latency_ms: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted[sorted.length - 1] ?? 0 },
    past_deadline_share: Number.isFinite(deadline) ? latencies.filter((l) => l > deadline).length / Math.max(1, n) : 0,
    instead_of_deadline_share: c.reasons.deadline / Math.max(1, n),
    accuracy: correct / Math.max(1, n),
    llm_share: byLlm.length / Math.max(1, n),
    llm_requests: snapshot?.requests ?? 0,
    llm_answered_items: byLlm.length,
    throttled_429: served.throttled,
    prompt_tokens: c.promptTokens,
    completion_tokens: c.completionTokens,
    prompt_tokens_per_llm_item: c.promptTokens / Math.max(1, c.llmCalls),
    dollars: (c.promptTokens * options.priceIn + c.completionTokens * options.priceOut) / 1e6,
    peak_rss_mb: peakRss / 2 ** 20,
    max_queue: maxQueue,
    final_concurrency: snapshot?.concurrency ?? 0,
    mean_pdefer_llm: mean(byLlm),
    mean_pdefer_small: mean(bySmall),
    reasons: { ...c.reasons },
  };
}

/** The settings of one `bench-live` run, in run order (an instant reference follows each batch setting). */
export function liveSettings(flags: {
  batches: readonly number[];
  latency: { p50Ms: number; p99Ms: number };
  rpm?: number;
  tpm?: number;
  budget: number;
  deadlineMs: number;
  window: number;
}): LiveSetting[] {
  const limits = { ...(flags.rpm === undefined ? {} : { rpm: flags.rpm }), ...(flags.tpm === undefined ? {} : { tpm: flags.tpm }) };
  const baseline: LiveSetting = {
    name: 'fifo-baseline',
    batchSize: 1,
    order: 'fifo',
    adaptive: false,
    deadlineMs: Infinity,
    capacityAware: false,
    window: 8,
    latency: flags.latency,
    ...limits,
    budget: flags.budget,
    openLoop: true,
    stopAtDuration: true,
  };
  const scheduled = flags.batches.map((k): LiveSetting => ({
    name: `batch-${k}`,
    batchSize: k,
    order: 'priority',
    adaptive: true,
    deadlineMs: flags.deadlineMs,
    capacityAware: true,
    window: flags.window,
    latency: flags.latency,
    ...limits,
    budget: flags.budget,
    openLoop: true,
    stopAtDuration: false,
  }));
  return [baseline, ...scheduled];
}

/** The instant-LLM reference at a given LLM share (the budget), fed as fast as a window of `window` items allows. */
export function instantSetting(budget: number, window: number): LiveSetting {
  // No deadline and no capacity cap: nothing but the budget decides which items the LLM answers.
  return {
    name: 'instant',
    batchSize: 1,
    order: 'priority',
    adaptive: false,
    deadlineMs: Infinity,
    capacityAware: false,
    window,
    budget,
    openLoop: false,
    stopAtDuration: false,
  };
}
