/**
 * Every budget figure is the same number. A cascade restored from a long run used to start at the
 * old run's share ("0 calls = 20.7 % of budget 20 %", no LLM call at all), and the budget gauge only moved with
 * the threshold, so the dashboard's budget card (99 %) and share card (35.7 %) disagreed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCascade, type Annotation } from '../../src/cascade/index.js';
import { loadTask, OpenAiTeacher } from '../../src/llm/index.js';
import { createMonitor, type Monitor, type Status } from '../../src/monitor/index.js';
import { readLabelledStream } from '../../tools/bench/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { parseMetrics, silentLogger } from './helpers.js';
import { testConfig } from '../helpers/test-config.js';

const TEACHER = 'gpt-3.5-turbo-1106';
const task = loadTask(EMOTIONS.replace(/\.jsonl$/, '.task.json'));
const rows = readLabelledStream(EMOTIONS);
let replay: ReplayServer;
let modelsDir: string;

beforeAll(async () => {
  replay = await startReplayServer({ dataset: EMOTIONS, teacher: TEACHER, task, logger: silentLogger });
  modelsDir = await mkdtemp(join(tmpdir(), 'spillway-budget-'));
});

afterAll(async () => {
  await replay?.close();
  await rm(modelsDir, { recursive: true, force: true });
});

async function runOnce(
  from: number,
  to: number,
): Promise<{ monitor: Monitor; url: string; annotations: Annotation[]; budget: { llmShare: number; calls: number; items: number } }> {
  const config = testConfig({
    cascade: { stages: ['lr'], warmupItems: 30, llmBudget: 0.2, featureDim: 4096 },
    models: { dir: modelsDir, saveEveryItems: 0, saveEveryMs: 0 },
  });
  const monitor = createMonitor({ config: config.monitor, logger: silentLogger, port: 'random', llmCostUnits: config.llm.costUnits, processMetrics: false });
  const url = (await monitor.start()).url as string;
  const teacher = new OpenAiTeacher({ task, baseUrl: replay.url, model: TEACHER, timeoutMs: 10_000, maxRetries: 2, retryBaseMs: 20, retryMaxMs: 200 });
  const cascade = await createCascade({
    task,
    teacher,
    config: { ...config, llm: { ...config.llm, concurrency: 1 } },
    logger: silentLogger,
    observer: monitor.observer,
  });
  const annotations: Annotation[] = [];
  for (const r of rows.slice(from, to)) annotations.push(await cascade.process({ id: r.id, text: r.text }));
  await cascade.close();
  return { monitor, url, annotations, budget: cascade.budgetStatus };
}

describe('budget figures after a restore', () => {
  it('count from the new run, and /status, /metrics and the LLM share agree', async () => {
    const first = await runOnce(0, 400);
    await first.monitor.close();
    const second = await runOnce(400, 600);
    try {
      // The restored cascade kept its models, not the previous run's spend.
      expect(second.budget.items).toBe(200);
      const calls = second.annotations.filter((a) => a.llmCalled).length;
      expect(calls).toBeGreaterThan(0);
      expect(second.budget.calls).toBe(calls);
      const status = (await (await fetch(`${second.url}/status`)).json()) as Status;
      const metrics = parseMetrics(await (await fetch(`${second.url}/metrics`)).text());
      const share = calls / 200;
      expect(status.budget.llmShare).toBeCloseTo(share, 10);
      expect(metrics.get('spillway_budget_llm_share')).toBeCloseTo(share, 10);
      // The dashboard's share card (LLM answers / items) shows the same figure: no cache, no failed call here.
      expect(status.windows.all.llm.share).toBeCloseTo(share, 10);
    } finally {
      await second.monitor.close();
    }
  });
});
