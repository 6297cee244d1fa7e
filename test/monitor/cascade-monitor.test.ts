/**
 * The monitor attached to the real cascade on a known stream (the first 600 items of the moderation stream, the
 * LLM replayed over HTTP from its recorded answers): /metrics and /status say exactly what the cascade did,
 * as counted independently from the annotations it returned.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCascade, type Annotation } from '../../src/cascade/index.js';
import { loadTask, OpenAiTeacher } from '../../src/llm/index.js';
import { createMonitor, type Monitor, type Status } from '../../src/monitor/index.js';
import { startReplayServer, type ReplayServer } from '../../tools/replay/index.js';
import { STREAMS_DIR } from '../helpers/paths.js';
import { parseMetrics, silentLogger } from './helpers.js';
import { testConfig } from '../helpers/test-config.js';

const datasets = STREAMS_DIR;
const ITEMS = 600;
const TEACHER = 'gpt-3.5-turbo-1106';

let replay: ReplayServer;
let monitor: Monitor;
let url: string;
let annotations: Annotation[];
let counters: { items: number; llmCalls: number; answeredBy: Record<string, number>; deferredBy: Record<string, number> };

beforeAll(async () => {
  const task = loadTask(resolve(datasets, 'moderation.task.json'));
  replay = await startReplayServer({ dataset: resolve(datasets, 'moderation.jsonl'), teacher: TEACHER, task, logger: silentLogger });
  const config = testConfig({
    cascade: { stages: ['lr'], auditRate: 0.1, warmupItems: 50, horizonItems: ITEMS, llmBudget: 0.3 },
    models: { dir: '/nonexistent-spillway-models' },
  });
  monitor = createMonitor({ config: config.monitor, logger: silentLogger, port: 'random', llmCostUnits: config.llm.costUnits, processMetrics: false });
  url = (await monitor.start()).url!;
  const teacher = new OpenAiTeacher({ task, baseUrl: replay.url, model: TEACHER, timeoutMs: 10_000, maxRetries: 2, retryBaseMs: 20, retryMaxMs: 200 });
  const cascade = await createCascade({
    task,
    teacher,
    config,
    restore: false,
    logger: silentLogger,
    observer: monitor.observer,
  });
  const lines = readFileSync(resolve(datasets, 'moderation.jsonl'), 'utf8').split('\n').slice(0, ITEMS);
  annotations = await Promise.all(lines.map((line, i) => cascade.process({ id: String(i), text: (JSON.parse(line) as { text: string }).text })));
  await cascade.drain();
  counters = cascade.counters;
});

afterAll(async () => {
  await monitor?.close();
  await replay?.close();
});

describe('the monitor on the real cascade', () => {
  it('exports the counts the cascade itself keeps', async () => {
    const m = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    expect(counters.items).toBe(ITEMS);
    for (const stage of ['lr', 'llm'] as const) expect([stage, m.get(`spillway_answers_total{stage="${stage}"}`)]).toEqual([stage, counters.answeredBy[stage]]);
    expect(m.get('spillway_items_total{outcome="deferred",stage="lr"}')).toBe(counters.deferredBy.lr);
    const calls = ['ok', 'unparseable', 'audit'].reduce((sum, o) => sum + (m.get(`spillway_llm_calls_total{outcome="${o}"}`) ?? 0), 0);
    expect(calls).toBe(counters.llmCalls);
    expect(counters.llmCalls).toBeGreaterThan(50);
  });

  it('matches cost, audits and agreement recounted from the annotations', async () => {
    const m = parseMetrics(await (await fetch(`${url}/metrics`)).text());
    const spent = annotations.reduce((sum, a) => sum + a.costUnits, 0);
    expect(m.get('spillway_cost_units_total')).toBeCloseTo(spent, 6);
    expect(m.get('spillway_llm_only_cost_units_total')).toBe(ITEMS * 1000);
    const audits = annotations.filter((a) => a.audited).length;
    expect(m.get('spillway_llm_calls_total{outcome="audit"}')).toBe(audits);
    // Overall agreement: every item where lr and the LLM both gave a label.
    let agree = 0;
    let n = 0;
    for (const a of annotations) {
      const lr = a.stages.find((s) => s.stage === 'lr');
      const llm = a.stages.find((s) => s.stage === 'llm');
      if (lr === undefined || llm === undefined || llm.labelId < 0) continue;
      n++;
      if (lr.labelId === llm.labelId) agree++;
    }
    expect(n).toBeGreaterThan(50);
    expect(m.get('spillway_agreement_checks_total{kind="overall",outcome="agree",stage="lr"}')).toBe(agree);
    expect(m.get('spillway_agreement_checks_total{kind="overall",outcome="disagree",stage="lr"}')).toBe(n - agree);

    const status = (await (await fetch(`${url}/status`)).json()) as Status;
    const all = status.windows.all;
    expect(all.items).toBe(ITEMS);
    expect(all.stages.lr?.deferralRate).toBeCloseTo(counters.deferredBy.lr! / ITEMS, 12);
    expect(all.llm.calls).toBe(counters.llmCalls);
    expect(all.cost.savedRatio).toBeCloseTo((ITEMS * 1000 - spent) / (ITEMS * 1000), 9);
    expect(all.stages.lr?.agreement.overall).toMatchObject({ agree, n });
    expect(status.models.lr).toBeGreaterThan(0);
  });
});
