/**
 * The cache benchmark's engine: for each Zipf skew, cost ratio and multiplexer setting, streams the same
 * repeated items through a cascade without a cache and with each policy at each cache size, and reports LLM
 * calls, total cost and accuracy against gold. How items are answered is the runner's business (the CLI wires
 * the real cascade); this module only builds streams and caches and does the accounting.
 *
 * Costs are reported in LLM calls: an LLM call costs 1 and a small stage 1 / cost ratio × its relative cost,
 * so `llm_only_cost` (every item sent to the LLM) is the stream length whatever the ratio.
 */
import type { AnswerCache, CachePolicyName } from '../../src/cache/index.js';
import type { DatasetRow } from './cache-stream.js';
import { zipfStream } from './cache-stream.js';
import { simulateTrace, type TraceStep } from './cache-trace.js';

/** What the benchmark reads of an answered item (the cascade's Annotation has these fields). */
export interface BenchAnnotation {
  labelId: number;
  /** Cost units the cascade charged for the item. */
  costUnits: number;
  /** 'call' when the LLM was called; 'cache-…' on a hit. */
  llmSource: string;
  /** The multiplexer's route, when it routed the item. */
  route?: readonly string[];
}

/** One configuration of the grid. */
export interface RunSetup {
  policy: 'none' | CachePolicyName;
  /** Cache capacity, entries (0 for 'none'). */
  cacheSize: number;
  alpha: number;
  costRatio: number;
  multiplexer: boolean;
  /** The cache the cascade must use, absent for 'none'. */
  cache?: AnswerCache;
  /** Items in the stream (the cascade's budget horizon). */
  items: number;
}

/** Answers a stream for one configuration; created fresh per run so no model state leaks between runs. */
export interface BenchRunner {
  process(item: { id: string; text: string }): Promise<BenchAnnotation>;
  /** Cost units of one LLM call in this runner, to express costs in LLM calls. */
  readonly llmCostUnits: number;
  close(): Promise<void>;
}

export interface CacheBenchOptions {
  rows: readonly DatasetRow[];
  alphas: readonly number[];
  costRatios: readonly number[];
  /** Cache capacities, entries. */
  cacheSizes: readonly number[];
  policies: ReadonlyArray<CachePolicyName>;
  multiplexer: readonly boolean[];
  items: number;
  seed: number;
  /**
   * Streams per configuration (seeds seed, seed + 1, …); results are their means. A cascade's trajectory
   * depends on which items hit, so single runs differ by a few percent for reasons unrelated to the policy.
   * @defaultValue 1
   */
  repeats?: number;
  createRunner(setup: RunSetup): Promise<BenchRunner>;
  /** Builds the cache of a run (L1 only in the benchmark: the policies are what is compared). */
  createCache(policy: CachePolicyName, cacheSize: number): AnswerCache;
  /** Called after each run (progress). */
  onResult?(result: CacheBenchResult): void;
}

/** One row of the report; field names are the JSON contract of `spillway bench-cache --json`. */
export interface CacheBenchResult {
  policy: 'none' | CachePolicyName;
  cache_size: number;
  alpha: number;
  cost_ratio: number;
  multiplexer: boolean;
  llm_calls: number;
  /** In LLM calls (see the module comment). */
  total_cost: number;
  accuracy: number;
  cache_hits: number;
  /** Unique items in the stream (the most a cache of unbounded size could miss). */
  unique_items: number;
  /** Items the multiplexer routed (0 when it is off, or when the cascade does not implement it). */
  routed_items: number;
}

/** A policy replayed over the no-cache run's trace (see cache-trace.ts); costs in LLM calls. */
export interface TraceBenchResult extends Pick<
  CacheBenchResult,
  'cache_size' | 'alpha' | 'cost_ratio' | 'multiplexer' | 'llm_calls' | 'total_cost' | 'cache_hits'
> {
  policy: CachePolicyName;
}

export interface CacheBenchReport {
  /** Cost of sending every item to the LLM, in LLM calls: the stream length. */
  llm_only_cost: number;
  items: number;
  results: CacheBenchResult[];
  /** The same policies and sizes replayed over each no-cache run (first stream), the cascade held fixed. */
  trace_simulation: TraceBenchResult[];
}

