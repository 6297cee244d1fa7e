/**
 * `spillway bench`: the cascade against recorded LLM answers, at several budgets, with baselines, over one
 * or several paired seeds, the stream length unknown to the cascade (as in the service) by default, through
 * the pipeline the service runs and, beside it as the reference, one item at a time. Only
 * the flags live here; the implementation (tools/cli/bench.ts) is imported when the command runs.
 */
import type { Command } from 'commander';
import { parseList, parseNumber } from '../../src/cli/index.js';
import type { BenchFlags } from './bench.js';
import { datasetFile } from '../harness/index.js';

/** The built-in strategies (tools/bench/strategies.ts may register more), for the help text. */
export const STRATEGIES: readonly string[] = ['learned', 'threshold', 'llm-only'];

export function register(program: Command): void {
  program
    .command('bench')
    .description('benchmark the cascade on a labelled stream with recorded LLM answers (via the replay LLM server)')
    .requiredOption(
      '--dataset <file>',
      'JSONL stream with gold labels and recorded LLM answers; a bare name (isear) is looked up in SPILLWAY_DATASETS',
      datasetFile,
    )
    .option('--task <file>', 'task file (default: <dataset>.task.json)')
    .option('--teacher <model>', "recorded LLM whose answers teach the cascade (any key of the lines' `llm`)", 'gpt-3.5-turbo-1106')
    .option('--sample <share>', 'share of the stream to use, drawn at random with each seed (1 = the whole file, in file order)', parseNumber, 1)
    .option('--seed <n>', 'seed of the sample and of the cascade (one run; see --seeds)', parseNumber, 42)
    .option('--seeds <list>', 'paired seeds, comma-separated: mean and 95% interval over them (overrides --seed)', (v) => parseList(v).map(Number))
    .option('--horizon <mode>', 'unknown: the cascade is not told the stream length, as in the service; known: it is', 'unknown')
    .option('--budgets <list>', 'LLM budgets (share of items), comma-separated', (v) => parseList(v).map(Number), [0.1, 0.3, 0.5])
    .option('--strategies <list>', `strategies to run (default: every registered one: ${STRATEGIES.join(', ')}, …)`, parseList)
    .option('--tiers <models>', 'LLM tiers for the `tiered` strategy: recorded teachers, cheapest first, the last = --teacher', parseList)
    .option('--tier-costs <list>', 'cost units of one call to each of --tiers (e.g. 700,1000)', (v) => parseList(v).map(Number))
    .option('--objective <spec>', "the task's quality objective for this bench: accuracy, macro_f1 or recall:<label>>=<floor> (default: the task file's)")
    .option('--mu <weight>', 'μ, the cost weight of deferring (0: the budget alone decides)', parseNumber, 0)
    .option('--config <file>', 'config file (YAML or JSON) for the cascade settings')
    .option('--encoder <name>', "the mid stage's sentence vectors: glove, use-lite or e5-small (default: the config's cascade.sentenceEncoder)")
    .option(
      '--mode <list>',
      'paths to measure, comma-separated: service (the pipeline `spillway start` runs: in-flight window, scheduler, LLM over HTTP) and sequential (one item at a time: the reference)',
      parseList,
      ['service', 'sequential'],
    )
    .option('--llm-latency <p50,p99>', "service mode: the stand-in LLM's latency, median and 99th percentile, ms (default: it answers at once)", (v) =>
      parseList(v).map(Number),
    )
    .option('--llm-rpm <n>', "service mode: the stand-in LLM's requests per minute (HTTP 429 with Retry-After above it)", parseNumber)
    .option('--rate <items/s>', 'service mode: items per second the stream arrives at (default: a backlog, every item at once)', parseNumber)
    .option(
      '--quality <targets>',
      "service mode: quality targets instead of a budget, e.g. 'agreement>=0.9,recall:hate>=0.8'; each result gets a `quality` object judged window by window",
    )
    .option('--quality-delta <d>', 'with --quality: the allowed probability of a violated window', parseNumber, 0.05)
    .option('--quality-window <n>', 'with --quality: items per judged window', parseNumber, 1000)
    .option('--certify-once', 'with --quality: the certify-once baseline (thresholds fitted on the first window, then frozen)')
    .option(
      '--order <order>',
      'the order the sample streams in: given, shift (some labels held back to the second half) or drift (their share rising)',
      'given',
    )
    .option('--json', 'print one JSON object on stdout instead of a table')
    .action(async (flags: BenchFlags) => {
      const { runBench } = await import('./bench.js');
      await runBench(flags);
    });
}
