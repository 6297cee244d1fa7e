import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';
import { LlmScheduler, OpenAiTeacher, type LlmSchedulerOptions, type Task, type Teacher } from '../../src/llm/index.js';
import { startReplayServer, type ReplayServer, type ReplayServerOptions } from '../../tools/replay/index.js';

import { EMOTIONS } from '../helpers/paths.js';

export { EMOTIONS, MODERATION, STREAMS_DIR, REPO_ROOT as repoRoot } from '../helpers/paths.js';
export const GPT = 'gpt-3.5-turbo-1106';
export const LLAMA = 'llama-2-70b-chat';

export interface Row {
  id: string;
  text: string;
  label: number;
  llm: Record<string, number>;
}

/** A stream's rows (test/fixtures/streams). */
export function readRows(file: string): Row[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Row);
}

/** The replay server and LLM scheduler of the current test (see {@link useReplayScheduler}). */
export interface ReplayScheduler {
  /**
   * Starts the replay server with GPT's recorded answers on the emotions stream and a client of it (10 s timeout,
   * `maxRetries` retries with a 1–5 ms backoff); the server is closed after the test.
   */
  start(replay: Partial<ReplayServerOptions>, maxRetries: number): Promise<{ server: ReplayServer; teacher: OpenAiTeacher }>;
  /** A scheduler over `teacher` (concurrency 1, deadline 30 s unless `options` say otherwise), closed after the test. */
  schedule(teacher: Teacher, options?: Partial<LlmSchedulerOptions>): LlmScheduler;
}

/** Registers the after-each teardown of the file's replay servers and schedulers; call at the top of a test file. */
export function useReplayScheduler(task: Task): ReplayScheduler {
  let server: ReplayServer | undefined;
  let scheduler: LlmScheduler | undefined;
  afterEach(async () => {
    scheduler?.close();
    scheduler = undefined;
    await server?.close();
    server = undefined;
  });
  return {
    async start(replay, maxRetries) {
      server = await startReplayServer({ dataset: EMOTIONS, teacher: GPT, task, ...replay });
      const teacher = new OpenAiTeacher({ task, baseUrl: server.url, model: GPT, timeoutMs: 10_000, maxRetries, retryBaseMs: 1, retryMaxMs: 5 });
      return { server, teacher };
    },
    schedule(teacher, options = {}) {
      scheduler = new LlmScheduler({ teacher, concurrency: 1, deadlineMs: 30_000, ...options });
      return scheduler;
    },
  };
}
