/**
 * Helpers of the cascade tests that talk to an LLM over HTTP: a fresh cascade (LR stage only, nothing
 * restored) behind the replay server with GPT-3.5's recorded answers on the emotions stream, closed after each test with its
 * server and its models folder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach } from 'vitest';
import { createCascade, type Cascade, type CreateCascadeOptions } from '../../src/cascade/index.js';
import type { LlmConfig } from '../../src/config.js';
import { OpenAiTeacher, defaultTaskPath, loadTask } from '../../src/llm/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { GPT, EMOTIONS } from '../llm/helpers.js';
import { cascadeSections, PLAIN_LLM } from '../helpers/cascade-sections.js';

/** The emotions task the replay cascades answer. */
export const emotionsTask = loadTask(defaultTaskPath(EMOTIONS));

/** What differs between the replay cascades of the tests. */
export interface ReplayCascadeOptions {
  /** Latency the replay server adds to every answer, ms. */
  latencyMs: number;
  /** `cascade` config keys on top of `stages: ['lr']` and `pretrainedVectors: false`. */
  cascade: Record<string, unknown>;
  /** `llm` config keys: how the cascade asks the LLM (a fixed concurrency, no hedged requests, failures fall back, nothing held while cold, unless given). */
  llm: Partial<LlmConfig> & { concurrency: number };
  /** Chat completions, by number from 1, that take this many ms instead of `latencyMs`. */
  delayAt?: Readonly<Record<number, number>>;
  /** The LLM client's timeout, ms (2 retries, 1–5 ms backoff). @defaultValue 20000 */
  teacherTimeoutMs?: number;
  /** Prefix of the temp models folder. */
  dirPrefix: string;
  observer?: CreateCascadeOptions['observer'];
  /** false: the stages learn only from labels handed to them (shared learning's label topic). @defaultValue true */
  learnInline?: boolean;
}

/** The replay cascade of the current test (see {@link useReplayCascades}). */
export interface ReplayCascades {
  /** Starts the replay server and builds the cascade; both are closed after the test. */
  build(options: ReplayCascadeOptions): Promise<Cascade>;
  /** The current test's replay server (after {@link build}). */
  server(): ReplayServer;
  /** Closes the current test's cascade now (it waits for the late LLM answers); the test's end then skips it. */
  close(): Promise<void>;
}

/** Registers the after-each teardown of the file's replay cascades; call at the top of a test file. */
export function useReplayCascades(): ReplayCascades {
  const logger = pino({ level: 'silent' });
  let server: ReplayServer | undefined;
  let cascade: Cascade | undefined;
  let dir: string | undefined;
  afterEach(async () => {
    await cascade?.close();
    cascade = undefined;
    await server?.close();
    server = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });
  return {
    async build(o) {
      const task = emotionsTask;
      server = await startReplayServer({
        dataset: EMOTIONS,
        teacher: GPT,
        task,
        latencyMs: o.latencyMs,
        ...(o.delayAt === undefined ? {} : { delayAt: o.delayAt }),
      });
      const teacher = new OpenAiTeacher({
        task,
        baseUrl: server.url,
        model: GPT,
        timeoutMs: o.teacherTimeoutMs ?? 20_000,
        maxRetries: 2,
        retryBaseMs: 1,
        retryMaxMs: 5,
      });
      dir = mkdtempSync(path.join(tmpdir(), o.dirPrefix));
      cascade = await createCascade({
        task,
        teacher,
        config: cascadeSections({
          cascade: { stages: ['lr'], pretrainedVectors: false, ...o.cascade },
          // Exact call counts: no request is sent twice unless the test asks for hedges.
          llm: { ...PLAIN_LLM, minConcurrency: o.llm.concurrency, maxConcurrency: o.llm.concurrency, hedgeShare: 0, ...o.llm },
          models: { dir },
        }),
        logger,
        restore: false,
        ...(o.observer === undefined ? {} : { observer: o.observer }),
        ...(o.learnInline === undefined ? {} : { learnInline: o.learnInline, labelsShared: !o.learnInline }),
      });
      return cascade;
    },
    server() {
      if (server === undefined) throw new Error('no replay cascade built in this test');
      return server;
    },
    async close() {
      const c = cascade;
      cascade = undefined;
      await c?.close();
    },
  };
}
