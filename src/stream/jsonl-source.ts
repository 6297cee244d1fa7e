/**
 * Items from a JSONL stream (a file or stdin), for the embedded mode. Every line becomes either an item or a
 * rejection with its line number and reason; nothing is dropped silently and one bad line stops nothing.
 *
 * Lines are split from the raw bytes, never holding more than `maxLineBytes` of one line: a longer line is
 * counted to its end and rejected as `oversize` (a line of hundreds of MB used to crash the process and lose
 * every line after it). A UTF-8 byte-order mark before the first line is dropped.
 */
import type { Readable } from 'node:stream';
import { InvalidItemError } from '../errors.js';
import type { IdMemory } from './id-memory.js';
import { validateItem, type ItemLimits } from './item-validator.js';
import type { StreamItem } from './types.js';

export type JsonlEntry = { line: number; item: StreamItem } | { line: number; error: InvalidItemError; raw: string };

/** Longest line read by default, bytes. */
export const DEFAULT_MAX_LINE_BYTES = 1_048_576;

/** Bytes of an oversize line kept for the rejects file, so the operator can tell which line it was. */
const OVERSIZE_HEAD_BYTES = 256;
const NEWLINE = 0x0a;

type RawLine = { n: number; text: string } | { n: number; bytes: number; head: string };

/**
 * Reads `input` line by line; blank lines are skipped, lines without an id get `line-<n>`.
 * @param limits the item limits (validateItem), or the text limit alone.
 * @param maxLineBytes longest line accepted, bytes (newline excluded). @defaultValue DEFAULT_MAX_LINE_BYTES
 * @param signal stops reading (the input is destroyed) when it aborts.
 */
export async function* readJsonlItems(
  input: Readable,
  limits: number | ItemLimits,
  maxLineBytes = DEFAULT_MAX_LINE_BYTES,
  signal?: AbortSignal,
): AsyncGenerator<JsonlEntry> {
  for await (const raw of splitLines(input, maxLineBytes, signal)) {
    const n = raw.n;
    if ('bytes' in raw) {
      yield {
        line: n,
        error: new InvalidItemError('oversize', `line ${n} is ${raw.bytes} bytes, over the ${maxLineBytes}-byte line limit (--max-line-bytes)`),
        raw: `${raw.head}…`,
      };
      continue;
    }
    if (raw.text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw.text);
    } catch (err: unknown) {
      yield { line: n, error: new InvalidItemError('not-json', `line ${n} is not JSON`, { cause: err }), raw: raw.text };
      continue;
    }
    try {
      yield { line: n, item: validateItem(value, `line-${n}`, limits) };
    } catch (err: unknown) {
      if (!(err instanceof InvalidItemError)) throw err;
      yield { line: n, error: err, raw: raw.text };
    }
  }
}

/**
 * Passes entries on, except that a line repeating the id of a remembered earlier line becomes a rejection
 * `duplicate-id` naming that line: an id is answered once.
 */
export async function* rejectDuplicateIds(source: AsyncIterable<JsonlEntry>, ids: IdMemory): AsyncGenerator<JsonlEntry> {
  for await (const entry of source) {
    if ('error' in entry) {
      yield entry;
      continue;
    }
    const first = ids.claim(entry.item.id, { topic: 'input', partition: 0, offset: String(entry.line) });
    if (first === undefined) {
      yield entry;
      continue;
    }
    const error = new InvalidItemError(
      'duplicate-id',
      `line ${entry.line} repeats the id ${JSON.stringify(entry.item.id)} of line ${first.offset}: an id is answered once (kafka.rememberIds recent ids are remembered)`,
    );
    yield { line: entry.line, error, raw: JSON.stringify(entry.item) };
  }
}

/** Splits bytes into lines (LF or CRLF), each at most `maxLineBytes`; longer ones are reported, not kept. */
async function* splitLines(input: Readable, maxLineBytes: number, signal: AbortSignal | undefined): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let size = 0;
  // Set while skipping the rest of an oversize line: its length so far and its first bytes.
  let oversize: { bytes: number; head: string } | undefined;
  let n = 0;
  const finish = (): RawLine => {
    n++;
    let line: RawLine;
    if (oversize !== undefined) line = { n, ...oversize };
    else {
      let text = Buffer.concat(parts, size).toString('utf8');
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (n === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      line = { n, text };
    }
    parts = [];
    size = 0;
    oversize = undefined;
    return line;
  };
  const onAbort = (): void => void input.destroy();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for await (const chunk of input) {
      const buf: Buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
      let start = 0;
      while (start <= buf.length) {
        const nl = buf.indexOf(NEWLINE, start);
        const end = nl < 0 ? buf.length : nl;
        const piece = buf.subarray(start, end);
        if (oversize !== undefined) oversize.bytes += piece.length;
        else if (size + piece.length > maxLineBytes) {
          const head = Buffer.concat([...parts, piece.subarray(0, OVERSIZE_HEAD_BYTES)])
            .subarray(0, OVERSIZE_HEAD_BYTES)
            .toString('utf8');
          oversize = { bytes: size + piece.length, head };
          parts = [];
          size = 0;
        } else if (piece.length > 0) {
          parts.push(piece);
          size += piece.length;
        }
        if (nl < 0) break;
        yield finish();
        start = nl + 1;
      }
    }
  } catch (err: unknown) {
    // Destroyed on purpose (stopping): the lines read so far were all handed out.
    if (signal?.aborted !== true) throw err;
    return;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  if (size > 0 || oversize !== undefined) yield finish();
}
