/**
 * Items from a JSONL stream (a file or stdin), for the embedded mode. Every line becomes either an item or a
 * rejection with its line number and reason; nothing is dropped silently and one bad line stops nothing.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { InvalidItemError } from '../errors.js';
import { validateItem } from './item-validator.js';
import type { StreamItem } from './types.js';

export type JsonlEntry = { line: number; item: StreamItem } | { line: number; error: InvalidItemError; raw: string };

/** Reads `input` line by line; blank lines are skipped, lines without an id get `line-<n>`. */
export async function* readJsonlItems(input: Readable, maxTextBytes: number): AsyncGenerator<JsonlEntry> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const raw of lines) {
    n++;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err: unknown) {
      yield { line: n, error: new InvalidItemError('not-json', `line ${n} is not JSON`, { cause: err }), raw };
      continue;
    }
    try {
      yield { line: n, item: validateItem(value, `line-${n}`, maxTextBytes) };
    } catch (err: unknown) {
      if (!(err instanceof InvalidItemError)) throw err;
      yield { line: n, error: err, raw };
    }
  }
}
