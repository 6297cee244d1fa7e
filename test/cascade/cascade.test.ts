/**
 * The cascade itself, with a scripted teacher: the replay LLM server over HTTP answering a
 * synthetic two-label stream (test/cascade/scripted-teacher.ts). Covers the warm-up, exits, deferral, the
 * budget's cap, audits, the second stage and the multiplexer's skip. The Redis-learned branch is in
 * cascade.redis.test.ts.
 */
import { describe, expect, it } from 'vitest';
import type { Annotation, Cascade } from '../../src/cascade/index.js';
import { DEFAULTS } from '../../src/config.js';
import { useScriptedCascades, type ScriptedItem } from './scripted-teacher.js';
import { testConfig } from '../helpers/test-config.js';

const LLM_COST = 1000;
const cascades = useScriptedCascades();

interface Setup {
  cascade?: Record<string, unknown>;
  multiplexer?: boolean;
}

/** A fresh cascade (nothing restored, never saved) asking the scripted teacher. */
async function build(setup: Setup = {}): Promise<Cascade> {
  // No cold start here (tested in cold-start.test.ts): these cases measure the policy, the gate and the cap.
  const config = testConfig({
    cascade: { stages: ['lr'], pretrainedVectors: false, explorationRate: 0, featureDim: 2 ** 14, warmMinLabels: 0, warmAgreementFloor: 0, ...setup.cascade },
  });
  return cascades.build(config.cascade, {
    concurrency: 8,
    costUnits: LLM_COST,
    ...(setup.multiplexer === undefined ? {} : { multiplexer: setup.multiplexer }),
  });
}

/** Processes items one after another (the order learning sees is the stream's). */
async function feed(c: Cascade, items: readonly ScriptedItem[]): Promise<Annotation[]> {
  const out: Annotation[] = [];
  for (const item of items) out.push(await c.process({ id: item.id, text: item.text }));
  return out;
}

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(xs.length, 1);

describe('during the warm-up', () => {
  it('sends every item to the LLM (reason warmup), answers with its label and learns from each answer', async () => {
    const c = await build({ cascade: { warmupItems: 20, llmBudget: 0.2 } });
    const items = cascades.teacher().items(0, 20);
    const answered = await feed(c, items);
    expect(answered.map((a) => a.reason)).toEqual(items.map(() => 'warmup'));
    expect(answered.every((a) => a.answeredBy === 'llm' && a.llmCalled && a.llmSource === 'call' && !a.audited)).toBe(true);
    expect(answered.map((a) => a.labelId)).toEqual(items.map((i) => i.label));
    // Every answer is a label: the LR takes a step per item.
    expect(answered.map((a) => a.modelVersions.lr)).toEqual(items.map((_, k) => k + 1));
    expect(answered.every((a) => a.costUnits === 1 + LLM_COST)).toBe(true);
    expect(c.counters.llmCalls).toBe(20);
  });
});

describe('once the small stage has learned', () => {
  it('answers easy items itself (reason confident, no LLM call) and defers the uncertain ones to the LLM', async () => {
    const c = await build({ cascade: { warmupItems: 20, llmBudget: 0.5 } });
    await feed(c, cascades.teacher().items(0, 300, 0.3));
    const calls = cascades.teacher().server.stats().answered;
    const answered = await feed(c, cascades.teacher().items(300, 200, 0.3));
    const confident = answered.filter((a) => a.reason === 'confident');
    const deferred = answered.filter((a) => a.reason === 'deferred');
    expect(confident.length).toBeGreaterThan(50);
    expect(deferred.length).toBeGreaterThan(5);
    expect(confident.every((a) => a.answeredBy === 'lr' && !a.llmCalled && a.llmSource === 'none' && a.stages.length === 1 && a.costUnits === 1)).toBe(true);
    expect(deferred.every((a) => a.answeredBy === 'llm' && a.llmCalled && a.stages.map((s) => s.stage).join() === 'lr,llm')).toBe(true);
    // The policy defers what it is unsure of: deferred items carry higher P(defer) than kept ones.
    expect(mean(deferred.map((a) => a.pDefer.lr ?? 0))).toBeGreaterThan(mean(confident.map((a) => a.pDefer.lr ?? 0)));
    // What the LR answers is right on easy items (the teacher's label).
    const easy = cascades
      .teacher()
      .items(300, 200, 0.3)
      .filter((i) => !i.hard);
    const byId = new Map(answered.map((a) => [a.id, a]));
    const kept = easy.map((i) => [i, byId.get(i.id) as Annotation] as const).filter(([, a]) => a.answeredBy === 'lr');
    expect(kept.filter(([i, a]) => a.labelId === i.label).length / kept.length).toBeGreaterThan(0.9);
    // Each LLM answer in the annotations was one request to the teacher.
    expect(cascades.teacher().server.stats().answered - calls).toBe(answered.filter((a) => a.llmCalled).length);
  });
});

describe('when the budget is spent', () => {
  it('never calls the LLM beyond budget × items + the warm-up burst + the front-load, and says budget when it refuses', async () => {
    const budget = 0.05;
    const warmupItems = 10;
    // Even pacing (no front-load): the cap, not the quantile, is what this case exercises.
    const c = await build({ cascade: { warmupItems, llmBudget: budget, frontLoadItems: 0 } });
    // Hard items only: the policy keeps wanting the LLM, so the cap, not the quantile, has the last word.
    const answered = await feed(c, cascades.teacher().items(1_000, 400, 1));
    const calls = answered.filter((a) => a.llmCalled).length;
    expect(calls).toBe(c.counters.llmCalls);
    // The cap: budget × items + the burst + the unknown-horizon front-load still unpaid.
    expect(calls).toBeLessThanOrEqual(budget * answered.length + Math.max(warmupItems, 10) + c.parts.budget.frontLoadExcess(answered.length));
    const refused = answered.filter((a) => a.reason === 'budget');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((a) => a.answeredBy === 'lr' && !a.llmCalled && a.llmSource === 'none')).toBe(true);
    expect(c.budgetStatus.calls).toBe(calls);
  });
});

