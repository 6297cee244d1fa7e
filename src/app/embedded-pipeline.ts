/**
 * The embedded pipeline: JSONL entries through the cascade to a writable, with no Kafka. Up to `window` items
 * are in flight, so the small stages answer most of them at once while LLM-bound ones wait for the scheduler;
 * annotations are written in input order (an LLM-bound item holds back the writes after it, not their
 * processing) or, unordered, as each is ready. Rejected lines go to a rejects file, never dropped silently.
 * `spillway start` runs it; so can any caller that has a cascade and a source.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { Annotation, Cascade, Item } from '../cascade/index.js';
import { demoItems } from '../demo/index.js';
import type { JsonlEntry } from '../stream/index.js';
import type { Logger } from './logger.js';

/** Passes entries on at most `perSecond`, paced over the whole run (short stalls are caught up). */
export async function* paced<T>(source: AsyncIterable<T>, perSecond: number, signal: AbortSignal): AsyncGenerator<T> {
  const startMs = Date.now();
  let n = 0;
  for await (const entry of source) {
    const aheadMs = (n / perSecond) * 1000 - (Date.now() - startMs);
    if (aheadMs > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, aheadMs));
    n++;
    yield entry;
  }
}

export async function* demoEntries(count: number): AsyncGenerator<JsonlEntry> {
  let line = 0;
  for (const item of demoItems(count)) yield { line: ++line, item };
}

export interface EmbeddedOptions {
  output: Writable;
  rejectsPath: string;
  logger: Logger;
  /** Told the running count of rejected lines (the live line shows it). */
  onRejected?: (rejected: number) => void;
  signal: AbortSignal;
  /** Items in flight at once (`pipeline.maxInFlight`): a memory bound, not the LLM's concurrency. */
  window: number;
  /** Write annotations in input order (an LLM-bound item holds back the ones after it, not their processing). @defaultValue true */
  ordered?: boolean;
}

/**
 * Streams entries through the cascade, writing annotations (in input order unless `ordered` is false) and
 * rejected lines to the rejects file. Up to `window` items are in flight: the small stages answer most of
 * them at once while LLM-bound ones wait for the scheduler.
 */
export async function runEmbedded(cascade: Cascade, source: AsyncIterable<JsonlEntry>, options: EmbeddedOptions): Promise<{ items: number; rejected: number }> {
  if (options.ordered === false) return runUnordered(cascade, source, options);
  const pending: Array<Promise<Annotation>> = [];
  let items = 0;
  const write = async (a: Annotation): Promise<void> => {
    if (!options.output.write(`${JSON.stringify(a)}\n`)) await new Promise((resolve) => options.output.once('drain', resolve));
  };
  const reject = rejecter(options);
  for await (const entry of source) {
    if (options.signal.aborted) break;
    if ('error' in entry) {
      reject(entry);
      continue;
    }
    const item: Item = entry.item;
    pending.push(cascade.process(item));
    items++;
    // Only the head is awaited: items behind it keep being processed, up to the window.
    if (pending.length >= options.window) await write(await (pending.shift() as Promise<Annotation>));
  }
  for (const p of pending) await write(await p);
  return { items, rejected: await reject.close() };
}

/** As runEmbedded, each annotation written when it is ready. */
async function runUnordered(cascade: Cascade, source: AsyncIterable<JsonlEntry>, options: EmbeddedOptions): Promise<{ items: number; rejected: number }> {
  let items = 0;
  let inFlight = 0;
  let freed: (() => void) | undefined;
  let writing: Promise<void> = Promise.resolve();
  const write = (a: Annotation): void => {
    // Writes are chained so that backpressure from the output is honoured in order.
    writing = writing.then(() =>
      options.output.write(`${JSON.stringify(a)}\n`) ? undefined : new Promise((resolve) => options.output.once('drain', resolve)),
    );
  };
  const done = (a: Annotation): void => {
    write(a);
    inFlight--;
    freed?.();
  };
  const reject = rejecter(options);
  let failure: unknown;
  for await (const entry of source) {
    if (options.signal.aborted || failure !== undefined) break;
    if ('error' in entry) {
      reject(entry);
      continue;
    }
    inFlight++;
    items++;
    cascade.process(entry.item).then(done, (err: unknown) => {
      failure ??= err;
      inFlight--;
      freed?.();
    });
    while (inFlight >= options.window) await new Promise<void>((resolve) => (freed = resolve));
  }
  while (inFlight > 0) await new Promise<void>((resolve) => (freed = resolve));
  await writing;
  if (failure !== undefined) throw failure;
  return { items, rejected: await reject.close() };
}

/** Writes rejected lines to the rejects file (opened on the first one) and counts them. */
function rejecter(options: EmbeddedOptions): ((entry: Extract<JsonlEntry, { error: unknown }>) => void) & { close(): Promise<number> } {
  let rejects: WriteStream | undefined;
  let rejected = 0;
  const reject = (entry: Extract<JsonlEntry, { error: unknown }>): void => {
    rejected++;
    options.logger.warn({ line: entry.line, kind: entry.error.kind, reason: entry.error.message }, 'line rejected');
    rejects ??= createWriteStream(options.rejectsPath, { flags: 'a' });
    rejects.write(`${JSON.stringify({ line: entry.line, kind: entry.error.kind, reason: entry.error.message, raw: entry.raw })}\n`);
    options.onRejected?.(rejected);
  };
  return Object.assign(reject, {
    close: async (): Promise<number> => {
      if (rejects !== undefined) await new Promise<void>((resolve) => (rejects as WriteStream).end(resolve));
      return rejected;
    },
  });
}
