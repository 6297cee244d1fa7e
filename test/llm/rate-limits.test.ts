/**
 * Rate limits and Retry-After, against the replay server's requests-per-minute limit over HTTP:
 * the client waits what the endpoint's Retry-After says (its own backoff here is a few ms, which alone would
 * exhaust the retries at once), the scheduler hears of the throttling and backs its concurrency off, and a
 * scheduler told the limit paces its requests under it.
 */
import { describe, expect, it } from 'vitest';
import { LlmHttpError } from '../../src/errors.js';
import { defaultTaskPath, loadTask, withRetry, type AimdReason } from '../../src/llm/index.js';
import { GPT, EMOTIONS, readRows, useReplayScheduler } from './helpers.js';

const task = loadTask(defaultTaskPath(EMOTIONS));
const rows = readRows(EMOTIONS).filter((r) => (r.llm[GPT] ?? -1) >= 0);

const llm = useReplayScheduler(task);

describe('withRetry and Retry-After', () => {
  it('waits at least the Retry-After an LlmHttpError carries', async () => {
    let calls = 0;
    const started = performance.now();
    const result = await withRetry(
      () => {
        calls++;
        if (calls === 1) return Promise.reject(new LlmHttpError('throttled', 429, { retryAfterMs: 300 }));
        return Promise.resolve('ok');
      },
      { maxRetries: 2, retryBaseMs: 1, retryMaxMs: 2 },
    );
    expect(result).toBe('ok');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });
});

describe('against an endpoint limited to 60 requests per minute', () => {
  it('obeys its 429 Retry-After: every request eventually succeeds, the scheduler pauses and backs off', async () => {
    const { server, teacher } = await llm.start({ rpm: 60 }, 6);
    const adjustments: AimdReason[] = [];
    let throttles = 0;
    const scheduler = llm.schedule(teacher, {
      concurrency: 8,
      minConcurrency: 1,
      maxConcurrency: 8,
      deadlineMs: 60_000,
      observer: { onThrottle: () => void throttles++, onConcurrencyChange: (_limit, reason) => void adjustments.push(reason) },
    });
    const started = performance.now();
    const sample = rows.slice(0, 6);
    const outcomes = await Promise.all(sample.map((r) => scheduler.submit(r.text, 0.5)));
    const elapsed = performance.now() - started;
    expect(outcomes.map((o) => (o?.kind === 'answer' ? o.answer.labelId : o?.kind))).toEqual(sample.map((r) => r.llm[GPT]));
    const stats = server.stats();
    expect(stats.throttled).toBeGreaterThan(0);
    // Backoff alone (≤ 5 ms × 6 retries) would have hammered the endpoint dozens of times and failed.
    expect(stats.throttled).toBeLessThan(20);
    // A burst of 2, then one request per second: the last of 6 cannot be served before ~4 s.
    expect(elapsed).toBeGreaterThan(3_500);
    expect(throttles).toBe(stats.throttled);
    expect(adjustments).toContain('throttled');
    expect(scheduler.snapshot().concurrency).toBeLessThan(8);
  });

  it('a scheduler told the limit (llm.maxRequestsPerMinute) stays under it: no 429 at all', async () => {
    const { server, teacher } = await llm.start({ rpm: 60 }, 6);
    const scheduler = llm.schedule(teacher, { concurrency: 8, deadlineMs: 60_000, maxRequestsPerMinute: 60 });
    const sample = rows.slice(10, 14);
    const outcomes = await Promise.all(sample.map((r) => scheduler.submit(r.text, 0.5)));
    expect(outcomes.every((o) => o?.kind === 'answer')).toBe(true);
    expect(server.stats().throttled).toBe(0);
    expect(server.stats().answered).toBe(4);
  });

  it('the answers carry the usage token counts the endpoint reported', async () => {
    const { server, teacher } = await llm.start({}, 6);
    const answer = await teacher.classify(rows[0]?.text ?? '');
    expect(answer.usage?.promptTokens).toBe(server.stats().promptTokens);
    expect(answer.usage?.completionTokens).toBe(server.stats().completionTokens);
    expect(answer.usage?.promptTokens).toBeGreaterThan(10);
  });
});
