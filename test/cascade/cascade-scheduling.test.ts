/**
 * The cascade at a real LLM's pace: the small stages answer without waiting for LLM-bound items,
 * items the LLM cannot answer in time are answered by the deepest small stage (reason `deadline`) while the
 * late answers still teach it, and under overload the budget holds and the LLM gets the most uncertain items.
 * The LLM is the replay server over HTTP, with latency.
 */
import { describe, expect, it } from 'vitest';
import type { Annotation, Cascade } from '../../src/cascade/index.js';
import { EMOTIONS, readRows } from '../llm/helpers.js';
import { useReplayCascades } from './helpers.js';

const rows = readRows(EMOTIONS);
const cascades = useReplayCascades();

function build(
  latencyMs: number,
  llm: { concurrency: number; deadlineMs: number; coldWaitMs?: number },
  cascadeOverrides: Record<string, unknown> = {},
): Promise<Cascade> {
  return cascades.build({ latencyMs, llm, cascade: { warmupItems: 20, ...cascadeOverrides }, dirPrefix: 'spillway-sched-' });
}

describe('when the LLM is slow', () => {
  it('answers the items the small stage keeps before any LLM-bound item comes back, when the label lag allows (no head-of-line blocking)', async () => {
    // Learning's pace set aside (a lag no stream reaches): decisions and answers never wait for labels on their way.
    const c = await build(1_500, { concurrency: 16, deadlineMs: 30_000 }, { labelLagMin: 100_000 });
    const done: Annotation[] = [];
    await Promise.all(rows.slice(0, 200).map((r) => c.process({ id: r.id, text: r.text }).then((a) => done.push(a))));
    const firstLlm = done.findIndex((a) => a.answeredBy === 'llm');
    const small = done.filter((a) => a.answeredBy !== 'llm');
    expect(firstLlm).toBeGreaterThan(0);
    expect(small.length).toBeGreaterThan(50);
    // Every small-stage answer was out before the first LLM answer landed.
    expect(done.slice(firstLlm).every((a) => a.answeredBy === 'llm' || a.reason === 'deadline')).toBe(true);
    expect(small.every((a) => a.latencyMs < 1_000 || a.reason === 'deadline')).toBe(true);
    expect(new Set(done.map((a) => a.reason))).toContain('warmup');
  });

  it('answers with the deepest small stage at the deadline (reason deadline), and the late answers still teach it', async () => {
    // Warm stages: a cold one's items wait for the LLM instead (tested below).
    const c = await build(800, { concurrency: 8, deadlineMs: 300 }, { warmMinLabels: 0, warmAgreementFloor: 0 });
    const annotations = await Promise.all(rows.slice(0, 60).map((r) => c.process({ id: r.id, text: r.text })));
    const missed = annotations.filter((a) => a.reason === 'deadline');
    expect(missed.length).toBeGreaterThan(0);
    for (const a of missed) {
      expect(a.answeredBy).toBe('lr');
      expect(a.llmCalled).toBe(false);
      expect(a.latencyMs).toBeLessThan(800);
    }
    expect(c.counters.deadlineMisses).toBe(missed.length);
    const versionBefore = c.parts.stages[0]?.version ?? 0;
    await cascades.close(); // waits for the late answers
    expect(c.parts.stages[0]?.version ?? 0).toBeGreaterThan(versionBefore);
  });

  it('with a latency bound, answers an item of a cold stage on time, flagged cold, rather than wait past the bound', async () => {
    // No stage has earned the right to answer yet, and the LLM takes longer than the bound.
    const c = await build(800, { concurrency: 8, deadlineMs: 300, coldWaitMs: 10_000 });
    const annotations = await Promise.all(rows.slice(0, 20).map((r) => c.process({ id: r.id, text: r.text })));
    expect(annotations.every((a) => a.latencyMs < 700)).toBe(true);
    const late = annotations.filter((a) => a.answeredBy !== 'llm');
    expect(late.length).toBeGreaterThan(0);
    // An untrained stage's answer is never published as a confident one.
    expect(late.every((a) => a.reason === 'cold' && a.confidence <= 0.5)).toBe(true);
  });

  it("with a latency bound, a cold stage's item the LLM cannot answer in time waits for the labels on their way to warm the stage", async () => {
    // ~5 answers/s against 60 items at once, every one granted: most are handed back early, while the stage
    // has fewer labels than it needs.
    const c = await build(200, { concurrency: 1, deadlineMs: 4_000 }, { warmupItems: 0, llmBudget: 1, warmMinLabels: 5, warmAgreementFloor: 0 });
    const annotations = await Promise.all(rows.slice(0, 60).map((r) => c.process({ id: r.id, text: r.text })));
    const handedBack = annotations.filter((a) => a.answeredBy !== 'llm');
    expect(handedBack.length).toBeGreaterThan(10);
    expect(annotations.every((a) => a.latencyMs < 4_000)).toBe(true);
    // The labels that landed while they waited warmed the stage: answered by it, not flagged cold.
    expect(handedBack.every((a) => a.reason === 'deadline')).toBe(true);
  });
});

describe('when items arrive faster than the LLM can answer', () => {
  it('holds the budget, keeps the queue bounded and sends the most uncertain items to the LLM', async () => {
    // One call at a time, 100 ms each: ~10 answers/s against a stream fed all at once.
    // No cold start here (tested in cold-start.test.ts): the policy's own deferrals are measured.
    const c = await build(100, { concurrency: 1, deadlineMs: 1_000 }, { llmBudget: 0.3, warmMinLabels: 0, warmAgreementFloor: 0 });
    const n = 1_500;
    let peakQueue = 0;
    const pending: Array<Promise<Annotation>> = [];
    // Arrivals at ~200 items/s against ~10 LLM answers/s: at most a ~5% share can be answered in time.
    for (let i = 0; i < n; i += 20) {
      pending.push(...rows.slice(i, i + 20).map((r) => c.process({ id: r.id, text: r.text })));
      peakQueue = Math.max(peakQueue, c.scheduler?.snapshot().queued ?? 0);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const annotations = await Promise.all(pending);
    expect(annotations).toHaveLength(n);
    const calls = cascades.server().stats().answered;
    expect(calls).toBeLessThanOrEqual(0.3 * n + 20);
    expect(peakQueue).toBeLessThan(200);
    const byLlm = annotations.filter((a) => a.answeredBy === 'llm' && a.reason === 'deferred');
    const bySmall = annotations.filter((a) => a.answeredBy !== 'llm');
    const mean = (xs: Annotation[]): number => xs.reduce((s, a) => s + (a.pDefer.lr ?? 0), 0) / xs.length;
    expect(byLlm.length).toBeGreaterThanOrEqual(5);
    expect(annotations.filter((a) => a.reason === 'deadline').length).toBeLessThan(n * 0.3);
    expect(mean(byLlm)).toBeGreaterThan(mean(bySmall));
    // Every annotation says why the LLM was or was not asked.
    expect(annotations.every((a) => typeof a.reason === 'string' && a.reason.length > 0)).toBe(true);
  });
});
