/**
 * `spillway bench-cache --dataset F`'s implementation (loaded when the command runs): the cache benchmark. Streams that repeat the dataset's items
 * with Zipf skew go through the real cascade (answers from the replay LLM server), without a cache and with
 * LRU, GDSF and LEC at several sizes, with and without the multiplexer; prints LLM calls, total cost (in LLM
 * calls) and accuracy against gold, plus the false-hit rates of exact and near-duplicate reuse on the dataset.
 */
import path from 'node:path';
import { InvalidArgumentError } from 'commander';
import {
  measureReuse,
  readDataset,
  runCacheBench,
  type BenchRunner,
  type CacheBenchReport,
  type CacheBenchResult,
  type ReuseStats,
  type RunSetup,
  type TraceBenchResult,
} from '../bench/index.js';
import { startReplayServer } from '../replay/index.js';
import { createCache, type CachePolicyName } from '../../src/cache/index.js';
import { createCascade, loadWordVectors, type WordVectors } from '../../src/cascade/index.js';
import { configuredTask, createServiceContext, type Logger } from '../../src/app/index.js';
import { parseConfig, type Config } from '../../src/config.js';

/** The flags of `spillway bench-cache` (see tools/cli/bench-cache-command.ts). */
export interface BenchCacheFlags {
  dataset: string;
  config?: string;
  teacher?: string;
  alphas: number[];
  costRatios: number[];
  cacheSizes: number[];
  policies: CachePolicyName[];
  multiplexer: 'both' | 'on' | 'off';
  items: number;
  seed: number;
  repeats: number;
  json?: boolean;
}

/**
 * A fresh cascade per run (nothing restored, nothing saved), wired to the replay server and the run's cache;
 * the pretrained vectors are loaded once and shared.
 */
async function cascadeRunner(base: Readonly<Config>, shared: SharedParts, setup: RunSetup, logger: Logger): Promise<BenchRunner> {
  const config = parseConfig({
    ...base,
    task: shared.taskPath,
    llm: { ...base.llm, baseUrl: shared.llmUrl, model: shared.teacher, costUnits: setup.costRatio * base.cascade.midCostUnits },
    cascade: { ...base.cascade, horizonItems: setup.items },
    models: { ...base.models, saveEveryItems: 0, saveEveryMs: 0 },
    cache: { ...base.cache, enabled: setup.cache !== undefined, multiplexer: setup.multiplexer, redisTier: false },
  });
  const cascade = await createCascade({
    task: configuredTask(config),
    config,
    logger,
    restore: false,
    vectors: shared.vectors,
    ...(setup.cache === undefined ? {} : { cache: setup.cache }),
  });
  return {
    llmCostUnits: config.llm.costUnits,
    process: (item) => cascade.process(item),
    // drain, not close: close() saves model state, which a benchmark run must not leave behind.
    close: async () => {
      await cascade.drain();
      cascade.dispose();
    },
  };
}

/** What every run shares: the replay server, the task and the word vectors. */
interface SharedParts {
  taskPath: string;
  llmUrl: string;
  teacher: string;
  vectors: WordVectors | null;
}

/** The cells both tables' rows start with: the run's setting, calls, hits and cost. */
function costCells(r: CacheBenchResult | TraceBenchResult): string[] {
  return [
    r.alpha.toFixed(1).padEnd(5),
    String(r.cost_ratio).padEnd(5),
    (r.multiplexer ? 'on' : 'off').padEnd(4),
    r.policy.padEnd(6),
    String(r.cache_size).padEnd(5),
    String(r.llm_calls).padEnd(10),
    String(r.cache_hits).padEnd(6),
    r.total_cost.toFixed(1).padEnd(11),
  ];
}

function printTable(dataset: string, report: CacheBenchReport, reuse: ReuseStats): void {
  const cheaper = (r: CacheBenchResult | TraceBenchResult): string => (report.llm_only_cost / r.total_cost).toFixed(1);
  const out: string[] = [`${path.basename(dataset)}: ${report.items} items per stream; LLM-only cost ${report.llm_only_cost} (costs in LLM calls)`];
  out.push('alpha  ratio  mux  policy  size  llm_calls  hits   total_cost  x_cheaper  accuracy');
  for (const r of report.results) out.push([...costCells(r), cheaper(r).padEnd(10), r.accuracy.toFixed(4)].join('  '));
  out.push('trace replay of each no-cache run (the cascade held fixed):');
  out.push('alpha  ratio  mux  policy  size  llm_calls  hits   total_cost  x_cheaper');
  for (const r of report.trace_simulation) out.push([...costCells(r), cheaper(r)].join('  '));
  out.push(`reuse on the whole dataset: ${JSON.stringify(reuse)}`);
  process.stdout.write(`${out.join('\n')}\n`);
}

/** Runs `spillway bench-cache` with parsed flags: the report goes to stdout, progress to stderr. */
export async function runBenchCache(flags: BenchCacheFlags): Promise<void> {
  if (!['both', 'on', 'off'].includes(flags.multiplexer)) throw new InvalidArgumentError('--multiplexer: expected both, on or off');
  const { config: base, logger } = createServiceContext({ file: flags.config });
  // Each run builds a cascade: its lifecycle logs (restore, save) would drown the progress lines.
  const quiet = logger.child({ module: 'bench-cache' }, { level: logger.isLevelEnabled('warn') ? 'warn' : base.logLevel });
  const teacher = flags.teacher ?? base.llm.model;
  const taskPath = flags.dataset.replace(/\.jsonl$/u, '.task.json');
  const rows = readDataset(flags.dataset);
  const reuse = measureReuse(flags.dataset, teacher, [0.7, 0.8, 0.9]);
  const server = await startReplayServer({ dataset: flags.dataset, teacher, task: taskPath, port: 0, logger: quiet });
  const vectors = base.cascade.stages.includes('mid') && base.cascade.pretrainedVectors ? (loadWordVectors(100_000, quiet) ?? null) : null;
  const shared: SharedParts = { taskPath, llmUrl: server.url, teacher, vectors };
  try {
    const report = await runCacheBench({
      rows,
      alphas: flags.alphas,
      costRatios: flags.costRatios,
      cacheSizes: flags.cacheSizes,
      policies: flags.policies,
      multiplexer: flags.multiplexer === 'both' ? [false, true] : [flags.multiplexer === 'on'],
      items: flags.items,
      seed: flags.seed,
      repeats: flags.repeats,
      createRunner: (setup) => cascadeRunner(base, shared, setup, quiet),
      createCache: (policy, size) =>
        createCache({ cache: { ...base.cache, policy, redisTier: false, nearDuplicates: false }, redis: base.redis }, quiet, { maxEntries: size }),
      onResult: (result) => {
        logger.info(result, 'bench-cache run done');
        if (result.multiplexer && result.routed_items === 0)
          logger.warn({ alpha: result.alpha, policy: result.policy }, 'multiplexer requested but the cascade routed no item');
      },
    });
    if (flags.json === true) process.stdout.write(`${JSON.stringify({ dataset: path.basename(flags.dataset), ...report, near_duplicates: reuse })}\n`);
    else printTable(flags.dataset, report, reuse);
  } finally {
    await server.close();
  }
}
