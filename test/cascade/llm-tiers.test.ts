/**
 * An LLM tier of its own (`llm.tiers`). The cheap tier (Llama-2-70B's recorded answers)
 * answers every LLM-bound item first; an item is escalated to the strong tier (GPT-3.5's) only when the cheap
 * answer disagrees with the small stages' (or names no label), and the strong answer is then the published one.
 * Both tiers are the replay server over HTTP, one server serving both recorded teachers by model name; the
 * cascade is wired from the configuration as `spillway run` wires it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { Registry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { createCascade } from '../../src/cascade/index.js';
import { parseConfig } from '../../src/config.js';
import { ConfigError } from '../../src/errors.js';
import { defaultTaskPath, loadTask } from '../../src/llm/index.js';
import { CascadeMetrics, SpillwayMetrics } from '../../src/monitor/index.js';
import { llmLabelOf, type Annotation } from '../../src/types.js';
import { startReplayServer } from '../../tools/replay/index.js';
import { GPT, EMOTIONS, LLAMA, readRows } from '../llm/helpers.js';
import { testConfig } from '../helpers/test-config.js';

const task = loadTask(defaultTaskPath(EMOTIONS));
const dir = mkdtempSync(path.join(tmpdir(), 'spillway-tiers-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const rows = readRows(EMOTIONS);
/** What the replay server answers for a text: its first recording (-1: an answer naming no label). */
const recorded = (model: string): Map<string, number> => {
  const byText = new Map<string, number>();
  for (const r of rows) if (!byText.has(r.text)) byText.set(r.text, r.llm[model] ?? -1);
  return byText;
};
const cheap = recorded(LLAMA);
const strong = recorded(GPT);

const CHEAP_UNITS = 70;
const STRONG_UNITS = 100;

describe('LLM tiers (llm.tiers)', () => {
  it('escalates exactly the items whose cheap answer disagrees with the small stages, and publishes the strong answer', async () => {
    const server = await startReplayServer({ dataset: EMOTIONS, task, teacher: LLAMA, teachers: [GPT] });
    const config = testConfig({
      llm: {
        baseUrl: server.url,
        maxRetries: 0,
        tiers: [
          { model: LLAMA, costUnits: CHEAP_UNITS },
          { model: GPT, costUnits: STRONG_UNITS },
        ],
      },
      cascade: { stages: ['lr'], llmBudget: 0.5, seed: 5 },
      models: { dir, saveEveryItems: 0, saveEveryMs: 0 },
    });
    const logger = pino({ level: 'silent' });
    const registry = new Registry();
    const observer = new CascadeMetrics({ metrics: new SpillwayMetrics(registry), logger });
    const cascade = await createCascade({ task, config, logger, restore: false, observer });
    const teacher = cascade.teacher;
    const annotations: Annotation[] = [];
    try {
      // The start-up check probes both tiers.
      await teacher?.probe?.();
      expect(teacher?.model).toBe(`${LLAMA}>${GPT}`);
      for (const r of rows.slice(0, 400)) annotations.push(await cascade.process({ id: r.id, text: r.text }));
    } finally {
      await cascade.close();
      await server.close();
    }
    const textOf = new Map(rows.map((r) => [r.id, r.text]));
    let agreed = 0;
    let escalated = 0;
    let smallCost = 0;
    for (const a of annotations) {
      const small = a.stages.filter((s) => s.stage !== 'llm');
      smallCost += small.length; // the LR costs 1
      if (!a.llmCalled) {
        expect(a.llmTier).toBeUndefined();
        expect(a.costUnits).toBe(small.length);
        continue;
      }
      const smallLabel = (small[small.length - 1] as { labelId: number }).labelId;
      const c = cheap.get(textOf.get(a.id) as string) as number;
      const s = strong.get(textOf.get(a.id) as string) as number;
      if (c >= 0 && c === smallLabel) {
        // Agreement: the cheap answer is final; the strong tier is not asked.
        agreed++;
        expect(a).toMatchObject({ answeredBy: 'llm', labelId: c, llmTier: 0, costUnits: small.length + CHEAP_UNITS });
      } else {
        escalated++;
        expect(a.costUnits).toBe(small.length + CHEAP_UNITS + STRONG_UNITS);
        if (s >= 0) expect(a).toMatchObject({ answeredBy: 'llm', labelId: s, llmTier: 1 });
        else if (c >= 0) expect(a).toMatchObject({ answeredBy: 'llm', labelId: c, llmTier: 0 });
        else expect(a).toMatchObject({ answeredBy: small[small.length - 1]?.stage, llmUnparseable: true });
        // The label published with the annotation (the one shared learning trains on) is the final answer.
        if (s >= 0) expect(llmLabelOf(a)).toBe(s);
      }
    }
    // Both paths were exercised, and the server saw exactly these calls per model.
    expect(agreed).toBeGreaterThan(20);
    expect(escalated).toBeGreaterThan(20);
    const byModel = server.stats().answeredByModel;
    expect(byModel[LLAMA]).toBe(agreed + escalated);
    expect(byModel[GPT]).toBe(escalated);
    expect(cascade.counters.tierCalls).toEqual([agreed + escalated, escalated]);
    expect(cascade.counters.escalations).toBe(escalated);
    // The monitor counts calls per tier.
    const metricsText = await registry.metrics();
    expect(metricsText).toContain(`spillway_llm_tier_calls_total{tier="0",model="${LLAMA}"} ${agreed + escalated}`);
    expect(metricsText).toContain(`spillway_llm_tier_calls_total{tier="1",model="${GPT}"} ${escalated}`);
    // Cost units: the small stages plus each tier's units per call it answered.
    const total = annotations.reduce((n, a) => n + a.costUnits, 0);
    expect(total).toBe(smallCost + CHEAP_UNITS * (byModel[LLAMA] as number) + STRONG_UNITS * (byModel[GPT] as number));
  });

  it('rejects tiers that are not a list of at least two endpoints with their costs', () => {
    const bad = (tiers: unknown, baseUrl?: string): ConfigError => {
      try {
        parseConfig({ llm: { ...(baseUrl === undefined ? {} : { baseUrl }), tiers } });
      } catch (err: unknown) {
        if (err instanceof ConfigError) return err;
        throw err;
      }
      throw new Error('accepted');
    };
    expect(bad([{ model: 'a', costUnits: 1 }], 'http://127.0.0.1:1/v1').issues[0]?.key).toBe('llm.tiers');
    expect(bad([{ model: 'a' }, { model: 'b', costUnits: 10 }], 'http://127.0.0.1:1/v1').issues[0]?.key).toBe('llm.tiers.0.costUnits');
    expect(
      bad(
        [
          { model: 'a', costUnits: 1, cost: 2 },
          { model: 'b', costUnits: 10 },
        ],
        'http://127.0.0.1:1/v1',
      ).issues[0],
    ).toMatchObject({
      key: 'llm.tiers.0.cost',
      message: expect.stringContaining('unknown key') as unknown,
    });
    const noEndpoint = bad([
      { model: 'a', costUnits: 1 },
      { model: 'b', costUnits: 10, baseUrl: 'http://127.0.0.1:2/v1' },
    ]);
    expect(noEndpoint.issues.map((i) => i.key)).toEqual(['llm.tiers.0.baseUrl']);
  });
});
