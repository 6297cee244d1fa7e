/**
 * `spillway bench-live`: the cascade at a real LLM's pace. Items arrive at --rate with seeded
 * bursts for --duration seconds; the LLM is the replay stand-in with lognormal latency and a request limit.
 * Reports, per setting (the FIFO baseline, each --batch size, an instant-LLM reference): throughput,
 * end-to-end latency, deadline misses, accuracy, LLM calls, tokens, dollars, peak RSS and the deferral score
 * of LLM- vs small-stage-answered items. Only the flags live here; tools/cli/bench-live.ts runs it.
 */
import type { Command } from 'commander';
import { parseInteger, parseList, parseNumber } from '../../src/cli/index.js';
import type { BenchLiveFlags } from './bench-live.js';
import { latencyPair } from './replay-llm-command.js';
import { datasetFile } from '../harness/index.js';

export function register(program: Command): void {
  program
    .command('bench-live')
    .description('benchmark the cascade against a slow, rate-limited stand-in LLM: throughput, latency, deadlines, accuracy, tokens, dollars')
    .requiredOption(
      '--dataset <file>',
      'JSONL stream with gold labels and recorded LLM answers; a bare name (isear) is looked up in SPILLWAY_DATASETS',
      datasetFile,
    )
    .option('--task <file>', 'task file (default: <dataset>.task.json)')
    .option('--teacher <model>', 'recorded LLM the stand-in replays', 'gpt-3.5-turbo-1106')
    .option('--rate <items/s>', 'mean arrival rate (bursts triple it 2 s in every 10 s)', parseNumber, 500)
    .option('--duration <s>', 'seconds of arrivals per setting', parseNumber, 15)
    .option('--latency <p50,p99>', "the stand-in's lognormal latency, ms", latencyPair, { p50Ms: 800, p99Ms: 5000 })
    .option('--rpm <n>', "the stand-in's requests per minute (429 + Retry-After above it); the scheduler is told the same", parseInteger, 600)
    .option('--tpm <n>', "the stand-in's tokens per minute; the scheduler is told the same", parseInteger)
    .option('--batch <list>', 'llm.batchSize values to run, comma-separated', (v) => parseList(v).map(Number), [1, 16])
    .option('--budget <share>', 'LLM budget', parseNumber, 0.2)
    .option('--deadline <ms>', 'llm.deadlineMs, the latency bound (default: the configuration’s, else 30000)', parseInteger)
    .option('--window <n>', 'pipeline.maxInFlight (default: the configuration’s)', parseInteger)
    .option('--stages <list>', 'small stages (default: the configuration’s, lr,mid)', parseList)
    .option('--price-in <dollars>', 'dollars per million prompt tokens', parseNumber, 0.5)
    .option('--price-out <dollars>', 'dollars per million completion tokens', parseNumber, 1.5)
    .option('--seed <n>', 'seed of the arrivals, the stand-in and the cascade', parseInteger, 42)
    .option('--no-baseline', 'skip the FIFO baseline')
    .option('--no-instant', 'skip the instant-LLM reference')
    .option('--config <file>', 'config file (YAML or JSON)')
    .option('--encoder <name>', "the mid stage's sentence vectors: glove, use-lite or e5-small (default: the config's cascade.sentenceEncoder)")
    .option('--json', 'print one JSON object on stdout instead of a table')
    .action(async (flags: BenchLiveFlags) => {
      const { runBenchLive } = await import('./bench-live.js');
      await runBenchLive(flags);
    });
}
