/** `spillway run` as a child process for the end-to-end tests: the real cascade behind the replay LLM server. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DATASETS_DIR, spawnCli, waitFor, writeConfig, type CliProcess, type TestTopics } from './helpers.js';

/** A running replay LLM server (the real one, `spillway replay-llm`). */
export interface ReplayLlm {
  url: string;
  stop(): Promise<void>;
}

/** Starts `spillway replay-llm` on a free port for the ISEAR recorded answers. */
export async function startReplayLlm(): Promise<ReplayLlm> {
  const cli = spawnCli(['replay-llm', '--dataset', path.join(DATASETS_DIR, 'isear.jsonl'), '--teacher', 'gpt-3.5-turbo-1106', '--port', '0']);
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

/** Writes the config of a worker on `topics` (models saved under a fresh temp dir). */
export function workerConfig(topics: TestTopics, llmUrl: string, kafka: Record<string, unknown> = {}): string {
  return writeConfig({
    logLevel: 'info',
    task: path.join(DATASETS_DIR, 'isear.task.json'),
    llm: { baseUrl: llmUrl, concurrency: 16 },
    cascade: { llmBudget: 0.1, warmupItems: 50 },
    models: { dir: mkdtempSync(path.join(tmpdir(), 'spillway-models-')), backend: 'cpu' },
    monitor: { httpPort: 0 },
    kafka: { groupId: topics.groupId, topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter }, shutdownTimeoutMs: 10_000, ...kafka },
  });
}

/** Starts `spillway run` with this config as worker number `instance`. */
export function spawnWorker(configFile: string, instance: number, env: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnCli(['run', '--config', configFile, '--instance', String(instance)], env);
}
