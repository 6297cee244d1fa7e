/**
 * Input edges: a UTF-8 BOM, lines of hundreds of MB, texts with nothing to read, and Avro records
 * of another schema read without a registry.
 */
import { Readable } from 'node:stream';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { DecodeError, InvalidItemError } from '../../src/errors.js';
import path from 'node:path';
import {
  fingerprint64,
  IdMemory,
  ItemDecoder,
  ItemEncoder,
  loadAvroType,
  loadTopicSchemas,
  schemaFingerprint,
  TOPICS_DIR,
  toSingleObject,
  readJsonlItems,
  rejectDuplicateIds,
  toWireFormat,
  validateItem,
  type JsonlEntry,
} from '../../src/stream/index.js';

const schemas = loadTopicSchemas();
const origin = { topic: 'in', partition: 0, offset: '7' };

async function collect(source: AsyncIterable<JsonlEntry>): Promise<JsonlEntry[]> {
  const out: JsonlEntry[] = [];
  for await (const e of source) out.push(e);
  return out;
}

/** A stream of `lines`, where a line given as a number is that many bytes of 'x' sent in 1 MiB chunks. */
function stream(lines: Array<string | number>): Readable {
  const chunk = Buffer.alloc(1 << 20, 0x78);
  return Readable.from(
    (function* () {
      for (const line of lines) {
        if (typeof line === 'string') yield Buffer.from(`${line}\n`);
        else {
          for (let left = line; left > 0; left -= chunk.length) yield left >= chunk.length ? chunk : chunk.subarray(0, left);
          yield Buffer.from('\n');
        }
      }
    })(),
  );
}