/** Runs the grid; configurations run one after another (the cascade is stateful and the machine small). */
export async function runCacheBench(options: CacheBenchOptions): Promise<CacheBenchReport> {
  const results: CacheBenchResult[] = [];
  const traced: TraceBenchResult[] = [];
  const repeats = options.repeats ?? 1;
  for (const alpha of options.alphas) {
    const streams = Array.from({ length: repeats }, (_, r) => zipfStream(options.rows.length, options.items, alpha, options.seed + r));
    const uniqueItems = mean(streams.map((stream) => new Set(stream).size));
    for (const costRatio of options.costRatios) {
      for (const multiplexer of options.multiplexer) {
        const setups: Array<Omit<RunSetup, 'cache'>> = [{ policy: 'none', cacheSize: 0, alpha, costRatio, multiplexer, items: options.items }];
        for (const cacheSize of options.cacheSizes) {
          for (const policy of options.policies) setups.push({ policy, cacheSize, alpha, costRatio, multiplexer, items: options.items });
        }
        for (const setup of setups) {
          const runs: Array<Omit<CacheBenchResult, 'unique_items'>> = [];
          for (const stream of streams) {
            const cache = setup.policy === 'none' ? undefined : options.createCache(setup.policy, setup.cacheSize);
            const trace: RecordedTrace = { steps: [], llmCostUnits: 1 };
            runs.push(await runOne(options, { ...setup, ...(cache === undefined ? {} : { cache }) }, stream, trace));
            await cache?.close();
            if (setup.policy === 'none' && stream === streams[0]) traced.push(...replay(options, setup, trace));
          }
          const first = runs[0] as Omit<CacheBenchResult, 'unique_items'>;
          const row: CacheBenchResult = {
            ...first,
            llm_calls: round(mean(runs.map((r) => r.llm_calls))),
            total_cost: round(mean(runs.map((r) => r.total_cost))),
            accuracy: round(mean(runs.map((r) => r.accuracy))),
            cache_hits: round(mean(runs.map((r) => r.cache_hits))),
            routed_items: round(mean(runs.map((r) => r.routed_items))),
            unique_items: uniqueItems,
          };
          results.push(row);
          options.onResult?.(row);
        }
      }
    }
  }
  return { llm_only_cost: options.items, items: options.items, results, trace_simulation: traced };
}

/** The per-item record of one run, for the trace simulation. */
interface RecordedTrace {
  steps: TraceStep[];
  llmCostUnits: number;
}

function replay(options: CacheBenchOptions, setup: Omit<RunSetup, 'cache'>, trace: RecordedTrace): TraceBenchResult[] {
  const out: TraceBenchResult[] = [];
  const { llmCostUnits } = trace;
  for (const cacheSize of options.cacheSizes) {
    for (const policy of options.policies) {
      const r = simulateTrace(trace.steps, policy, cacheSize, llmCostUnits);
      out.push({
        policy,
        cache_size: cacheSize,
        alpha: setup.alpha,
        cost_ratio: setup.costRatio,
        multiplexer: setup.multiplexer,
        llm_calls: r.llm_calls,
        total_cost: round(r.cost_units / llmCostUnits),
        cache_hits: r.cache_hits,
      });
    }
  }
  return out;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + v, 0) / values.length;
}

async function runOne(
  options: CacheBenchOptions,
  setup: RunSetup,
  stream: readonly number[],
  trace: RecordedTrace,
): Promise<Omit<CacheBenchResult, 'unique_items'>> {
  const runner = await options.createRunner(setup);
  trace.llmCostUnits = runner.llmCostUnits;
  let llmCalls = 0;
  let costUnits = 0;
  let correct = 0;
  let hits = 0;
  let routed = 0;
  try {
    for (let position = 0; position < stream.length; position += 1) {
      const row = options.rows[stream[position] as number] as DatasetRow;
      const annotation = await runner.process({ id: `${row.id}#${position}`, text: row.text });
      if (annotation.llmSource === 'call') llmCalls += 1;
      if (annotation.llmSource.startsWith('cache')) hits += 1;
      if (annotation.route !== undefined) routed += 1;
      costUnits += annotation.costUnits;
      if (annotation.labelId === row.label) correct += 1;
      trace.steps.push({ row: stream[position] as number, costUnits: annotation.costUnits, llmCalled: annotation.llmSource === 'call' });
    }
  } finally {
    await runner.close();
  }
  return {
    policy: setup.policy,
    cache_size: setup.cacheSize,
    alpha: setup.alpha,
    cost_ratio: setup.costRatio,
    multiplexer: setup.multiplexer,
    llm_calls: llmCalls,
    total_cost: round(costUnits / runner.llmCostUnits),
    accuracy: round(correct / stream.length),
    cache_hits: hits,
    routed_items: routed,
  };
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
