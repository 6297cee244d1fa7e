/**
 * The quality benchmark's parts: the stream orders (permutations, deterministic per seed, the held-back labels
 * only in the second half after a shift, rising under drift) and the window judge (violations counted against
 * the recorded LLM answers, the hindsight share of a crafted window computed exactly, unparseable answers left out).
 */
import { describe, expect, it } from 'vitest';
import type { Annotation, StageTrace } from '../../src/cascade/index.js';
import { parseQualityTargets } from '../../src/quality/index.js';
import { heldBackLabels, hindsightShare, judgeQuality, orderStream, type LabelledItem } from '../../tools/bench/index.js';

/** 1,000 items, label 2 rare (10 %), labels 0 and 1 common. */
const items: LabelledItem[] = Array.from({ length: 1000 }, (_, i) => ({
  id: `i${i}`,
  text: `t${i}`,
  label: i % 10 === 0 ? 2 : i % 2,
  llm: { teacher: i % 10 === 0 ? 2 : i % 2 },
}));

describe('orderStream', () => {
  it('keeps every item once, and the same order for the same seed', () => {
    for (const order of ['given', 'shift', 'drift'] as const) {
      const a = orderStream(items, order, 7);
      expect(new Set(a.map((i) => i.id)).size).toBe(items.length);
      expect(orderStream(items, order, 7).map((i) => i.id)).toEqual(a.map((i) => i.id));
    }
    expect(orderStream(items, 'shift', 8).map((i) => i.id)).not.toEqual(orderStream(items, 'shift', 7).map((i) => i.id));
  });

  it('holds back the rarest labels: after a shift only in the second half; under drift, more of them late', () => {
    expect(heldBackLabels(items, 1)).toEqual([2]);
    const shifted = orderStream(items, 'shift', 3);
    expect(shifted.slice(0, 500).some((i) => i.label === 2)).toBe(false);
    expect(shifted.slice(500).filter((i) => i.label === 2)).toHaveLength(100);
    const drifting = orderStream(items, 'drift', 3);
    const early = drifting.slice(0, 500).filter((i) => i.label === 2).length;
    expect(early).toBeGreaterThan(0);
    expect(early).toBeLessThan(drifting.slice(500).filter((i) => i.label === 2).length / 2);
  });
});

function annotation(id: string, published: number, small: number, pDefer: number, byLlm: boolean): Annotation {
  const stages: StageTrace[] = [{ stage: 'lr', labelId: small, confidence: 0.5, pDefer, deferred: byLlm }];
  if (byLlm) stages.push({ stage: 'llm', labelId: published, confidence: 1, pDefer: 0, deferred: false });
  return {
    id,
    labelId: published,
    label: String(published),
    confidence: 0.5,
    answeredBy: byLlm ? 'llm' : 'lr',
    stages,
    pDefer: { lr: pDefer },
    llmCalled: byLlm,
    llmSource: byLlm ? 'call' : 'none',
    llmUnparseable: false,
    llmFailed: false,
    audited: false,
    reason: byLlm ? 'deferred' : 'confident',
    costUnits: 1,
    latencyMs: 0,
    modelVersions: {},
  };
}

describe('judgeQuality', () => {
  const targets = parseQualityTargets('agreement>=0.9', ['a', 'b', 'c']);

  it('counts a window whose published labels miss the target, and not one that keeps it', () => {
    const stream = items.slice(0, 200);
    // First window of 100: 15 wrong small answers; second: 5.
    const annotations = stream.map((r, i) => {
      const llm = r.llm.teacher as number;
      const wrong = i < 100 ? i % 100 < 15 : i % 100 < 5;
      return annotation(r.id, wrong ? (llm + 1) % 3 : llm, wrong ? (llm + 1) % 3 : llm, 0.1, false);
    });
    const report = judgeQuality(annotations, stream, 'teacher', targets, { window: 100, delta: 0.05 });
    expect(report).toMatchObject({ windows: 2, windows_violated: 1, violation_rate: 0.5, llm_share: 0, audit_share: 0 });
  });

  it('leaves out items whose recorded answer is unparseable', () => {
    const stream = items.slice(0, 100).map((r, i) => (i < 20 ? { ...r, llm: { teacher: -1 } } : r));
    // The 20 unparseable items are answered wrongly; the rest rightly: the window keeps the target.
    const annotations = stream.map((r, i) => annotation(r.id, i < 20 ? 1 : (r.llm.teacher as number), 0, 0.1, false));
    expect(judgeQuality(annotations, stream, 'teacher', targets, { window: 100, delta: 0.05 }).windows_violated).toBe(0);
  });

  it('finds the hindsight share of a crafted window: the fewest items over one threshold that keep the target', () => {
    // Scores 0.00..0.99; the small answer is wrong above 0.7 (30 items): ≥ 90 % agreement needs 20 of them sent.
    const window = Array.from({ length: 100 }, (_, i) => ({ published: 0, llm: 0, score: i / 100, small: i >= 70 ? 1 : 0 }));
    expect(hindsightShare(targets, window)).toBeCloseTo(0.2, 10);
  });
});
