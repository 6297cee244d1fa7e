/**
 * `spillway bench`: the cascade against recorded LLM answers, at several budgets, with baselines. Only the
 * flags live here; the implementation (tools/cli/bench.ts) is imported when the command runs.
 */
import type { Command } from 'commander';
import { parseList, parseNumber } from '../../src/cli/index.js';
import type { Strategy } from '../bench/index.js';
import type { BenchFlags } from './bench.js';

/** The strategies `--strategies` accepts, in report order. */
export const STRATEGIES: readonly Strategy[] = ['learned', 'threshold', 'llm-only'];

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark the cascade on a labelled stream with recorded LLM answers (via the replay LLM server)')
    .requiredOption('--dataset <file>', 'JSONL stream with gold labels and recorded LLM answers')
    .option('--task <file>', 'task file (default: <dataset>.task.json)')
    .option('--teacher <model>', 'recorded LLM whose answers teach the cascade', 'gpt-3.5-turbo-1106')
    .option('--sample <share>', 'share of the stream to use, drawn at random with --seed (1 = the whole file, in file order)', parseNumber, 1)
    .option('--seed <n>', 'seed of the sample and of the cascade', parseNumber, 42)
    .option('--budgets <list>', 'LLM budgets (share of items), comma-separated', (v) => parseList(v).map(Number), [0.1, 0.3, 0.5])
    .option('--strategies <list>', `strategies to run: ${STRATEGIES.join(', ')}`, parseList, [...STRATEGIES])
    .option('--mu <weight>', 'μ, the cost weight of deferring (0: the budget alone decides)', parseNumber, 0)
    .option('--config <file>', 'config file (YAML or JSON) for the cascade settings')
    .option('--json', 'print one JSON object on stdout instead of a table')
    .action(async (flags: BenchFlags) => {
      const { runBench } = await import('./bench.js');
      await runBench(flags);
    });
}
