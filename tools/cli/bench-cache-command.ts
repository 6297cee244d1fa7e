/**
 * `spillway bench-cache --dataset F`: the cache benchmark. Only the flags live here; the
 * implementation (tools/cli/bench-cache.ts) is imported when the command runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { CachePolicyName } from '../../src/cache/index.js';
import type { BenchCacheFlags } from './bench-cache.js';
import { datasetFile } from '../harness/index.js';

function numberList(min: number): (raw: string) => number[] {
  return (raw) => {
    const values = raw.split(',').map((s) => Number(s.trim()));
    if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v < min)) throw new InvalidArgumentError(`expected numbers ≥ ${min}, comma-separated`);
    return values;
  };
}

function policyList(raw: string): CachePolicyName[] {
  const values = raw.split(',').map((s) => s.trim());
  if (values.some((v) => v !== 'lru' && v !== 'gdsf' && v !== 'lec')) throw new InvalidArgumentError('expected lru, gdsf and/or lec');
  return values as CachePolicyName[];
}

function integer(raw: string): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected an integer ≥ 1');
  return n;
}

export function register(program: Command): void {
  program
    .command('bench-cache')
    .description('Benchmark the answer cache: Zipf-repeated streams through the cascade with no cache, LRU, GDSF and LEC.')
    .requiredOption(
      '--dataset <file>',
      'JSONL dataset with gold labels and recorded LLM answers; a bare name (isear) is looked up in SPILLWAY_DATASETS',
      datasetFile,
    )
    .option('--config <file>', 'base configuration file (YAML or JSON)')
    .option('--teacher <model>', 'recorded LLM to replay; default llm.model')
    .option('--alphas <list>', 'Zipf skews', numberList(0), [0.6, 0.8, 1.0, 1.2])
    .option('--cost-ratios <list>', 'LLM cost relative to the mid model', numberList(1), [10, 100])
    .option('--cache-sizes <list>', 'cache capacities, entries', numberList(1), [25, 100, 250])
    .option('--policies <list>', 'eviction policies', policyList, ['lru', 'gdsf', 'lec'] as CachePolicyName[])
    .option('--multiplexer <mode>', 'both, on or off', 'both')
    .option('--items <n>', 'items per stream', integer, 2000)
    .option('--seed <n>', 'seed of the streams', integer, 42)
    .option('--repeats <n>', 'streams per configuration (seeds seed, seed+1, …); figures are their means', integer, 1)
    .option('--json', 'print one JSON object instead of a table')
    .action(async (flags: BenchCacheFlags) => {
      const { runBenchCache } = await import('./bench-cache.js');
      await runBenchCache(flags);
    });
}
