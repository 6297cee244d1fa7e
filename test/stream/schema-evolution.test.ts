import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { ItemDecoder, loadAvroType, loadTopicSchemas, loadTopicSettings, TOPICS_DIR, toWireFormat, type SchemaRegistry } from '../../src/stream/index.js';

interface AvroField {
  name: string;
  doc?: string;
  default?: unknown;
  type: unknown;
}

const current = loadTopicSchemas();
const v1 = loadAvroType(path.join(TOPICS_DIR, 'history/spillway.items.v1.avsc'));
const v1Item = { id: 'old-1', text: 'written by a v1 producer', task: null, metadata: { origin: 'legacy' } };

/** Every field of every (nested) record of a schema. */
function fieldsOf(schema: unknown, out: AvroField[] = []): AvroField[] {
  if (Array.isArray(schema)) for (const s of schema) fieldsOf(s, out);
  else if (typeof schema === 'object' && schema !== null) {
    const s = schema as { type?: unknown; fields?: AvroField[]; items?: unknown; values?: unknown };
    for (const f of s.fields ?? []) {
      out.push(f);
      fieldsOf(f.type, out);
    }
    if (s.items !== undefined) fieldsOf(s.items, out);
    if (s.values !== undefined) fieldsOf(s.values, out);
    if (typeof s.type === 'object') fieldsOf(s.type, out);
  }
  return out;
}

const schemaFiles = [
  ...readdirSync(TOPICS_DIR).filter((f) => f.endsWith('.avsc')),
  ...readdirSync(path.join(TOPICS_DIR, 'history')).map((f) => `history/${f}`),
];

describe('item schema evolution (v1 → v2)', () => {
  it('decodes records written with v1 using the current schema, the new field taking its default', () => {
    const written = v1.toBuffer(v1Item);
    const read = current.item.fromBuffer(written, current.item.createResolver(v1)) as Record<string, unknown>;
    expect(read).toEqual({ ...v1Item, eventTimeMs: null });
  });

  it('the worker decoder reads a v1 record framed with its registry id', async () => {
    const registry: SchemaRegistry = {
      register: () => Promise.reject(new Error('not used')),
      typeById: (id) => (id === 7 ? Promise.resolve(v1) : Promise.reject(new Error(`unknown id ${id}`))),
    };
    const decoder = new ItemDecoder({ format: 'avro', itemType: current.item, maxTextBytes: 1_000, registry });
    const item = await decoder.decode(toWireFormat(7, v1.toBuffer(v1Item)), null, { topic: 't', partition: 0, offset: '0' });
    expect(item).toEqual({ id: 'old-1', text: 'written by a v1 producer', metadata: { origin: 'legacy' } });
  });

  it('v2 only adds fields, each with a default', () => {
    const before = new Set(fieldsOf(JSON.parse(readFileSync(path.join(TOPICS_DIR, 'history/spillway.items.v1.avsc'), 'utf8'))).map((f) => f.name));
    const added = (current.item.schema() as { fields: AvroField[] }).fields.filter((f) => !before.has(f.name));
    expect(added.map((f) => f.name)).toEqual(['eventTimeMs']);
    const raw = JSON.parse(readFileSync(path.join(TOPICS_DIR, 'spillway.items.avsc'), 'utf8')) as { fields: AvroField[] };
    for (const f of raw.fields.filter((g) => added.some((a) => a.name === g.name))) expect(f).toHaveProperty('default');
  });
});

describe('the topic schemas', () => {
  it.each(schemaFiles)('%s is valid Avro with a doc on every field', (file) => {
    const schema = JSON.parse(readFileSync(path.join(TOPICS_DIR, file), 'utf8')) as unknown;
    expect(() => avro.Type.forSchema(schema as avro.Schema)).not.toThrow();
    const undocumented = fieldsOf(schema).filter((f) => typeof f.doc !== 'string' || f.doc.trim() === '');
    expect(undocumented.map((f) => f.name)).toEqual([]);
  });

  it('topics.yaml names the default topics and existing schema files', () => {
    const settings = loadTopicSettings();
    expect({
      input: settings.input.name,
      output: settings.output.name,
      deadLetter: settings.deadLetter.name,
      labels: settings.labels?.name,
      models: settings.models?.name,
    }).toEqual(DEFAULTS.kafka.topics);
    for (const s of Object.values(settings)) expect(schemaFiles).toContain(s.schema);
    expect(settings.output.config['cleanup.policy']).toContain('compact');
    // Shared learning: one label partition keeps one training order; snapshots are compacted.
    expect(settings.labels?.partitions).toBe(1);
    expect(settings.models?.config['cleanup.policy']).toBe('compact');
  });
});

