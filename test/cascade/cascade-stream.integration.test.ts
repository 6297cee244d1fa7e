/**
 * The whole cascade over the emotions stream (test/fixtures), through the real LLM client and the replay
 * server over HTTP, under a 30 % budget, as `spillway bench` runs it: the budget holds, every stage answers
 * part of the stream, and the small stages learn enough from the LLM's labels that the cascade's accuracy
 * stays close to the recorded teacher's own, far above what the LLM's share alone would give.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { readLabelledStream, runCascadeBench } from '../../tools/bench/index.js';
import { EMOTIONS } from '../helpers/paths.js';
import { testConfig } from '../helpers/test-config.js';

const TEACHER = 'gpt-3.5-turbo-1106';

describe('the cascade over the emotions stream', () => {
  it('holds a 30% budget with an accuracy close to the teacher’s', { timeout: 300_000 }, async () => {
    const stream = readLabelledStream(EMOTIONS);
    const teacherAccuracy = stream.filter((r) => r.llm[TEACHER] === r.label).length / stream.length;
    const config = testConfig({ logLevel: 'silent', cascade: { deferralCostWeight: 0, seed: 42 } });
    const report = await runCascadeBench({
      dataset: EMOTIONS,
      taskPath: EMOTIONS.replace(/\.jsonl$/, '.task.json'),
      teacher: TEACHER,
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
    expect(row?.items).toBe(stream.length);
    expect(row?.llm_share).toBeLessThanOrEqual(0.3 + 0.01);
    expect(row?.llm_share).toBeGreaterThan(0.28);
    // The LLM's 30 % alone, the rest guessed among seven labels, would score ~0.35.
    const llmShareAlone = 0.3 * teacherAccuracy + 0.7 / 7;
    expect(row?.accuracy).toBeGreaterThan(llmShareAlone + 0.2);
    expect(row?.accuracy).toBeGreaterThan(teacherAccuracy - 0.1);
    // Every stage answers part of the stream.
    expect(row?.stage_share.every((s) => s > 0.05)).toBe(true);
    // The deepest small stage's own answers agree with the LLM well above chance (1/7) over the stream's second
    // half, and less often than the published answers, a third of which are the LLM's.
    expect(row?.stage_agreement_late).toBeGreaterThan(0.4);
    expect(row?.stage_agreement_late).toBeLessThan(row?.agreement ?? 0);
  });
});
