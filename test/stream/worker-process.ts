/** `spillway run` as a child process for the end-to-end tests: the real cascade behind the replay LLM server. */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import { STREAMS_DIR, spawnCli, writeConfig, type CliProcess, type TestTopics } from './helpers.js';

export { startReplayLlm, type ReplayLlm } from '../../tools/harness/index.js';

/** Config sections that replace or add keys of {@link workerConfig}'s defaults, section by section. */
export interface WorkerConfigOverrides {
  llm?: Record<string, unknown>;
  cascade?: Record<string, unknown>;
  pipeline?: Record<string, unknown>;
  kafka?: Record<string, unknown>;
  sharedLearning?: Record<string, unknown>;
}

/** Writes the config of a worker on `topics` (models saved under a fresh temp dir). */
export function workerConfig(topics: TestTopics, llmUrl: string, overrides: WorkerConfigOverrides = {}): string {
  return writeConfig({
    logLevel: 'info',
    task: path.join(STREAMS_DIR, 'emotions.task.json'),
    llm: { baseUrl: llmUrl, concurrency: 16, ...overrides.llm },
    cascade: { llmBudget: 0.1, warmupItems: 50, ...overrides.cascade },
    ...(overrides.pipeline === undefined ? {} : { pipeline: overrides.pipeline }),
    ...(overrides.sharedLearning === undefined ? {} : { sharedLearning: overrides.sharedLearning }),
    models: { dir: mkdtempSync(path.join(tmpdir(), 'spillway-models-')), backend: 'cpu' },
    monitor: { httpPort: 0 },
    kafka: {
      groupId: topics.groupId,
      topics: { input: topics.input, output: topics.output, deadLetter: topics.deadLetter, labels: topics.labels, models: topics.models },
      shutdownTimeoutMs: 10_000,
      ...overrides.kafka,
    },
  });
}

/** Starts `spillway run` with this config as worker number `instance`. */
export function spawnWorker(configFile: string, instance: number, env: NodeJS.ProcessEnv = {}): CliProcess {
  return spawnCli(['run', '--config', configFile, '--instance', String(instance)], env);
}

/** Writes the first `n` EMOTIONS lines as items.jsonl beside the config file; returns its path and the items' ids. */
export function writeStreamHead(configFile: string, n: number): { file: string; ids: string[] } {
  const file = path.join(path.dirname(configFile), 'items.jsonl');
  const lines = readFileSync(path.join(STREAMS_DIR, 'emotions.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(0, n);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return { file, ids: lines.map((l) => (JSON.parse(l) as { id: string }).id) };
}

/** Every input id has exactly one annotation: none twice, none missing, no other. */
export function expectExactlyOnce(annotationIds: string[], inputIds: string[]): void {
  const counts = new Map<string, number>();
  for (const id of annotationIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
  expect(inputIds.filter((id) => !counts.has(id))).toEqual([]);
  expect(annotationIds.length).toBe(inputIds.length);
}
