import { spawnCli } from './cli-process.js';
import { datasetFile } from './paths.js';
import { waitFor } from './wait-for.js';

/** A running replay LLM server (the real one, `spillway replay-llm`). */
export interface ReplayLlm {
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts `spillway replay-llm` on a free port for GPT-3.5's recorded answers of `dataset` (default: the
 * benchmarks' isear, see datasetFile); `args` add flags (e.g. `--latency 30,600`).
 */
export async function startReplayLlm(args: readonly string[] = [], dataset?: string): Promise<ReplayLlm> {
  const file = dataset ?? datasetFile('isear');
  const cli = spawnCli(['replay-llm', '--dataset', file, '--teacher', 'gpt-3.5-turbo-1106', '--port', '0', ...args]);
  await waitFor('the replay LLM to listen', () => /^http:\/\/\S+/m.test(cli.stdout()), 60_000);
  const url = (/^(http:\/\/\S+)/m.exec(cli.stdout()) ?? [])[1] ?? '';
  return {
    url: url.endsWith('/v1') ? url : `${url}/v1`,
    stop: async () => {
      cli.child.kill('SIGTERM');
      await cli.exited;
    },
  };
}
