/**
 * Self- and co-training with audited safeguards (`cascade.selfTraining`). The scripted teacher
 * (the replay LLM server over HTTP, test/cascade/scripted-teacher.ts) labels the items the cascade sends; the
 * small stages also learn their own answers on items no LLM answer reached, only where those answers are
 * trusted by their measured agreement with the LLM, only once warm, and never in the deferral policy.
 */
import { describe, expect, it } from 'vitest';
import type { Annotation, Cascade } from '../../src/cascade/index.js';
import type { LrStage } from '../../src/cascade/stages.js';
import { llmLabelOf } from '../../src/types.js';
import { useScriptedCascades, type ScriptedItem } from './scripted-teacher.js';
import { testConfig } from '../helpers/test-config.js';

const MIN_LABELS = 40;
const cascades = useScriptedCascades();

/** A fresh cascade asking the scripted teacher; audits give the calibration labels on items the stages keep. */
async function build(keys: Record<string, unknown>): Promise<Cascade> {
  const config = testConfig({
    cascade: {
      stages: ['lr'],
      pretrainedVectors: false,
      featureDim: 2 ** 14,
      warmupItems: 20,
      llmBudget: 0.3,
      auditRate: 0.2,
      warmMinLabels: MIN_LABELS,
      warmAgreementFloor: 0.6,
      ...keys,
    },
  });
  return cascades.build(config.cascade, { concurrency: 4, costUnits: 1000 });
}

interface Step {
  annotation: Annotation;
  /** LLM labels the LR had trained on before the item. */
  labelsBefore: number;
  /** The item was pseudo-labelled. */
  pseudo: boolean;
  /** The LR's probability of the labels other than the item's published one, before and after the item (exact near 0, where 1 − p would round). */
  before: number;
  after: number;
}

/** Processes items one after another, noting for each whether it was pseudo-labelled and how the LR moved. */
async function feed(c: Cascade, items: readonly ScriptedItem[]): Promise<Step[]> {
  const lr = c.parts.stages[0] as LrStage;
  const steps: Step[] = [];
  for (const item of items) {
    const probe = (): Float32Array => lr.run({ features: c.parts.featurizer.featurize(item.text), probs: [] });
    const labelsBefore = lr.labels;
    const pseudoBefore = c.counters.pseudoLabels;
    const p0 = probe();
    const annotation = await c.process({ id: item.id, text: item.text });
    const p1 = probe();
    const rest = (p: Float32Array): number => p.reduce((sum, x, j) => (j === annotation.labelId ? sum : sum + x), 0);
    steps.push({ annotation, labelsBefore, pseudo: c.counters.pseudoLabels > pseudoBefore, before: rest(p0), after: rest(p1) });
  }
  return steps;
}

describe.each([
  // Co-training needs an item to reach both stages and be kept there: fewer of them.
  { mode: 'self', stages: ['lr'], atLeast: 30 },
  { mode: 'co', stages: ['lr', 'mid'], atLeast: 10 },
])('with cascade.selfTraining: $mode', ({ mode, stages, atLeast }) => {
  it('learns pseudo-labels only on items no LLM answer reached, once the stages are warm, and never in the deferral policy', async () => {
    const c = await build({ selfTraining: mode, stages });
    const steps = await feed(c, cascades.teacher().items(0, 700, 0.3));
    const pseudo = steps.filter((s) => s.pseudo);
    expect(pseudo.length).toBeGreaterThan(atLeast);
    expect(c.counters.pseudoLabels).toBe(pseudo.length);
    // Never an item that was sent to the LLM (or answered from one), never one a cold stage answered.
    expect(pseudo.every((s) => !s.annotation.llmCalled && s.annotation.llmSource === 'none' && s.annotation.answeredBy !== 'llm')).toBe(true);
    expect(pseudo.every((s) => s.annotation.reason !== 'cold' && s.labelsBefore >= MIN_LABELS)).toBe(true);
    expect(pseudo.every((s) => llmLabelOf(s.annotation) === undefined)).toBe(true);
    // Learned: the LR's probability of the pseudo-label rose on every such item (an item it only answered leaves it unchanged).
    expect(pseudo.every((s) => s.after < s.before)).toBe(true);
    const untouched = steps.filter((s) => !s.pseudo && s.annotation.llmSource === 'none');
    expect(untouched.length).toBeGreaterThan(0);
    expect(untouched.every((s) => s.after === s.before)).toBe(true);
    // The deferral policies, the LR's version and its rehearsal memory count LLM labels only.
    const llmLabels = steps.filter((s) => llmLabelOf(s.annotation) !== undefined).length;
    for (const policy of c.parts.policies) expect(policy.updates).toBe(llmLabels);
    const lr = c.parts.stages[0] as LrStage;
    expect(lr.version).toBe(llmLabels);
    expect(lr.rehearsal?.memory.size).toBe(llmLabels);
    // The cap: at most one pseudo-labelled item per LLM label (pseudoLabelsPerLabel: 1).
    expect(pseudo.length).toBeLessThanOrEqual(llmLabels);
  });
});

describe('while the stage is cold', () => {
  it('learns no pseudo-label: the cascade answers exactly as with selfTraining off', async () => {
    const keys = { warmMinLabels: 100_000 };
    const items = cascades.teacher().items(0, 400, 0.3);
    const first = await build({ ...keys, selfTraining: 'self' });
    const on = await feed(first, items);
    expect(first.counters.pseudoLabels).toBe(0);
    await first.drain();
    const off = await feed(await build({ ...keys, selfTraining: 'off' }), items);
    const view = (s: Step): unknown => [s.annotation.labelId, s.annotation.reason, s.annotation.pDefer.lr, s.after];
    expect(on.map(view)).toEqual(off.map(view));
  });
});
