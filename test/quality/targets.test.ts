/** Quality targets as users write them: parsing, the errors that name their source, and the losses they bound. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { lossOf, metricFromLoss, parseQualityTargets } from '../../src/quality/index.js';

const LABELS = ['noHate', 'hate'];

describe('parseQualityTargets', () => {
  it('parses agreement, recall and precision targets from a comma-separated string', () => {
    const targets = parseQualityTargets('agreement>=0.95, recall:hate>=0.9,precision:noHate>=0.8', LABELS);
    expect(targets).toEqual([
      { text: 'agreement>=0.95', metric: 'agreement', value: 0.95 },
      { text: 'recall:hate>=0.9', metric: 'recall', labelId: 1, value: 0.9 },
      { text: 'precision:noHate>=0.8', metric: 'precision', labelId: 0, value: 0.8 },
    ]);
  });

  it.each([
    ['agreement>0.9', 'malformed'],
    ['accuracy>=0.9', 'malformed'],
    ['recall>=0.9', 'needs a label'],
    ['recall:hat>=0.9', 'unknown label "hat"'],
    ['agreement>=1.5', 'in (0, 1)'],
    ['agreement:hate>=0.9', 'takes no label'],
    ['agreement>=0.9,agreement>=0.95', 'given twice'],
  ])('%s is a ConfigError naming the flag (%s)', (input, message) => {
    let error: unknown;
    try {
      parseQualityTargets(input, LABELS, '--quality');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).key).toBe('--quality');
    expect((error as ConfigError).message).toContain(message);
  });

  it('checks only the syntax when the labels are not known yet', () => {
    expect(parseQualityTargets('recall:anything>=0.5', undefined)).toEqual([{ text: 'recall:anything>=0.5', metric: 'recall', value: 0.5 }]);
  });
});

describe('lossOf and metricFromLoss', () => {
  it('turns recall into one mean: the mean loss is under 1 − v exactly when recall ≥ v', () => {
    const [target] = parseQualityTargets('recall:hate>=0.8', LABELS);
    if (target === undefined) throw new Error('no target');
    // 10 items the LLM calls hate, 8 found (recall 0.8), 90 others.
    const losses = [...Array(8).fill(lossOf(target, 1, 1)), ...Array(2).fill(lossOf(target, 0, 1)), ...Array(90).fill(lossOf(target, 0, 0))] as number[];
    const mean = losses.reduce((a, b) => a + b, 0) / losses.length;
    expect(mean).toBeCloseTo(1 - 0.8, 10);
    expect(metricFromLoss(target, mean, 0.1)).toBeCloseTo(0.8, 10);
  });

  it('counts a published label the LLM did not give against precision, and nothing else', () => {
    const [target] = parseQualityTargets('precision:hate>=0.9', LABELS);
    if (target === undefined) throw new Error('no target');
    expect(lossOf(target, 1, 0)).toBe(1);
    expect(lossOf(target, 1, 1)).toBe(0);
    expect(lossOf(target, 0, 1)).toBeCloseTo(0.1, 10);
  });
});
