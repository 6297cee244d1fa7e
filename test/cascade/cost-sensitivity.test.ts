/**
 * A quality objective per task: `recall:<label>` makes learning and answering cost-sensitive, so
 * that label's recall rises on a skewed stream (moderation: about one item in ten hateful). The LLM is
 * the replay server over HTTP with GPT-3.5's recorded answers; both runs stream the same sample.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { CostSensitivity } from '../../src/cascade/cost-sensitivity.js';
import { readLabelledStream, runCascadeBench, sampleStream } from '../../tools/bench/index.js';
import { MODERATION } from '../llm/helpers.js';
import { testConfig } from '../helpers/test-config.js';

describe('CostSensitivity', () => {
  it('weighs the recall label by the square root of its odds, and other labels by 1', () => {
    const c = new CostSensitivity({ kind: 'recall', label: 1, floor: 0.8 }, 2, 1);
    for (let i = 0; i < 98; i++) c.observe(i < 18 ? 1 : 0);
    // π = (18 + 1) / (98 + 2) = 0.19 → √(0.81 / 0.19) = 2.065.
    expect(c.weight(1)).toBeCloseTo(Math.sqrt(0.81 / 0.19), 6);
    expect(c.weight(0)).toBe(1);
    expect(new CostSensitivity(undefined, 2, 1).weight(1)).toBe(1);
  });

  it('turns an answer positive once the probability reaches the floor quantile of unbiased positives', () => {
    const c = new CostSensitivity({ kind: 'recall', label: 1, floor: 0.8 }, 2, 1);
    const probs = Float32Array.from([0.7, 0.3]);
    expect(c.answer(0, probs, 0)).toBe(0); // no cut-off known yet
    for (let i = 0; i < 100; i++) c.recordPositive(0, (i + 1) / 100);
    // The 20th percentile of 0.01..1.00 (index ⌊0.2 × 100⌋ in floating point: 19): 81 % of the positives reach it.
    expect(c.cutoffs[0]).toBeCloseTo(0.2, 6);
    expect(c.answer(0, probs, 0)).toBe(1);
    expect(c.answer(0, Float32Array.from([0.85, 0.15]), 0)).toBe(0);
  });
});

describe('objective recall:yes on the moderation stream', () => {
  it('raises hate recall over the accuracy objective', async () => {
    const stream = sampleStream(readLabelledStream(MODERATION), 0.2, 7);
    const config = testConfig({ logLevel: 'silent', cascade: { stages: ['lr'], pretrainedVectors: false, seed: 7 } });
    const run = async (objective?: 'recall'): Promise<{ recall: number; accuracy: number }> => {
      const report = await runCascadeBench({
        dataset: MODERATION,
        taskPath: MODERATION.replace(/\.jsonl$/, '.task.json'),
        teacher: 'gpt-3.5-turbo-1106',
        stream,
        sample: 0.2,
        seed: 7,
        budgets: [0.112],
        strategies: ['learned'],
        // The objective's effect on the cascade itself, one item at a time (deterministic).
        modes: ['sequential'],
        config,
        logger: pino({ level: 'silent' }),
        ...(objective === undefined ? {} : { objective: { kind: 'recall' as const, label: 1, floor: 0.8 } }),
      });
      const row = report.results[0];
      return { recall: row?.positive_recall ?? 0, accuracy: row?.accuracy ?? 0 };
    };
    const plain = await run();
    const recall = await run('recall');
    expect(recall.recall).toBeGreaterThan(plain.recall + 0.15);
    // The price is paid in accuracy (steeply with the LR alone, which ranks hate poorly), but the answers are
    // not all "yes" (that would score 0.11).
    expect(recall.accuracy).toBeGreaterThan(0.2);
  });
});
