/**
 * The quality controller on crafted streams, driven the way the gate drives it (an item counted, an audit
 * drawn, the sample observed): the threshold it certifies, the fail-safe before it can, tightening within one
 * window when the small stage turns wrong, a new label, and the certify-once baseline that never re-checks.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/cascade/rng.js';
import { parseQualityTargets, QualityController, type QualityOptions, type QualitySample } from '../../src/quality/index.js';

const LABELS = ['a', 'b', 'c'];

function controller(targets: string, overrides: Partial<QualityOptions> = {}): QualityController {
  return new QualityController({
    targets: parseQualityTargets(targets, LABELS),
    delta: 0.05,
    window: 1000,
    auditShare: 0.05,
    certifyOnce: false,
    earlyExitFactor: 0.5,
    exitBias: [0],
    ...overrides,
  });
}

/** One stage whose answer is right exactly when its P(defer) is under `rightBelow` (the LLM says label 0). */
function item(rng: Rng, rightBelow: number, llmLabelId = 0): QualitySample {
  const pDefer = rng.next();
  return { pDefer: [pDefer], labelIds: [pDefer < rightBelow ? llmLabelId : (llmLabelId + 1) % 3], llmLabelId };
}

/** Feeds `n` items; returns the item index (from 1) at which `until` first held, or -1. */
function feed(q: QualityController, rng: Rng, n: number, make: () => QualitySample, until?: () => boolean): number {
  for (let i = 1; i <= n; i++) {
    q.onItem();
    if (q.drawAudit(rng.next())) q.observe(make());
    if (until?.() === true) return i;
  }
  return -1;
}

describe('QualityController', () => {
  it('sends every item to the LLM until it can certify, then certifies a threshold that keeps the target', () => {
    const q = controller('agreement>=0.9');
    const rng = new Rng(1);
    expect(q.certified).toBe(false);
    expect(q.threshold).toBe(Number.NEGATIVE_INFINITY);
    expect(q.drawAudit(0.99)).toBe(true);
    // Wrong above 0.5: at threshold t the disagreement is max(0, t − 0.5); ≥ 0.9 agreement needs t ≤ 0.6.
    feed(q, rng, 4000, () => item(rng, 0.5));
    expect(q.certified).toBe(true);
    expect(q.threshold).toBeGreaterThanOrEqual(0.45);
    expect(q.threshold).toBeLessThanOrEqual(0.6);
    // Certified: only a share of the items is audited now.
    const audits = Array.from({ length: 1000 }, () => q.drawAudit(rng.next())).filter(Boolean).length;
    expect(audits).toBeGreaterThan(20);
    expect(audits).toBeLessThan(90);
    const status = q.status();
    expect(status.targets[0]?.certified).toBe(true);
    expect(status.targets[0]?.lowerBound).toBeGreaterThanOrEqual(0.9);
    expect(status.targets[0]?.estimate).toBeGreaterThan(status.targets[0]?.lowerBound ?? 1);
  });

  it('tightens within one window when the small stage turns wrong mid-stream', () => {
    const q = controller('agreement>=0.9');
    const rng = new Rng(2);
    feed(q, rng, 4000, () => item(rng, 0.5));
    expect(q.certified).toBe(true);
    // Now the stage is wrong on everything: the next window's audits must uncertify it.
    const at = feed(
      q,
      rng,
      1000,
      () => item(rng, 0),
      () => !q.certified,
    );
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThanOrEqual(1000);
    expect(q.status().epochs).toBe(2);
    expect(q.drawAudit(0.99)).toBe(true);
  });

  it('starts over when the LLM gives a label it never gave before', () => {
    const q = controller('agreement>=0.9');
    const rng = new Rng(3);
    feed(q, rng, 4000, () => item(rng, 0.5));
    expect(q.certified).toBe(true);
    q.noteAnswer(0);
    expect(q.certified).toBe(true);
    q.noteAnswer(2);
    expect(q.certified).toBe(false);
  });

  it('keeps a recall target on a rare label: a threshold where the misses stay in bounds', () => {
    const q = controller('recall:b>=0.6', { window: 2000 });
    const rng = new Rng(4);
    // 10 % of items are `b` per the LLM; the stage misses them when unsure (P(defer) ≥ 0.2): at threshold t
    // it misses a share t − 0.2 of them, so recall ≥ 0.6 needs t ≤ 0.6; a window of 2,000 items holds about
    // 200 of them, whose own luck the certified threshold leaves room for.
    feed(q, rng, 20_000, () => {
      const s = item(rng, 2, rng.next() < 0.1 ? 1 : 0);
      if (s.llmLabelId === 1 && (s.pDefer[0] as number) >= 0.2) return { ...s, labelIds: [0] };
      return s;
    });
    expect(q.certified).toBe(true);
    expect(q.threshold).toBeGreaterThan(0.2);
    expect(q.threshold).toBeLessThanOrEqual(0.6);
  });

  it('as the certify-once baseline, freezes after the first window: no audits, no re-checks', () => {
    const q = controller('agreement>=0.9', { certifyOnce: true });
    const rng = new Rng(5);
    feed(q, rng, 4000, () => item(rng, 0.5));
    const frozen = q.threshold;
    expect(q.certified).toBe(true);
    expect(q.drawAudit(0)).toBe(false);
    feed(q, rng, 2000, () => item(rng, 0));
    expect(q.threshold).toBe(frozen);
  });
});
