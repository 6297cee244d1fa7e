/**
 * `spillway replay-llm`: serves recorded LLM answers over an OpenAI-compatible API, for benchmarks and tests.
 * Only the flags live here; the implementation (tools/cli/replay-llm.ts) is imported when the command runs.
 */
import { InvalidArgumentError, type Command } from 'commander';
import type { ReplayLlmFlags } from './replay-llm.js';
import { datasetFile } from '../harness/index.js';

/** Port used when --port is not given. 0 asks the OS for a free one. */
export const DEFAULT_REPLAY_PORT = 8088;

function integer(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected an integer in [${min}, ${max}]`);
    return n;
  };
}

function share(raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new InvalidArgumentError('expected a number in [0, 1]');
  return n;
}

/** `800,5000` → { p50Ms: 800, p99Ms: 5000 }. */
export function latencyPair(raw: string): { p50Ms: number; p99Ms: number } {
  const parts = raw.split(',').map((p) => Number(p.trim()));
  const [p50Ms, p99Ms] = parts;
  if (parts.length !== 2 || p50Ms === undefined || p99Ms === undefined || !(p50Ms > 0) || !(p99Ms >= p50Ms)) {
    throw new InvalidArgumentError('expected P50,P99 in ms with 0 < P50 ≤ P99, e.g. 800,5000');
  }
  return { p50Ms, p99Ms };
}

export function register(program: Command): void {
  program
    .command('replay-llm')
    .description('Serve recorded LLM answers of a dataset over an OpenAI-compatible API (POST /v1/chat/completions, GET /v1/models).')
    .requiredOption(
      '--dataset <file>',
      'JSONL dataset with recorded answers in llm.<model>; a bare name (isear) is looked up in SPILLWAY_DATASETS',
      datasetFile,
    )
    .requiredOption(
      '--teacher <model>',
      'recorded model(s) to replay, comma-separated (e.g. gpt-3.5-turbo-1106, or two for LLM tiers); requests must name one of them',
    )
    .option('--task <file>', 'task file (labels + prompt); default: <dataset>.task.json beside the dataset')
    .option('--port <port>', 'TCP port, 0 for a free one', integer(0, 65535), DEFAULT_REPLAY_PORT)
    .option('--host <host>', 'interface to bind', '127.0.0.1')
    .option('--latency-ms <ms>', 'delay added to every answer, ms', integer(0, 600_000), 0)
    .option(
      '--latency <p50,p99>',
      'lognormal latency of every answer from its median and 99th percentile, ms (e.g. 800,5000); overrides --latency-ms',
      latencyPair,
    )
    .option('--rpm <n>', 'requests per minute; above it: HTTP 429 with Retry-After', integer(1, 10_000_000))
    .option('--tpm <n>', 'tokens per minute (approximated: chars/4 + 4 per message); above it: HTTP 429 with Retry-After', integer(1, 1_000_000_000))
    .option('--error-rate <share>', 'share of requests answered with HTTP 500, in [0, 1]', share, 0)
    .option('--seed <n>', 'seed of the error injection', integer(-(2 ** 31), 2 ** 31 - 1), 42)
    .action(async (flags: ReplayLlmFlags) => {
      const { runReplayLlm } = await import('./replay-llm.js');
      await runReplayLlm(flags);
    });
}
