/**
 * Runs the cascade bench over several paired seeds: within a seed every strategy sees the same sampled
 * stream and the same cascade seed, so strategy differences are paired; the seeds are then folded into
 * means and 95 % intervals (seed-summary.ts).
 */
import { orderStream, type StreamOrder } from './stream-orders.js';
import type { Config } from '../../src/config.js';
import type { CascadeBenchOptions } from './cascade-bench.js';
import { runCascadeBench } from './cascade-bench.js';
import { sampleStream, type LabelledItem } from './labelled-stream.js';
import { summarizeSeeds, type SeedSummaryReport } from './seed-summary.js';

export interface SeededBenchOptions extends Omit<CascadeBenchOptions, 'stream' | 'seed'> {
  /** The whole labelled file; each seed draws its own `sample` share of it. */
  items: readonly LabelledItem[];
  /** Seeds of the sample and of the cascade, one run of every strategy per seed. */
  seeds: number[];
  /** The order the sample streams in (stream-orders.ts). @defaultValue 'given' */
  order?: StreamOrder;
}

/** Every strategy at every budget for each seed, folded into one report. */
export async function runSeededBench(options: SeededBenchOptions): Promise<SeedSummaryReport> {
  const { items, seeds, order = 'given', ...rest } = options;
  const reports = [];
  for (const seed of seeds) {
    const config: Config = { ...options.config, cascade: { ...options.config.cascade, seed } };
    const stream = orderStream(sampleStream(items, options.sample, seed), order, seed);
    reports.push(await runCascadeBench({ ...rest, config, stream, seed }));
    options.logger.info({ seed }, 'bench seed done');
  }
  return summarizeSeeds(reports);
}
