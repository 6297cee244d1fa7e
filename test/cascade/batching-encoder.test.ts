/**
 * The encoders' shared queue: concurrent texts batched, urgent ones (labels the stages must learn before more
 * items are decided) encoded before everything already queued.
 */
import { describe, expect, it } from 'vitest';
import { BatchingEncoder } from '../../src/cascade/sentence-encoder.js';

/** A one-number "encoder" that records the batches it ran, in order. */
class RecordingEncoder extends BatchingEncoder {
  readonly name = 'recording';
  readonly dimensions = 1;
  readonly batches: string[][] = [];

  protected run(texts: string[]): Promise<Float32Array> {
    this.batches.push(texts);
    return Promise.resolve(Float32Array.from(texts, (t) => t.length));
  }
}

describe('BatchingEncoder', () => {
  it('encodes urgent texts before every text queued ahead of them', async () => {
    const encoder = new RecordingEncoder({ maxBatch: 4 });
    const items = Array.from({ length: 10 }, (_, i) => encoder.embed(`item ${i}`));
    const label = encoder.embed('a label', true);
    await Promise.all([...items, label]);
    expect(encoder.batches[0]).toEqual(['a label', 'item 0', 'item 1', 'item 2']);
    expect(encoder.batches.flat()).toHaveLength(11);
    expect(await label).toEqual(Float32Array.of('a label'.length));
  });

  it('keeps the order of what is not urgent, and encodes a text in flight once', async () => {
    const encoder = new RecordingEncoder({ maxBatch: 2 });
    await Promise.all(['a', 'b', 'a', 'c'].map((t) => encoder.embed(t)));
    expect(encoder.batches).toEqual([['a', 'b'], ['c']]);
  });
});