describe('annotation schema evolution (v1 → v2: llmFailed)', () => {
  const annotationsV1 = loadAvroType(path.join(TOPICS_DIR, 'history/spillway.annotations.v1.avsc'));
  const record = {
    id: 'a-1',
    labelId: 2,
    label: 'anger',
    confidence: 0.9,
    answeredBy: 'mid',
    stages: [{ stage: 'lr', labelId: 2, confidence: 0.6, pDefer: 0.4, deferred: true }],
    pDefer: { lr: 0.4 },
    llmCalled: false,
    llmSource: 'none',
    llmUnparseable: false,
    audited: false,
    route: null,
    costUnits: 11,
    latencyMs: 0.05,
    modelVersions: { lr: 3 },
    metadata: {},
    processedAtMs: 1,
    processingMs: 1,
    inputTopic: 'spillway.items',
    inputPartition: 0,
    inputOffset: 5,
  };

  it('decodes annotations written with v1 using the current schema, llmFailed defaulting to false', () => {
    const written = annotationsV1.toBuffer(record);
    const read = current.annotation.fromBuffer(written, current.annotation.createResolver(annotationsV1)) as Record<string, unknown>;
    expect(read.llmFailed).toBe(false);
    expect(read.id).toBe('a-1');
    expect(read.stages).toEqual(record.stages);
  });
});

describe('annotation schema evolution (v2 → v3: reason)', () => {
  const annotationsV2 = loadAvroType(path.join(TOPICS_DIR, 'history/spillway.annotations.v2.avsc'));
  const record = {
    id: 'a-2',
    labelId: 1,
    label: 'fear',
    confidence: 0.8,
    answeredBy: 'llm',
    stages: [{ stage: 'lr', labelId: 2, confidence: 0.6, pDefer: 0.7, deferred: true }],
    pDefer: { lr: 0.7 },
    llmCalled: true,
    llmSource: 'call',
    llmUnparseable: false,
    llmFailed: false,
    audited: false,
    route: null,
    costUnits: 1011,
    latencyMs: 900,
    modelVersions: { lr: 3 },
    metadata: {},
    processedAtMs: 1,
    processingMs: 1,
    inputTopic: 'spillway.items',
    inputPartition: 0,
    inputOffset: 6,
  };

  it('decodes annotations written with v2 using the current schema, reason defaulting to the empty string', () => {
    const read = current.annotation.fromBuffer(annotationsV2.toBuffer(record), current.annotation.createResolver(annotationsV2)) as Record<string, unknown>;
    expect(read.reason).toBe('');
    expect(read.llmFailed).toBe(false);
    expect(read.id).toBe('a-2');
  });

  it('a v2 reader still reads a v3 annotation (the new field is skipped)', () => {
    const written = current.annotation.toBuffer({ ...record, reason: 'deadline' });
    const read = annotationsV2.fromBuffer(written, annotationsV2.createResolver(current.annotation)) as Record<string, unknown>;
    expect(read.id).toBe('a-2');
    expect(read).not.toHaveProperty('reason');
  });

  it('v3 only adds reason, with a default', () => {
    const before = new Set(fieldsOf(JSON.parse(readFileSync(path.join(TOPICS_DIR, 'history/spillway.annotations.v2.avsc'), 'utf8'))).map((f) => f.name));
    const raw = JSON.parse(readFileSync(path.join(TOPICS_DIR, 'history/spillway.annotations.v3.avsc'), 'utf8')) as { fields: AvroField[] };
    const added = raw.fields.filter((f) => !before.has(f.name));
    expect(added.map((f) => f.name)).toEqual(['reason']);
    expect(added[0]).toHaveProperty('default', '');
  });
});

