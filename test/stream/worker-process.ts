/** `spillway run` as a child process for the end-to-end tests: the real cascade behind the replay LLM server. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DATASETS_DIR, spawnCli, writeConfig, type CliProcess, type TestTopics } from './helpers.js';

export { startReplayLlm, type ReplayLlm } from '../../tools/harness/index.js';

/** Writes the config of a worker on `topics` (models saved under a fresh temp dir). */
export function workerConfig(topics: TestTopics, llmUrl: string, kafka: Record<string, unknown> = {}): string {
  return writeConfig({
    logLevel: 'info',
    task: path.join(DATASETS_DIR, 'isear.task.json'),
    llm: { baseUrl: llmUrl, concurrency: 16 },
    cascade: { llmBudget: 0.1, warmupItems: 50 },
    models: { dir: mkdtempSync(path.join(tmpdir(), 'spillway-models-')), backend: 'cpu' },
    monitor: { httpPort: 0 },
    kafka: {
      groupId: topics.groupId,
      topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter, labels: topics.labels, models: topics.models },
      shutdownTimeoutMs: 10_000,
      ...kafka,
    },
  });
}

/** Starts `spillway run` with this config as worker number `instance`. */
export function spawnWorker(configFile: string, instance: number, env: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnCli(['run', '--config', configFile, '--instance', String(instance)], env);
}
