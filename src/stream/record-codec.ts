/**
 * Encoding of what the worker writes (annotations, dead letters) and decoding of it for readers
 * (`spillway consume`, tests). JSON is the default; Avro (optionally Confluent-framed) per
 * `kafka.outputFormat`. Dead-letter key and value bytes are base64 strings in JSON.
 */
import type avro from 'avsc';
import { DecodeError } from '../errors.js';
import { fromWireFormat, toWireFormat, type SchemaRegistry } from './schema-registry.js';
import type { RecordOrigin } from './types.js';

/** Encodes one kind of record with a fixed format, set up once. */
export class RecordEncoder<T extends object> {
  constructor(
    private readonly format: 'json' | 'avro',
    private readonly type: avro.Type,
    private readonly schemaId?: number,
  ) {}

  encode(record: T): Buffer {
    if (this.format === 'json') return Buffer.from(JSON.stringify(record, bytesAsBase64));
    const body = this.type.toBuffer(record);
    return this.schemaId === undefined ? body : toWireFormat(this.schemaId, body);
  }
}

/** JSON.stringify replacer: Buffers become base64 strings instead of `{type:'Buffer',data:[…]}`. */
function bytesAsBase64(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === 'object' && value !== null && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)) {
    return Buffer.from((value as { data: number[] }).data).toString('base64');
  }
  return value;
}

/**
 * Decodes records written by {@link RecordEncoder} in any format: a value starting with `{` is JSON,
 * one starting with the magic byte is Confluent-framed (needs `registry`), anything else is plain Avro
 * of `type`. Avro longs come back as JS numbers, byte fields as Buffers (JSON: base64 strings).
 */
export class RecordDecoder {
  constructor(
    private readonly type: avro.Type,
    private readonly registry?: SchemaRegistry,
  ) {}

  async decode(value: Buffer | null, origin: RecordOrigin): Promise<Record<string, unknown>> {
    if (value === null) throw new DecodeError('missing-text', 'record has no value', origin);
    try {
      if (value[0] === 0x7b) return JSON.parse(value.toString('utf8')) as Record<string, unknown>;
      const framed = this.registry === undefined ? undefined : fromWireFormat(value);
      if (framed !== undefined && this.registry !== undefined) {
        const writer = await this.registry.typeById(framed.schemaId);
        return this.type.fromBuffer(framed.body, this.type.createResolver(writer)) as Record<string, unknown>;
      }
      return this.type.fromBuffer(value) as Record<string, unknown>;
    } catch (err: unknown) {
      throw new DecodeError('not-avro', `cannot decode record: ${err instanceof Error ? err.message : String(err)}`, origin, { cause: err });
    }
  }
}
