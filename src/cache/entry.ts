/** How an answer is stored and how much room it is accounted for, identical in both tiers. */
import type { CachedAnswer } from './types.js';

/**
 * Bytes charged per entry on top of its key and value: a rough figure for the bookkeeping of a Map entry and
 * a heap slot in process, and of a hash plus a sorted-set member in Redis. Keeps tiny entries from looking free.
 */
export const ENTRY_OVERHEAD_BYTES = 96;

/** The stored form of an answer (compact JSON). */
export function encodeAnswer(answer: CachedAnswer): string {
  return JSON.stringify([answer.labelId, answer.model, answer.costUnits, answer.answeredAtMs]);
}

/** Parses a stored answer; undefined when it is not one (a foreign or corrupt value is a miss, not a crash). */
export function decodeAnswer(raw: string): CachedAnswer | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    // Not JSON: someone else's value under our prefix. Treated as a miss by the caller.
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 4) return undefined;
  const [labelId, model, costUnits, answeredAtMs] = value as unknown[];
  if (!(labelId === null || Number.isInteger(labelId)) || typeof model !== 'string') return undefined;
  if (typeof costUnits !== 'number' || typeof answeredAtMs !== 'number') return undefined;
  return { labelId: labelId as number | null, model, costUnits, answeredAtMs };
}

/** The accounted size of an entry, bytes: key + encoded value + overhead. */
export function entrySizeBytes(key: string, encodedAnswer: string): number {
  return Buffer.byteLength(key) + Buffer.byteLength(encodedAnswer) + ENTRY_OVERHEAD_BYTES;
}
