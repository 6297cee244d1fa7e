/**
 * Tokens and dollars add up: over a known stream, the tokens the cascade counts per item (a batch
 * request's usage split across its items) equal what the replay endpoint served, and /metrics and /status
 * price them at the configured rates. A hedged request's second call is paid for too, and counted.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createMonitor } from '../../src/monitor/index.js';
import { EMOTIONS, readRows } from '../llm/helpers.js';
import { useReplayCascades } from './helpers.js';

const rows = readRows(EMOTIONS);
const logger = pino({ level: 'silent' });
const cascades = useReplayCascades();

/** A monitor on a free port, pricing prompt tokens at 0.5 and completion tokens at 1.5 per million. */
function pricedMonitor(): ReturnType<typeof createMonitor> {
  return createMonitor({
    config: { httpPort: 0, httpHost: '127.0.0.1' },
    logger,
    pricePerMillionInputTokens: 0.5,
    pricePerMillionOutputTokens: 1.5,
    processMetrics: false,
  });
}

/** Distinct texts of the stream, so that no answer is shared between items (single-flight): every call is counted once. */
function distinctRows(n: number): typeof rows {
  const seen = new Set<string>();
  return rows.filter((r) => !seen.has(r.text) && seen.add(r.text)).slice(0, n);
}

describe.each([1, 8])('with llm.batchSize %i', (batchSize) => {
  it('counts every token the endpoint served, and prices them', async () => {
    const monitor = pricedMonitor();
    const c = await cascades.build({
      latencyMs: 5,
      llm: { concurrency: 2, batchSize },
      cascade: { warmupItems: 50, llmBudget: 0.3 },
      teacherTimeoutMs: 10_000,
      dirPrefix: 'spillway-tokens-',
      observer: monitor.observer,
    });
    const stream = distinctRows(400);
    await Promise.all(stream.map((r) => c.process({ id: r.id, text: r.text })));
    await cascades.close();
    const served = cascades.server().stats();
    expect(served.promptTokens).toBeGreaterThan(0);
    if (batchSize > 1) expect(served.batchRequests).toBeGreaterThan(0);
    expect(c.counters.promptTokens).toBeCloseTo(served.promptTokens, 6);
    expect(c.counters.completionTokens).toBeCloseTo(served.completionTokens, 6);
    const dollars = (served.promptTokens * 0.5 + served.completionTokens * 1.5) / 1e6;
    const status = monitor.status();
    expect(status.windows.all.llm.promptTokens).toBeCloseTo(served.promptTokens, 6);
    expect(status.windows.all.llm.dollars).toBeCloseTo(dollars, 9);
    const text = await monitor.metrics.text();
    const metric = (name: string): number => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(metric('spillway_llm_cost_dollars_total')).toBeCloseTo(dollars, 9);
    expect(metric('spillway_llm_tokens_total\\{kind="prompt"\\}')).toBeCloseTo(served.promptTokens, 6);
    await monitor.close();
  });
});

describe('a hedged request', () => {
  it('is counted as a request and in the tokens and the money, though only one answer is used', async () => {
    const monitor = pricedMonitor();
    // Every item to the LLM; the 150th request answers after 10 s, long past the 100 quick answers before it.
    const c = await cascades.build({
      latencyMs: 5,
      delayAt: { 150: 10_000 },
      llm: { concurrency: 2, hedgeShare: 0.5 },
      cascade: { warmupItems: 50, llmBudget: 1 },
      dirPrefix: 'spillway-hedged-',
      observer: monitor.observer,
    });
    const stream = distinctRows(200);
    await Promise.all(stream.map((r) => c.process({ id: r.id, text: r.text })));
    await cascades.close();
    const served = cascades.server().stats();
    expect(c.counters.hedgedRequests).toBe(1);
    // The slow attempt was stopped before the endpoint answered it: its estimated tokens are counted on top.
    expect(served.answered).toBe(c.counters.llmCalls);
    expect(c.counters.promptTokens).toBeGreaterThan(served.promptTokens);
    const text = await monitor.metrics.text();
    expect(text).toMatch(/^spillway_llm_hedged_requests_total\{event="sent"\} 1$/m);
    expect(text).toMatch(/^spillway_llm_hedged_requests_total\{event="won"\} 1$/m);
    expect(Number(/^spillway_llm_requests_total (\S+)$/m.exec(text)?.[1])).toBe(c.counters.llmCalls + 1);
    await monitor.close();
  });
});
