import { Registry } from 'prom-client';
import type { StageName } from '../../src/types.js';
import { describe, expect, it } from 'vitest';
import { LlmHttpError } from '../../src/errors.js';
import { CascadeMetrics } from '../../src/monitor/cascade-metrics.js';
import { SpillwayMetrics } from '../../src/monitor/metrics.js';
import { llmAnswer, lrAnswer, lrAudit, midAnswer, parseMetrics, silentLogger } from './helpers.js';

function setup() {
  const metrics = new SpillwayMetrics(new Registry());
  const observer = new CascadeMetrics({ metrics, logger: silentLogger, llmCostUnits: 500 });
  return { metrics, observer, scrape: async () => parseMetrics(await metrics.text()) };
}

describe('CascadeMetrics', () => {
  describe('when an LLM call fails after retries', () => {
    it('counts one error call, no ok call, no agreement check, and no LLM answer in the share', async () => {
      const { observer, scrape } = setup();
      observer.onLlmError(new LlmHttpError('unavailable', 503));
      observer.onAnnotation({ ...llmAnswer(0, 1, -1), llmUnparseable: false, llmFailed: true, answeredBy: 'mid', labelId: 1 });
      const m = await scrape();
      expect(m.get('spillway_llm_calls_total{outcome="error"}')).toBe(1);
      expect(m.get('spillway_llm_calls_total{outcome="ok"}')).toBe(0);
      expect(m.get('spillway_agreement_checks_total{kind="overall",outcome="agree",stage="lr"}')).toBe(0);
      const all = observer.status().windows.all;
      expect(all.llm).toMatchObject({ calls: 1, errors: 1 });
      expect(all.llm.share).toBe(0);
    });
  });

  it('prices each LLM tier at its own price, a dated variant of a tier model included, and others at the default', async () => {
    const metrics = new SpillwayMetrics(new Registry());
    const observer = new CascadeMetrics({
      metrics,
      logger: silentLogger,
      pricePerMillionInputTokens: 1,
      pricePerMillionOutputTokens: 2,
      modelPrices: { 'llama-2-70b-chat': { pricePerMillionInputTokens: 0.7, pricePerMillionOutputTokens: 0.9 } },
    });
    observer.onLlmUsage(1_000_000, 0, 'llama-2-70b-chat');
    expect(observer.status().windows.all.llm.dollars).toBeCloseTo(0.7, 9);
    observer.onLlmUsage(0, 1_000_000, 'llama-2-70b-chat-2024-01');
    expect(observer.status().windows.all.llm.dollars).toBeCloseTo(1.6, 9);
    observer.onLlmUsage(1_000_000, 1_000_000, 'gpt-3.5-turbo-1106');
    expect(observer.status().windows.all.llm.dollars).toBeCloseTo(4.6, 9);
    observer.onLlmUsage(1_000_000, 0);
    expect(observer.status().windows.all.llm.dollars).toBeCloseTo(5.6, 9);
  });

  it('counts the answers by reason in each window, on /status and as shares on /metrics', async () => {
    const { observer, scrape } = setup();
    for (let i = 0; i < 3; i++) observer.onAnnotation({ ...lrAnswer(0), reason: 'confident' });
    observer.onAnnotation({ ...lrAnswer(0), reason: 'cold' });
    const minute = observer.status().windows['1m'];
    expect(minute.reasons).toEqual({ confident: 3, cold: 1 });
    const m = await scrape();
    expect(m.get('spillway_reason_share{reason="cold",window="1m"}')).toBe(0.25);
    expect(m.get('spillway_reason_share{reason="confident",window="15m"}')).toBe(0.75);
  });

  it('reports increments made between scrapes, and each only once', async () => {
    const { observer, scrape } = setup();
    observer.onAnnotation(lrAnswer(0));
    expect((await scrape()).get('spillway_items_total{outcome="answered",stage="lr"}')).toBe(1);
    expect((await scrape()).get('spillway_items_total{outcome="answered",stage="lr"}')).toBe(1);
    observer.onAnnotation(lrAnswer(0));
    observer.onAnnotation(midAnswer(0, 1));
    const m = await scrape();
    expect(m.get('spillway_items_total{outcome="answered",stage="lr"}')).toBe(2);
    expect(m.get('spillway_items_total{outcome="deferred",stage="lr"}')).toBe(1);
    expect(m.get('spillway_cost_units_total')).toBe(13);
  });

  describe('when an item is audited', () => {
    const trace = (stage: StageName, labelId: number, deferred: boolean) => ({ stage, labelId, confidence: 0.8, deferred, pDefer: 0.5 });
    const audited = (stages: ReturnType<typeof trace>[]) => ({ ...lrAudit(0, 1), stages: [...stages, trace('llm', 1, false)] });

    it('checks the first small stage that kept it, not the stages it deferred from or the ones after', async () => {
      const { observer, scrape } = setup();
      observer.onAnnotation(audited([trace('lr', 1, true), trace('mid', 1, false)]));
      observer.onAnnotation(audited([trace('lr', 0, false), trace('mid', 1, false)]));
      const m = await scrape();
      expect(m.get('spillway_agreement_checks_total{kind="audited",outcome="agree",stage="mid"}')).toBe(1);
      expect(m.get('spillway_agreement_checks_total{kind="audited",outcome="disagree",stage="mid"}')).toBe(0);
      expect(m.get('spillway_agreement_checks_total{kind="audited",outcome="disagree",stage="lr"}')).toBe(1);
      expect(m.get('spillway_agreement_checks_total{kind="audited",outcome="agree",stage="lr"}')).toBe(0);
      // Every comparison still counts towards overall agreement.
      expect(m.get('spillway_agreement_checks_total{kind="overall",outcome="agree",stage="lr"}')).toBe(1);
      expect(m.get('spillway_agreement_checks_total{kind="overall",outcome="agree",stage="mid"}')).toBe(2);
    });

    it('checks nothing as audited when every small stage deferred it', async () => {
      const { observer } = setup();
      observer.onAnnotation(audited([trace('lr', 1, true), trace('mid', 1, true)]));
      const lr = observer.status().windows.all.stages.lr!;
      expect(lr.agreement.audited.n).toBe(0);
      expect(lr.agreement.overall.n).toBe(1);
    });
  });

  it('prices the LLM-only run with the configured cost of one call', async () => {
    const { observer, scrape } = setup();
    observer.onAnnotation(lrAnswer(0));
    observer.onAnnotation(lrAnswer(1));
    const m = await scrape();
    expect(m.get('spillway_llm_only_cost_units_total')).toBe(1000);
    expect(observer.status().windows.all.cost).toEqual({ spent: 2, llmOnly: 1000, saved: 998, savedRatio: 0.998 });
  });

  it('counts a cache hit by tier and not as a call', async () => {
    const { observer, scrape } = setup();
    observer.onAnnotation(llmAnswer(0, 0, 0, 'cache-l1'));
    const m = await scrape();
    expect(m.get('spillway_cache_hits_total{tier="l1"}')).toBe(1);
    expect(m.get('spillway_cache_misses_total')).toBe(0);
    expect(observer.status().windows.all.llm).toMatchObject({ calls: 0, cacheHits: 1, share: 1 });
  });
});