describe('the JSONL source', () => {
  it('drops a UTF-8 byte-order mark before the first line', async () => {
    const input = Readable.from([Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":"a","text":"first"}\r\n{"id":"b","text":"second"}\n')])]);
    const entries = await collect(readJsonlItems(input, 1000));
    expect(entries).toEqual([
      { line: 1, item: { id: 'a', text: 'first' } },
      { line: 2, item: { id: 'b', text: 'second' } },
    ]);
  });

  it('rejects a 300 MB line as oversize with its length, and reads the lines after it', async () => {
    const big = 300 * 2 ** 20;
    const entries = await collect(readJsonlItems(stream(['{"id":"a","text":"before"}', big, '{"id":"c","text":"after"}']), 1000, 1 << 20));
    expect(entries).toHaveLength(3);
    expect(entries[0]).toEqual({ line: 1, item: { id: 'a', text: 'before' } });
    const rejected = entries[1] as Extract<JsonlEntry, { error: unknown }>;
    expect(rejected.line).toBe(2);
    expect(rejected.error).toBeInstanceOf(InvalidItemError);
    expect(rejected.error.kind).toBe('oversize');
    expect(rejected.error.message).toContain(`${big} bytes`);
    // Only the head of the line is kept for the rejects file.
    expect(rejected.raw.length).toBeLessThan(300);
    expect(entries[2]).toEqual({ line: 3, item: { id: 'c', text: 'after' } });
  });

  it('rejects an oversize last line without a newline', async () => {
    const input = Readable.from([Buffer.from('{"id":"a","text":"ok"}\n'), Buffer.alloc(5000, 0x78)]);
    const entries = await collect(readJsonlItems(input, 1000, 4096));
    expect(entries.map((e) => ('error' in e ? e.error.kind : e.item.id))).toEqual(['a', 'oversize']);
  });

  it('stops reading when its signal aborts', async () => {
    const controller = new AbortController();
    const endless = new Readable({ read() {} });
    endless.push('{"id":"a","text":"one"}\n');
    const seen: JsonlEntry[] = [];
    for await (const e of readJsonlItems(endless, 1000, 4096, controller.signal)) {
      seen.push(e);
      controller.abort();
    }
    expect(seen).toHaveLength(1);
  });
});

describe('a text with nothing to read', () => {
  it.each([
    ['NULs', '\u0000\u0000\u0000'],
    ['replacement characters from invalid UTF-8', Buffer.from([0xff, 0xfe, 0xc3]).toString('utf8')],
    ['punctuation', '?!... --- ***'],
  ])('is rejected as empty-text: %s', (_name, text) => {
    const err = (() => {
      try {
        validateItem({ id: 'a', text }, undefined, 1000);
      } catch (e: unknown) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(InvalidItemError);
    expect((err as InvalidItemError).kind).toBe('empty-text');
  });

  it.each([
    ['a word', 'ok'],
    ['a digit', '5'],
    ['an emoji', '😡😡'],
    ['another script', 'привет'],
    ['CJK', '好'],
  ])('keeps a text with %s', (_name, text) => {
    expect(validateItem({ id: 'a', text }, undefined, 1000).text).toBe(text);
  });

  it('is dead-lettered from Kafka too (the decoder shares the validator)', async () => {
    const decoder = new ItemDecoder({ format: 'json', itemType: schemas.item, maxTextBytes: 1000 });
    const err = await decoder.decode(Buffer.from(JSON.stringify({ id: 'a', text: '\u0000\ufffd!' })), null, origin).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    expect((err as DecodeError).kind).toBe('empty-text');
  });
});

describe('an item id', () => {
  const kindOf = (fn: () => unknown): string | undefined => {
    try {
      fn();
    } catch (e: unknown) {
      return e instanceof InvalidItemError ? e.kind : 'other';
    }
    return undefined;
  };

  it('over kafka.maxIdBytes is rejected as oversize-id before the text is looked at, whether in the value or the key', () => {
    const id = 'i'.repeat(300_000);
    expect(kindOf(() => validateItem({ id, text: '' }, undefined, { maxTextBytes: 1000, maxIdBytes: 1024 }))).toBe('oversize-id');
    expect(kindOf(() => validateItem({ text: 'fine' }, id, { maxTextBytes: 1000, maxIdBytes: 1024 }))).toBe('oversize-id');
    // Multi-byte characters count in bytes: 400 × 3 bytes is over 1024.
    expect(kindOf(() => validateItem({ id: '好'.repeat(400), text: 'x' }, undefined, { maxTextBytes: 1000, maxIdBytes: 1024 }))).toBe('oversize-id');
    expect(validateItem({ id: 'i'.repeat(1024), text: 'x' }, undefined, { maxTextBytes: 1000, maxIdBytes: 1024 }).id).toHaveLength(1024);
  });

  it('repeated on a later JSONL line is rejected as duplicate-id naming the first line', async () => {
    const lines = ['{"id":"a","text":"one"}', '{"id":"b","text":"two"}', '{"id":"a","text":"again"}', '{"text":"no id"}'];
    const entries = await collect(rejectDuplicateIds(readJsonlItems(stream(lines), 1000), new IdMemory(100)));
    expect(entries.map((e) => ('error' in e ? e.error.kind : e.item.id))).toEqual(['a', 'b', 'duplicate-id', 'line-4']);
    const dup = entries[2] as Extract<JsonlEntry, { error: unknown }>;
    expect(dup.error.message).toContain('line 3 repeats the id "a" of line 1');
  });
});

describe('the id memory', () => {
  it('knows a record seen again (a refetch) from a repeat at another offset, and forgets the oldest ids first', () => {
    const ids = new IdMemory(2);
    const at = (offset: number): { topic: string; partition: number; offset: string } => ({ topic: 't', partition: 0, offset: String(offset) });
    expect(ids.claim('a', at(0))).toBeUndefined();
    expect(ids.claim('a', at(0))).toBeUndefined(); // the same record again
    expect(ids.claim('a', at(5))).toEqual(at(0));
    ids.claim('b', at(1));
    ids.claim('c', at(2));
    expect(ids.claim('a', at(9))).toBeUndefined(); // forgotten: capacity 2
  });
});

describe('Kafka JSON records', () => {
  it('accept a UTF-8 byte-order mark', async () => {
    const decoder = new ItemDecoder({ format: 'json', itemType: schemas.item, maxTextBytes: 1000 });
    const item = await decoder.decode(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"id":"a","text":"hi"}')]), null, origin);
    expect(item).toEqual({ id: 'a', text: 'hi' });
  });
});

describe('plain Avro input without a schema registry (kafka.avroWithoutRegistry: plain)', () => {
  const decoder = new ItemDecoder({ format: 'avro', itemType: schemas.item, maxTextBytes: 1000, avroWithoutRegistry: 'plain' });
  const kind = async (value: Buffer): Promise<string> => {
    const err = await decoder.decode(value, null, origin).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    return (err as DecodeError).kind;
  };

  it('reads records written with the item schema', async () => {
    const value = schemas.item.toBuffer({ id: 'a', text: 'hello', task: null, metadata: { k: 'v' }, eventTimeMs: 5 });
    expect(await decoder.decode(value, null, origin)).toEqual({ id: 'a', text: 'hello', metadata: { k: 'v' }, eventTimeMs: 5 });
  });

  it('dead-letters a record of another schema that happens to decode, as wrong-schema', async () => {
    // Three strings and two empty markers: it decodes as an item, with the wrong meaning.
    const alien = avro.Type.forSchema({
      type: 'record',
      name: 'Order',
      fields: [
        { name: 'customer', type: 'string' },
        { name: 'note', type: 'string' },
        { name: 'flags', type: { type: 'array', items: 'int' } },
        { name: 'tags', type: { type: 'array', items: 'int' } },
        { name: 'coupon', type: 'string' },
      ],
    });
    const value = alien.toBuffer({ customer: 'ann', note: 'hello there', flags: [], tags: [], coupon: 'zz' });
    expect(() => schemas.item.fromBuffer(value)).toThrow(); // sanity: not silently an item…
    expect(await kind(value)).toMatch(/wrong-schema|not-avro/);
    const sneaky = avro.Type.forSchema({
      type: 'record',
      name: 'Note',
      fields: [
        { name: 'author', type: 'string' },
        { name: 'body', type: 'bytes' },
        { name: 'a', type: 'int' },
        { name: 'b', type: 'int' },
        { name: 'c', type: 'int' },
      ],
    });
    // Bytes that are not UTF-8 in a field the item schema reads as a string: decodes, but not as written.
    const bytes = sneaky.toBuffer({ author: 'bob', body: Buffer.from([0x68, 0xff, 0x69]), a: 0, b: 0, c: 0 });
    expect(() => schemas.item.fromBuffer(bytes)).not.toThrow(); // …while this one is, before the fix
    expect(await kind(bytes)).toBe('wrong-schema');
  });

  it('names a registry-framed record read without a registry', async () => {
    // (the same holds for the single-object framing, below)
    const body = schemas.item.toBuffer({ id: 'a', text: 'hello', task: null, metadata: {}, eventTimeMs: null });
    const err = await decoder.decode(toWireFormat(12, body), null, origin).catch((e: unknown) => e);
    expect((err as DecodeError).kind).toBe('wrong-schema');
    expect((err as Error).message).toContain('schemaRegistryUrl');
  });
});

describe('Avro input without a schema registry (the single-object encoding, the default)', () => {
  const decoder = new ItemDecoder({ format: 'avro', itemType: schemas.item, maxTextBytes: 1000 });
  const errorOf = async (value: Buffer): Promise<DecodeError> => {
    const err = await decoder.decode(value, null, origin).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DecodeError);
    return err as DecodeError;
  };
  const field = (name: string, type: avro.Schema): { name: string; type: avro.Schema } => ({ name, type });
  const record = (name: string, fields: Array<{ name: string; type: avro.Schema }>): avro.Type => avro.Type.forSchema({ type: 'record', name, fields });
  /** Records of other schemas, several of whose bytes read as a plausible item. */
  const foreign: Array<[avro.Type, unknown]> = [
    [
      record('Order', [field('customer', 'string'), field('note', 'string'), field('a', 'int'), field('b', 'int'), field('c', 'int')]),
      { customer: 'ann', note: 'hi there', a: 0, b: 0, c: 0 },
    ],
    [
      record('Note', [
        field('author', 'string'),
        field('body', 'string'),
        field('x', ['null', 'string']),
        field('tags', { type: 'map', values: 'string' }),
        field('t', ['null', 'long']),
      ]),
      { author: 'a', body: 'same shape, other names', x: null, tags: {}, t: null },
    ],
    [
      record('Pair', [field('k', 'string'), field('v', 'string'), field('n', 'boolean'), field('m', 'boolean'), field('o', 'boolean')]),
      { k: 'k', v: 'value text', n: false, m: false, o: false },
    ],
    [
      record('Blob', [field('bytes', 'bytes'), field('more', 'bytes'), field('z', 'long'), field('y', 'long'), field('w', 'long')]),
      { bytes: Buffer.from('id'), more: Buffer.from('a text'), z: 0, y: 0, w: 0 },
    ],
    [
      record('Event', [
        field('name', 'string'),
        field('payload', 'string'),
        field('flags', { type: 'array', items: 'int' }),
        field('refs', { type: 'array', items: 'int' }),
        field('end', ['null', 'int']),
      ]),
      { name: 'e', payload: 'an event text', flags: [], refs: [], end: null },
    ],
  ];

  it('reads items written with the single-object encoding, of the current schema and of version 1', async () => {
    const item = { id: 'a', text: 'hello', metadata: { k: 'v' }, eventTimeMs: 5 };
    const written = new ItemEncoder('avro', schemas.item).encode(item);
    expect(written.subarray(0, 2)).toEqual(Buffer.from([0xc3, 0x01]));
    expect(await decoder.decode(written, null, origin)).toEqual(item);
    const v1 = loadAvroType(path.join(TOPICS_DIR, 'history/spillway.items.v1.avsc'));
    const old = toSingleObject(schemaFingerprint(v1), v1.toBuffer({ id: 'b', text: 'older producer', task: null, metadata: {} }));
    expect(await decoder.decode(old, null, origin)).toEqual({ id: 'b', text: 'older producer' });
  });

  it('dead-letters every record of another schema as wrong-schema, framed or not, whose plain bytes would pass', async () => {
    const plain = new ItemDecoder({ format: 'avro', itemType: schemas.item, maxTextBytes: 1000, avroWithoutRegistry: 'plain' });
    let passedPlain = 0;
    for (const [type, value] of foreign) {
      const bytes = type.toBuffer(value);
      if (
        await plain.decode(bytes, null, origin).then(
          () => true,
          () => false,
        )
      )
        passedPlain++;
      expect((await errorOf(bytes)).kind).toBe('not-avro');
      const framed = await errorOf(toSingleObject(schemaFingerprint(type), bytes));
      expect(framed.kind).toBe('wrong-schema');
      expect(framed.message).toMatch(/written with the schema of fingerprint [0-9a-f]{16}, not the item schema \([0-9a-f]{16}\)/);
    }
    // Plain Avro cannot tell these apart: most of them read as items.
    expect(passedPlain).toBeGreaterThanOrEqual(3);
  });

  it('matches the Avro specification’s fingerprint of "null"', () => {
    // CRC-64-AVRO of `"null"`: 0x63dd24e7cc258f8a (Avro's schema fingerprint test data).
    expect(fingerprint64('"null"').readBigUInt64LE()).toBe(0x63dd24e7cc258f8an);
  });
});
