import { describe, expect, it } from 'vitest';
import { LlmHttpError, RetriesExhaustedError } from '../../src/errors.js';
import { backoffMs, withRetry } from '../../src/llm/index.js';

const fast = { maxRetries: 3, retryBaseMs: 1, retryMaxMs: 2 };

describe('withRetry', () => {
  it('returns the first success and passes the attempt number', async () => {
    const seen: number[] = [];
    const value = await withRetry(async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new LlmHttpError('busy', 503);
      return 'ok';
    }, fast);
    expect(value).toBe('ok');
    expect(seen).toEqual([1, 2, 3]);
  });

  it('never retries a TypeError or a non-retriable error', async () => {
    let calls = 0;
    const typeError = new TypeError('bug');
    await expect(
      withRetry(async () => {
        calls++;
        throw typeError;
      }, fast),
    ).rejects.toBe(typeError);
    const notFound = new LlmHttpError('gone', 404);
    await expect(
      withRetry(async () => {
        calls++;
        throw notFound;
      }, fast),
    ).rejects.toBe(notFound);
    expect(calls).toBe(2);
  });

  it('wraps the last retriable error with the attempt count', async () => {
    const last = new LlmHttpError('busy', 429);
    const err = await withRetry(
      async () => {
        throw last;
      },
      { ...fast, maxRetries: 4 },
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetriesExhaustedError);
    expect((err as RetriesExhaustedError).attempts).toBe(5);
    expect((err as RetriesExhaustedError).cause).toBe(last);
  });

  it('reports each retry with its delay', async () => {
    const delays: number[] = [];
    await withRetry(
      async (a) => {
        if (a < 3) throw new LlmHttpError('x', 500);
      },
      { ...fast, onRetry: ({ delayMs }) => delays.push(delayMs) },
    );
    expect(delays).toHaveLength(2);
  });
});

describe('backoffMs', () => {
  it('doubles from the base, caps at the maximum, and jitters into [half, full]', () => {
    const opts = { retryBaseMs: 100, retryMaxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((r) => backoffMs(r, { ...opts, random: () => 0.999999 }))).toEqual([100, 200, 400, 800, 1_000]);
    expect([1, 2, 3, 4, 5].map((r) => backoffMs(r, { ...opts, random: () => 0 }))).toEqual([50, 100, 200, 400, 500]);
  });
});
