/**
 * A backlog of repeated texts pays for each text once: copies decided while a text's call is on its way share
 * it (reason `shared`), later ones find its answer in the cache (reason `cache`). Through the embedded pipeline
 * (`spillway start`'s), the LLM over HTTP, counted where it answers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEmbedded } from '../../src/app/index.js';
import { createCascade } from '../../src/cascade/index.js';
import { createCache } from '../../src/cache/index.js';
import { loadTask } from '../../src/llm/index.js';
import type { JsonlEntry } from '../../src/stream/index.js';
import { AnnotationSink, readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { testConfig } from '../helpers/test-config.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const logger = pino({ level: 'silent' });
let server: ReplayServer;
let dir: string;

beforeAll(async () => {
  // A little latency, so that many copies are decided while their text's call is on its way.
  server = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, port: 0, latencyMs: 30 });
  dir = await mkdtemp(path.join(tmpdir(), 'spillway-repeated-'));
});

afterAll(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a backlog of 20 texts × 50 copies', () => {
  it('makes at most 20 LLM calls: copies share a call on its way or hit the cache', async () => {
    const texts = [...new Set(readLabelledStream(EMOTIONS).map((r) => r.text))].slice(0, 20);
    const config = testConfig({
      llm: { baseUrl: server.url, model: TEACHER },
      cascade: { llmBudget: 0.5 },
      models: { dir, saveEveryItems: 0, saveEveryMs: 0 },
      cache: { redisTier: false },
    });
    const cache = createCache(config, logger);
    const cascade = await createCascade({ task: loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json')), config, logger, cache, restore: false });
    const output = new AnnotationSink();
    const annotations = output.annotations;
    async function* backlog(): AsyncGenerator<JsonlEntry> {
      for (let i = 0; i < 1_000; i++) yield { line: i + 1, item: { id: `copy-${i}`, text: texts[i % texts.length] as string } };
    }
    await runEmbedded(cascade, backlog(), {
      output,
      rejectsPath: path.join(dir, 'rejects.jsonl'),
      logger,
      signal: new AbortController().signal,
      window: 2_000,
    });
    await cascade.close();
    await cache.close();
    expect(annotations).toHaveLength(1_000);
    expect(server.stats().answered).toBeLessThanOrEqual(texts.length);
    // Every copy got the LLM's answer to its text, paid once.
    expect(annotations.every((a) => a.answeredBy === 'llm')).toBe(true);
    const reasons = new Set(annotations.map((a) => a.reason));
    expect([...reasons].every((r) => ['warmup', 'deferred', 'exploration', 'shared', 'cache'].includes(r))).toBe(true);
    expect(annotations.filter((a) => a.reason === 'shared' || a.reason === 'cache').length).toBeGreaterThanOrEqual(1_000 - texts.length);
  });
});