describe('schema evolution for records cut to fit their topic (annotation v4, dead letter v2)', () => {
  const history = (file: string): AvroField[] => fieldsOf(JSON.parse(readFileSync(path.join(TOPICS_DIR, 'history', file), 'utf8')));
  const currentFields = (file: string): AvroField[] => (JSON.parse(readFileSync(path.join(TOPICS_DIR, file), 'utf8')) as { fields: AvroField[] }).fields;

  it('each only adds truncated, defaulting to false', () => {
    for (const [old, now] of [
      ['spillway.annotations.v3.avsc', 'history/spillway.annotations.v4.avsc'],
      ['spillway.dead-letter.v1.avsc', 'spillway.dead-letter.avsc'],
    ] as const) {
      const before = new Set(history(old).map((f) => f.name));
      const added = currentFields(now).filter((f) => !before.has(f.name));
      expect(
        added.map((f) => f.name),
        now,
      ).toEqual(['truncated']);
      expect(added[0]).toHaveProperty('default', false);
    }
  });

  it('a dead letter written with v1 decodes with the current schema as not truncated, and a v1 reader reads a v2 one', () => {
    const v1 = loadAvroType(path.join(TOPICS_DIR, 'history/spillway.dead-letter.v1.avsc'));
    const letter = {
      key: Buffer.from('k'),
      value: Buffer.from('v'),
      topic: 't',
      partition: 0,
      offset: 3,
      errorKind: 'not-json',
      errorMessage: 'bad',
      timeMs: 1,
    };
    const read = current.deadLetter.fromBuffer(v1.toBuffer(letter), current.deadLetter.createResolver(v1)) as Record<string, unknown>;
    expect(read.truncated).toBe(false);
    const back = v1.fromBuffer(current.deadLetter.toBuffer({ ...letter, truncated: true }), v1.createResolver(current.deadLetter)) as Record<string, unknown>;
    expect(back.errorKind).toBe('not-json');
    expect(back).not.toHaveProperty('truncated');
  });
});

describe('annotation schema evolution (v4 → v5: llmTier)', () => {
  const annotationsV4 = loadAvroType(path.join(TOPICS_DIR, 'history/spillway.annotations.v4.avsc'));
  const v4Record = {
    id: 'a-1',
    labelId: 1,
    label: 'sadness',
    confidence: 1,
    answeredBy: 'llm',
    stages: [{ stage: 'llm', labelId: 1, confidence: 1, pDefer: 0, deferred: false }],
    pDefer: {},
    llmCalled: true,
    llmSource: 'call',
    llmUnparseable: false,
    llmFailed: false,
    audited: false,
    reason: 'deferred',
    route: null,
    costUnits: 1100,
    latencyMs: 3,
    modelVersions: {},
    metadata: {},
    processedAtMs: 1,
    processingMs: 2,
    inputTopic: 'in',
    inputPartition: 0,
    inputOffset: 7,
    truncated: false,
  };

  it('only adds llmTier, an optional int defaulting to null', () => {
    const before = new Set(fieldsOf(JSON.parse(readFileSync(path.join(TOPICS_DIR, 'history/spillway.annotations.v4.avsc'), 'utf8'))).map((f) => f.name));
    const raw = JSON.parse(readFileSync(path.join(TOPICS_DIR, 'spillway.annotations.avsc'), 'utf8')) as { fields: AvroField[] };
    const added = raw.fields.filter((f) => !before.has(f.name));
    expect(added.map((f) => f.name)).toEqual(['llmTier']);
    expect(added[0]).toMatchObject({ type: ['null', 'int'], default: null });
  });

  it('a v4 annotation decodes with the current schema, llmTier null; a v4 reader reads a v5 one without it', () => {
    const read = current.annotation.fromBuffer(annotationsV4.toBuffer(v4Record), current.annotation.createResolver(annotationsV4)) as Record<string, unknown>;
    expect(read).toEqual({ ...v4Record, llmTier: null });
    const back = annotationsV4.fromBuffer(current.annotation.toBuffer({ ...v4Record, llmTier: 1 }), annotationsV4.createResolver(current.annotation)) as Record<
      string,
      unknown
    >;
    expect(back).toEqual(v4Record);
  });
});
