/**
 * `spillway replay-llm`'s implementation (loaded when the command runs): serves recorded LLM answers over an OpenAI-compatible API, for benchmarks and tests.
 * Prints the base URL (one line) on stdout once listening, so scripts can read it; logs go to stderr.
 */
import { startReplayServer } from '../replay/index.js';
import { createServiceContext } from '../../src/app/index.js';

/** The flags of `spillway replay-llm` (see tools/cli/replay-llm-command.ts). */
export interface ReplayLlmFlags {
  dataset: string;
  teacher: string;
  task?: string;
  port: number;
  host: string;
  latencyMs: number;
  errorRate: number;
  seed: number;
  latency?: { p50Ms: number; p99Ms: number };
  rpm?: number;
  tpm?: number;
}

/** Serves until SIGINT or SIGTERM; the base URL is printed on stdout once listening. */
export async function runReplayLlm(flags: ReplayLlmFlags): Promise<void> {
  const { logger } = createServiceContext();
  const [teacher = flags.teacher, ...teachers] = flags.teacher
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  const server = await startReplayServer({
    dataset: flags.dataset,
    teacher,
    ...(teachers.length === 0 ? {} : { teachers }),
    ...(flags.task === undefined ? {} : { task: flags.task }),
    port: flags.port,
    host: flags.host,
    latencyMs: flags.latencyMs,
    errorRate: flags.errorRate,
    seed: flags.seed,
    ...(flags.latency === undefined ? {} : { latency: flags.latency }),
    ...(flags.rpm === undefined ? {} : { rpm: flags.rpm }),
    ...(flags.tpm === undefined ? {} : { tpm: flags.tpm }),
    logger,
  });
  process.stdout.write(`${server.url}\n`);
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  logger.info({ signal, ...server.stats() }, 'replay LLM stopped');
  logger.flush();
}
