import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { DecodeError, InvalidItemError, SchemaRegistryError } from '../../src/errors.js';
import type { ItemAnswer } from '../../src/stream/index.js';
import {
  buildCodecs,
  fromWireFormat,
  ItemDecoder,
  ItemEncoder,
  loadTopicSchemas,
  RecordDecoder,
  RecordEncoder,
  SchemaRegistryClient,
  deadLetterJson,
  toAnnotationRecord,
  toDeadLetter,
  toWireFormat,
  validateItem,
  type AnnotationRecord,
  type DeadLetterRecord,
} from '../../src/stream/index.js';
import { startRegistryDouble, type RegistryDouble } from './registry-double.js';

const schemas = loadTopicSchemas();
const origin = { topic: 'in', partition: 2, offset: '41' };
const json = new ItemDecoder({ format: 'json', itemType: schemas.item, maxTextBytes: 100 });
const avroDecoder = new ItemDecoder({ format: 'avro', itemType: schemas.item, maxTextBytes: 100 });

async function kindOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DecodeError);
  const decodeError = err as DecodeError;
  expect([decodeError.topic, decodeError.partition, decodeError.offset]).toEqual(['in', 2, '41']);
  return decodeError.kind;
}

describe('validateItem', () => {
  it('keeps the item fields and drops the rest', () => {
    expect(validateItem({ id: 7, text: 'hi', label: 3, metadata: { a: 'b' }, eventTimeMs: 5 }, undefined, 100)).toEqual({
      id: '7',
      text: 'hi',
      metadata: { a: 'b' },
      eventTimeMs: 5,
    });
  });

  it('takes the id from the record key when the value has none', () => {
    expect(validateItem({ text: 'hi' }, 'key-1', 100).id).toBe('key-1');
  });

  it.each([
    [{ text: 'x' }, undefined, 'missing-id'],
    [{ id: 'a' }, undefined, 'missing-text'],
    [{ id: 'a', text: '   ' }, undefined, 'empty-text'],
    [{ id: 'a', text: 42 }, undefined, 'wrong-schema'],
    [[1, 2], undefined, 'wrong-schema'],
    [{ id: 'a', text: 'ok', metadata: { n: 1 } }, undefined, 'wrong-schema'],
    [{ id: 'a', text: 'é'.repeat(51) }, undefined, 'oversize'],
  ])('rejects %j as %s', (raw, key, kind) => {
    expect(() => validateItem(raw, key, 100)).toThrow(InvalidItemError);
    try {
      validateItem(raw, key, 100);
    } catch (err: unknown) {
      expect((err as InvalidItemError).kind).toBe(kind);
    }
  });

  it('counts the limit in UTF-8 bytes, not characters', () => {
    expect(validateItem({ id: 'a', text: 'é'.repeat(50) }, undefined, 100).text).toHaveLength(50);
  });
});

describe('ItemDecoder with JSON input', () => {
  it('decodes an item', async () => {
    expect(await json.decode(Buffer.from('{"id":"1","text":"I was glad"}'), null, origin)).toEqual({ id: '1', text: 'I was glad' });
  });

  it('reports random bytes as not-json, with the record origin', async () => {
    expect(await kindOf(json.decode(Buffer.from([0xff, 0x00, 0x13, 0x37]), null, origin))).toBe('not-json');
  });

  it('reports a record without value as missing-text', async () => {
    expect(await kindOf(json.decode(null, Buffer.from('k'), origin))).toBe('missing-text');
  });
});

describe('ItemDecoder with Avro input', () => {
  const encoder = new ItemEncoder('avro', schemas.item);

  it('round-trips an item through the current schema', async () => {
    const item = { id: 'x1', text: 'a text', task: 'isear', metadata: { src: 't' }, eventTimeMs: 1_700_000_000_000 };
    expect(await avroDecoder.decode(encoder.encode(item), null, origin)).toEqual(item);
  });

  it('reports JSON sent to an Avro topic as not-avro', async () => {
    expect(await kindOf(avroDecoder.decode(Buffer.from('{"id":"1","text":"x"}'), null, origin))).toBe('not-avro');
  });

  it('validates decoded Avro items too (empty text)', async () => {
    expect(await kindOf(avroDecoder.decode(encoder.encode({ id: 'e', text: '' }), null, origin))).toBe('empty-text');
  });
});

