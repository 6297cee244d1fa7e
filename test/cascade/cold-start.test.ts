/**
 * A safe cold start: a small stage answers only once it has earned it (enough LLM labels, and its
 * agreement with the LLM above a floor); before that its items go to the LLM within the warm-up allowance,
 * and beyond it they are published flagged `cold`, never as confident answers (or, with the cold gate, held
 * until the stage warms). The LLM is the replay server
 * over HTTP with GPT-3.5's recorded answers on the emotions stream.
 */
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Annotation, Cascade, CascadeObserver } from '../../src/cascade/index.js';
import { CascadeMetrics, SpillwayMetrics } from '../../src/monitor/index.js';
import { EMOTIONS, readRows } from '../llm/helpers.js';
import { useReplayCascades } from './helpers.js';

const rows = readRows(EMOTIONS);
const MIN_LABELS = 40;
const cascades = useReplayCascades();

/**
 * `coldWaitMs` 0 (the default here): nothing held, items beyond the allowance go out flagged at once;
 * `labelLagMin`: labels that may be on their way when an item is decided (a huge lag sets learning's pace aside).
 */
function build(
  latencyMs: number,
  concurrency: number,
  budget: number,
  {
    coldWaitMs = 0,
    observer,
    learnInline = true,
    labelLagMin = 4,
  }: { coldWaitMs?: number; observer?: CascadeObserver; learnInline?: boolean; labelLagMin?: number } = {},
): Promise<Cascade> {
  return cascades.build({
    latencyMs,
    learnInline,
    ...(observer === undefined ? {} : { observer }),
    llm: { concurrency, deadlineMs: 60_000, coldWaitMs },
    // A low agreement floor: the LR alone agrees with GPT-3.5 on ~25 % of the items after 100 labels, and
    // these cases are about the label minimum and the allowance.
    cascade: { warmupItems: 0, llmBudget: budget, warmMinLabels: MIN_LABELS, warmAgreementFloor: 0.05, labelLagMin },
    dirPrefix: 'spillway-cold-',
  });
}

describe('a fresh cascade', () => {
  it('publishes no confident answer from a stage before it has trained on enough labels', async () => {
    const c = await build(0, 1, 0.2);
    const stage = c.parts.stages[0];
    const seen: Array<{ a: Annotation; labels: number }> = [];
    for (const r of rows.slice(0, 600)) {
      const labels = stage?.labels ?? 0;
      seen.push({ a: await c.process({ id: r.id, text: r.text }), labels });
    }
    const small = seen.filter((s) => s.a.answeredBy === 'lr');
    expect(small.length).toBeGreaterThan(100);
    // Every confident small-stage answer came from a stage that had trained on the minimum before the item.
    const confident = small.filter((s) => s.a.reason === 'confident' || s.a.reason === 'budget');
    expect(confident.length).toBeGreaterThan(0);
    expect(confident.every((s) => s.labels >= MIN_LABELS)).toBe(true);
    // The untrained stage's items went to the LLM (the warm-up allowance) rather than being answered.
    const early = seen.filter((s) => s.labels < MIN_LABELS);
    expect(early.length).toBeGreaterThan(0);
    expect(early.every((s) => s.a.answeredBy === 'llm' || s.a.reason === 'cold')).toBe(true);
  });

  it('flags items beyond the warm-up allowance `cold`, with a capped confidence, when nothing waits for the LLM', async () => {
    // A slow LLM, many items at once, learning's pace set aside and nothing held: most items are answered
    // before any label comes back.
    const c = await build(400, 4, 0.1, { labelLagMin: 100_000 });
    const annotations = await Promise.all(rows.slice(0, 400).map((r) => c.process({ id: r.id, text: r.text })));
    const cold = annotations.filter((a) => a.reason === 'cold');
    expect(cold.length).toBeGreaterThan(100);
    expect(cold.every((a) => a.answeredBy === 'lr' && a.confidence < 0.5)).toBe(true);
    // Nothing an untrained stage said went out as a confident answer.
    const confident = annotations.filter((a) => a.answeredBy === 'lr' && a.reason === 'confident');
    expect(confident.every((a) => (a.modelVersions.lr ?? 0) >= MIN_LABELS)).toBe(true);
    expect(c.counters.reasons.cold).toBe(cold.length);
    expect(c.counters.coldHeld).toBe(0);
  });

  it('holds a backlog poured at a cold stage until the LLM labels warm it, instead of flagging it `cold`', async () => {
    // The same pour as above, as the service runs: learning's pace and the cold hold (`llm.coldWaitMs`).
    const registry = new Registry();
    const observer = new CascadeMetrics({ metrics: new SpillwayMetrics(registry), logger: pino({ level: 'silent' }) });
    const c = await build(400, 4, 0.1, { coldWaitMs: 30_000, observer });
    const annotations = await Promise.all(rows.slice(0, 400).map((r) => c.process({ id: r.id, text: r.text })));
    // The input waited for the labels on their way (and, out of budget while cold, for the stage to warm).
    expect(c.counters.paced).toBeGreaterThan(100);
    // Operators see the holds on /metrics.
    const metricsText = await registry.metrics();
    expect(metricsText).toContain(`spillway_cold_held_items_total ${c.counters.coldHeld}`);
    // Held items were answered once the stage had earned it, or by the LLM: none flagged, none guessed.
    expect(annotations.filter((a) => a.reason === 'cold')).toHaveLength(0);
    const small = annotations.filter((a) => a.answeredBy === 'lr');
    expect(small.length).toBeGreaterThan(100);
    expect(small.every((a) => (a.modelVersions.lr ?? 0) >= MIN_LABELS)).toBe(true);
    // The budget still holds: calls stay within the hard cap over the 400 items received (target share, burst
    // and front-load): held items borrowed only the allowance of the items already waiting behind them.
    expect(c.counters.llmCalls).toBeLessThanOrEqual(c.parts.budget.allowance(400));
  });

  it('does not hold items when labels come through the label topic (shared learning)', async () => {
    // Labels then reach the stages only once their items commit: a held item would hold back its own warm-up.
    const c = await build(400, 4, 0.1, { coldWaitMs: 30_000, learnInline: false, labelLagMin: 100_000 });
    const annotations = await Promise.all(rows.slice(0, 400).map((r) => c.process({ id: r.id, text: r.text })));
    expect(c.counters.coldHeld).toBe(0);
    expect(annotations.filter((a) => a.reason === 'cold').length).toBeGreaterThan(100);
  });
});
