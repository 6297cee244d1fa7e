/**
 * The whole cascade over ../shared/datasets/isear.jsonl, through the real LLM client and the replay server
 * over HTTP, under a budget. `spillway bench --dataset ../shared/datasets/isear.jsonl --budgets 0.3
 * --strategies learned` printed accuracy 59.16% at 29.98% LLM calls for this configuration.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { readLabelledStream, runCascadeBench } from '../../tools/bench/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { testConfig } from '../helpers/test-config.js';

const BENCH_ACCURACY = 0.5916;
const MARGIN = 0.02;

describe('the cascade over the isear stream', () => {
  // 7,666 items through both stages (with the neighbour memory) take 90 s alone and longer on a shared machine.
  it('holds a 30% budget and stays within 2 points of the benchmark accuracy', { timeout: 400_000 }, async () => {
    const stream = readLabelledStream(EMOTIONS);
    const config = testConfig({ logLevel: 'silent', cascade: { deferralCostWeight: 0, seed: 42 } });
    const report = await runCascadeBench({
      dataset: EMOTIONS,
      taskPath: EMOTIONS.replace(/\.jsonl$/, '.task.json'),
      teacher: 'gpt-3.5-turbo-1106',
      stream,
      sample: 1,
      seed: 42,
      budgets: [0.3],
      strategies: ['learned'],
      horizon: 'known',
      config,
      logger: pino({ level: 'silent' }),
    });
    const row = report.results[0];
    expect(row?.strategy).toBe('learned');
    expect(row?.items).toBe(7666);
    expect(row?.llm_share).toBeLessThanOrEqual(0.3 + 0.01);
    expect(row?.llm_share).toBeGreaterThan(0.28);
    expect(row?.accuracy).toBeGreaterThanOrEqual(BENCH_ACCURACY - MARGIN);
    expect(row?.accuracy).toBeLessThanOrEqual(BENCH_ACCURACY + MARGIN);
    // Every stage answers part of the stream.
    expect(row?.stage_share.every((s) => s > 0.05)).toBe(true);
    // The deepest small stage's own answers agree with the LLM well above chance (1/7) over the stream's second
    // half, and less often than the published answers, a third of which are the LLM's.
    expect(row?.stage_agreement_late).toBeGreaterThan(0.4);
    expect(row?.stage_agreement_late).toBeLessThan(row?.agreement ?? 0);
  });
});
