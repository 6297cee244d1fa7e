import path from 'node:path';
import { spawnCli } from './cli-process.js';
import { DATASETS_DIR } from './paths.js';
import { waitFor } from './wait-for.js';

/** A running replay LLM server (the real one, `spillway replay-llm`). */
export interface ReplayLlm {
  url: string;
  stop(): Promise<void>;
}

/** Starts `spillway replay-llm` on a free port for the ISEAR recorded answers; `args` add flags (e.g. `--latency 30,600`). */
export async function startReplayLlm(args: readonly string[] = []): Promise<ReplayLlm> {
  const cli = spawnCli(['replay-llm', '--dataset', path.join(DATASETS_DIR, 'isear.jsonl'), '--teacher', 'gpt-3.5-turbo-1106', '--port', '0', ...args]);
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