describe('with audits', () => {
  it('sends the items the stage would answer to the LLM as well, flagged audited (reason audit)', async () => {
    const c = await build({ cascade: { warmupItems: 10, llmBudget: 1, auditRate: 1 } });
    const answered = await feed(c, cascades.teacher().items(1_500, 150));
    const afterWarmup = answered.slice(10);
    expect(answered.slice(0, 10).every((a) => a.reason === 'warmup' && !a.audited)).toBe(true);
    const audits = afterWarmup.filter((a) => a.reason === 'audit');
    expect(audits.length).toBeGreaterThan(0);
    expect(audits.every((a) => a.audited && a.llmCalled && a.answeredBy === 'llm')).toBe(true);
    // An audited item's LR trace records that the policy would have kept it.
    expect(audits.every((a) => a.stages[0]?.stage === 'lr')).toBe(true);
    expect(afterWarmup.every((a) => a.llmCalled)).toBe(true);
  });
});

describe('with two small stages', () => {
  // The multiplexer cases set earlyExitFactor and μ to 0 so the LR always passes items on: what happens next
  // is the multiplexer's call (skip the mid model or not) and the budget's.
  it('the LR answers what it is sure of and passes the rest to the mid model, which answers or defers', async () => {
    const c = await build({ cascade: { stages: ['lr', 'mid'], warmupItems: 30, llmBudget: 0.3 } });
    const answered = (await feed(c, cascades.teacher().items(2_000, 250, 0.3))).slice(30);
    const byLr = answered.filter((a) => a.answeredBy === 'lr');
    const passed = answered.filter((a) => a.stages[0]?.deferred === true);
    expect(byLr.length).toBeGreaterThan(0);
    expect(passed.length).toBeGreaterThan(0);
    // An exit at the LR: one trace, not deferred, the cheapest cost.
    expect(byLr.every((a) => a.stages.length === 1 && a.stages[0]?.deferred === false && a.costUnits === 1)).toBe(true);
    // Passed on: the mid model ran (cost 1 + midCostUnits at least) and its trace follows the LR's.
    expect(passed.every((a) => a.stages[1]?.stage === 'mid' && a.costUnits >= 1 + DEFAULTS.cascade.midCostUnits)).toBe(true);
    expect(passed.every((a) => a.answeredBy === 'mid' || a.answeredBy === 'llm')).toBe(true);
  });

  it('with the multiplexer, skips the mid model for an item predicted hard and goes to the LLM; the mid model still learns', async () => {
    const c = await build({ cascade: { stages: ['lr', 'mid'], warmupItems: 0, llmBudget: 1, earlyExitFactor: 0, deferralCostWeight: 0 }, multiplexer: true });
    const answered = await feed(c, cascades.teacher().items(2_500, 80, 0.5));
    const skipped = answered.filter((a) => a.route?.join() === 'lr,llm');
    expect(skipped.length).toBeGreaterThan(0);
    expect(skipped.every((a) => a.stages.map((s) => s.stage).join() === 'lr,llm' && a.costUnits === 1 + LLM_COST && a.pDefer.mid === undefined)).toBe(true);
    // Every LLM answer trained the mid model too, reached or not.
    expect(answered.at(-1)?.modelVersions.mid).toBeGreaterThan(0);
  });

  it('with the multiplexer, runs the skipped stage after all when the budget refuses the call', async () => {
    const c = await build({
      cascade: { stages: ['lr', 'mid'], warmupItems: 10, llmBudget: 0.02, earlyExitFactor: 0, deferralCostWeight: 0 },
      multiplexer: true,
    });
    const answered = await feed(c, cascades.teacher().items(2_600, 200, 0.5));
    const ranAfterAll = answered.filter((a) => a.route?.join() === 'lr,mid' && a.reason === 'budget');
    expect(ranAfterAll.length).toBeGreaterThan(0);
    expect(ranAfterAll.every((a) => a.answeredBy === 'mid' && !a.llmCalled && a.pDefer.mid !== undefined)).toBe(true);
  });
});

describe('smallStageAnswers (evaluation without deferral)', () => {
  it("gives every small stage's answer in order, and neither learns, calls the LLM nor counts the item", async () => {
    const c = await build({ cascade: { stages: ['lr', 'mid'], warmupItems: 0, llmBudget: 1 } });
    const items = cascades.teacher().items(2_700, 120);
    for (const item of items.slice(0, 100)) await c.learnFromLabel(item.text, item.label);
    const versions = (): number[] => c.parts.stages.map((s) => s.version);
    const before = { versions: versions(), counters: structuredClone(c.counters) };
    const held = items.slice(100);
    const answers = await Promise.all(held.map((item) => c.smallStageAnswers(item.text)));
    expect(answers.every((a) => a.map((s) => s.stage).join() === 'lr,mid')).toBe(true);
    expect(answers.flat().every((s) => s.confidence > 0 && s.confidence <= 1)).toBe(true);
    // Taught 100 labels of a learnable stream, the deepest stage agrees with the teacher on most held-out items.
    const agreed = held.filter((item, i) => answers[i]?.[1]?.labelId === item.label).length;
    expect(agreed / held.length).toBeGreaterThan(0.7);
    // Nothing moved: the same model versions and counters (no LLM call, no item counted).
    expect(versions()).toEqual(before.versions);
    expect(c.counters).toEqual(before.counters);
  });
});
