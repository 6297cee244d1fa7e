/**
 * Tokens and dollars add up (issue #8): over a known stream, the tokens the cascade counts per item (a batch
 * request's usage split across its items) equal what the replay endpoint served, and /metrics and /status
 * price them at the configured rates.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createCascade, type Cascade } from '../../src/cascade/index.js';
import { DEFAULTS, parseConfig } from '../../src/config.js';
import { OpenAiTeacher, defaultTaskPath, loadTask } from '../../src/llm/index.js';
import { createMonitor } from '../../src/monitor/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { GPT, isearPath, readRows } from '../llm/helpers.js';

const task = loadTask(defaultTaskPath(isearPath));
const rows = readRows(isearPath);
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
});

describe.each([1, 8])('with llm.batchSize %i', (batchSize) => {
  it('counts every token the endpoint served, and prices them', async () => {
    server = await startReplayServer({ dataset: isearPath, teacher: GPT, task, latencyMs: 5 });
    const monitor = createMonitor({
      config: { httpPort: 0, httpHost: '127.0.0.1' },
      logger,
      pricePerMillionInputTokens: 0.5,
      pricePerMillionOutputTokens: 1.5,
      processMetrics: false,
    });
    const teacher = new OpenAiTeacher({ task, baseUrl: server.url, model: GPT, timeoutMs: 10_000, maxRetries: 2, retryBaseMs: 1, retryMaxMs: 5 });
    const config = parseConfig({ cascade: { stages: ['lr'], pretrainedVectors: false, warmupItems: 50, llmBudget: 0.3 } });
    dir = mkdtempSync(path.join(tmpdir(), 'spillway-tokens-'));
    cascade = await createCascade({
      task,
      teacher,
      config: config.cascade,
      llm: { concurrency: 2, costUnits: 1000, batchSize },
      models: { ...DEFAULTS.models, dir },
      logger,
      restore: false,
      observer: monitor.observer,
    });
    const c = cascade;
    // Distinct texts, so that no answer is shared between items (single-flight) and every call is counted once.
    const seen = new Set<string>();
    const stream = rows.filter((r) => !seen.has(r.text) && seen.add(r.text)).slice(0, 400);
    await Promise.all(stream.map((r) => c.process({ id: r.id, text: r.text })));
    await c.close();
    cascade = undefined;
    const served = server.stats();
    expect(served.promptTokens).toBeGreaterThan(0);
    if (batchSize > 1) expect(served.batchRequests).toBeGreaterThan(0);
    expect(c.counters.promptTokens).toBeCloseTo(served.promptTokens, 6);
    expect(c.counters.completionTokens).toBeCloseTo(served.completionTokens, 6);
    const dollars = (served.promptTokens * 0.5 + served.completionTokens * 1.5) / 1e6;
    const status = monitor.status();
    expect(status.windows.all.llm.promptTokens).toBeCloseTo(served.promptTokens, 6);
    expect(status.windows.all.llm.dollars).toBeCloseTo(dollars, 9);
    const text = await monitor.metrics.text();
    const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(metric('spillway_llm_cost_dollars_total')).toBeCloseTo(dollars, 9);
    expect(metric('spillway_llm_tokens_total\\{kind="prompt"\\}')).toBeCloseTo(served.promptTokens, 6);
    await monitor.close();
  });
});