describe('with a schema registry (Confluent wire format)', () => {
  let registry: RegistryDouble;
  beforeAll(async () => {
    registry = await startRegistryDouble();
  });
  afterAll(async () => {
    await registry.close();
  });

  it('registers the schemas under <topic>-value and frames records with the id', async () => {
    const config = { ...DEFAULTS.kafka, inputFormat: 'avro' as const, outputFormat: 'avro' as const, schemaRegistryUrl: registry.url };
    const codecs = await buildCodecs(config);
    expect(registry.requests).toContain('POST /subjects/spillway.items-value/versions');
    const record = codecs.itemEncoder.encode({ id: 'w1', text: 'framed' });
    const framed = fromWireFormat(record);
    expect(framed?.schemaId).toBeGreaterThan(0);
    expect(await codecs.itemDecoder.decode(record, null, origin)).toEqual({ id: 'w1', text: 'framed' });
  });

  it('dead-letters an unframed record as not-avro and an incompatible writer schema as wrong-schema', async () => {
    const decoder = new ItemDecoder({ format: 'avro', itemType: schemas.item, maxTextBytes: 100, registry: new SchemaRegistryClient(registry.url) });
    expect(await kindOf(decoder.decode(schemas.item.toBuffer({ id: 'a', text: 'b', task: null, metadata: {}, eventTimeMs: null }), null, origin))).toBe(
      'not-avro',
    );
    const alien = {
      type: 'record',
      name: 'Item',
      namespace: 'dev.spillway',
      fields: [
        { name: 'id', type: 'string' },
        { name: 'score', type: 'double' },
      ],
    };
    const alienId = registry.add(alien);
    const body = (await import('avsc')).default.Type.forSchema(alien as never).toBuffer({ id: 'a', score: 1 });
    expect(await kindOf(decoder.decode(toWireFormat(alienId, body), null, origin))).toBe('wrong-schema');
  });

  it('fails with a retriable SchemaRegistryError, not a dead letter, when the registry is down', async () => {
    const decoder = new ItemDecoder({
      format: 'avro',
      itemType: schemas.item,
      maxTextBytes: 100,
      registry: new SchemaRegistryClient('http://127.0.0.1:9', { timeoutMs: 2_000 }),
    });
    const err = await decoder.decode(toWireFormat(1, Buffer.from([2, 97])), null, origin).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as SchemaRegistryError).retriable).toBe(true);
  });
});

describe('output records', () => {
  const answer = {
    id: 'i1',
    labelId: 2,
    label: 'anger',
    confidence: 0.9,
    answeredBy: 'mid',
    pDefer: { lr: 0.7, mid: 0.1 },
    stages: [
      { stage: 'lr', labelId: 1, confidence: 0.4, pDefer: 0.7, deferred: true },
      { stage: 'mid', labelId: 2, confidence: 0.9, pDefer: 0.1, deferred: false },
    ],
    llmCalled: false,
    llmSource: 'none',
    llmUnparseable: false,
    llmFailed: false,
    audited: false,
    reason: 'deferred',
    costUnits: 11,
    latencyMs: 3.5,
    modelVersions: { lr: 10, mid: 4 },
  } satisfies ItemAnswer;

  it('an annotation round-trips through Avro and JSON with its input origin', async () => {
    const record = toAnnotationRecord(answer, origin, 1_000, 1_250);
    expect(record).toMatchObject({ inputTopic: 'in', inputPartition: 2, inputOffset: 41, processingMs: 250, route: null, metadata: {} });
    for (const format of ['avro', 'json'] as const) {
      const encoded = new RecordEncoder<AnnotationRecord>(format, schemas.annotation).encode(record);
      expect(await new RecordDecoder(schemas.annotation).decode(encoded, origin)).toEqual(record);
    }
  });

  it('a dead letter keeps the original bytes (base64 in JSON)', async () => {
    const record = toDeadLetter(Buffer.from('k'), Buffer.from([0, 255]), origin, 'not-json', 'bad', 5);
    const avroBack = await new RecordDecoder(schemas.deadLetter).decode(new RecordEncoder<DeadLetterRecord>('avro', schemas.deadLetter).encode(record), origin);
    expect(avroBack).toEqual(record);
    const jsonBack = await new RecordDecoder(schemas.deadLetter).decode(
      new RecordEncoder<DeadLetterRecord>('json', schemas.deadLetter, undefined, deadLetterJson).encode(record),
      origin,
    );
    expect(jsonBack).toMatchObject({ key: 'aw==', value: 'AP8=', errorKind: 'not-json', offset: 41 });
  });
});
