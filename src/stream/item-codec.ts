/**
 * Input records ↔ items. JSON (UTF-8 object) or Avro (topics/spillway.items.avsc); with a schema
 * registry, Avro records carry the Confluent header and are read with the writer's schema resolved to ours,
 * so producers on an older schema version keep working. Without one, Avro records carry the single-object
 * header (single-object.ts: the writer schema's fingerprint), so a record of any other schema is refused
 * rather than misread (`kafka.avroWithoutRegistry: plain` reads bare Avro, checked by re-encoding).
 */
import path from 'node:path';
import type avro from 'avsc';
import { DEFAULTS } from '../config.js';
import { DecodeError, InvalidItemError } from '../errors.js';
import { fromWireFormat, toWireFormat, type SchemaRegistry } from './schema-registry.js';
import { loadAvroType, TOPICS_DIR } from './schemas.js';
import { fromSingleObject, schemaFingerprint, toSingleObject } from './single-object.js';
import { validateItem } from './item-validator.js';
import type { RecordOrigin, StreamItem } from './types.js';

/** Encoding of input records. */
export type ItemFormat = 'json' | 'avro';

/** Options of {@link ItemDecoder}. */
export interface ItemDecoderOptions {
  format: ItemFormat;
  /** The current item schema (the reader schema). */
  itemType: avro.Type;
  /** Largest accepted text, UTF-8 bytes. */
  maxTextBytes: number;
  /** Longest accepted id, UTF-8 bytes. @defaultValue `kafka.maxIdBytes`' default */
  maxIdBytes?: number;
  /** Largest accepted record (key + value), bytes, checked before anything is parsed. @defaultValue `kafka.maxRecordBytes`' default */
  maxRecordBytes?: number;
  /** When set, Avro records must carry the Confluent header. */
  registry?: SchemaRegistry;
  /** Framing of Avro records without a registry (`kafka.avroWithoutRegistry`). @defaultValue its default */
  avroWithoutRegistry?: 'single-object' | 'plain';
}

/** Earlier versions of the item schema, whose single-object records are read through a resolver. */
const ITEM_HISTORY = ['spillway.items.v1.avsc'];

/** Decodes input records; every failure is a {@link DecodeError} carrying the reason kind and origin. */
export class ItemDecoder {
  private readonly resolvers = new Map<number, Promise<avro.Resolver | undefined>>();
  /** Single-object fingerprints (hex) of the item schema (no resolver) and its earlier versions. */
  private readonly writers = new Map<string, avro.Resolver | undefined>();
  private readonly fingerprint: string;

  constructor(private readonly options: ItemDecoderOptions) {
    this.fingerprint = schemaFingerprint(options.itemType).toString('hex');
    this.writers.set(this.fingerprint, undefined);
    for (const file of ITEM_HISTORY) {
      const writer = loadAvroType(path.join(TOPICS_DIR, 'history', file));
      this.writers.set(schemaFingerprint(writer).toString('hex'), options.itemType.createResolver(writer));
    }
  }

  /**
   * Decodes and validates one record. Throws DecodeError for bad data; a registry that cannot be reached
   * throws its (retriable) SchemaRegistryError instead, since that is no fault of the record.
   */
  async decode(value: Buffer | null, key: Buffer | null, origin: RecordOrigin): Promise<StreamItem> {
    try {
      if (value === null || value.length === 0) throw new InvalidItemError('missing-text', 'record has no value');
      const { maxTextBytes, maxIdBytes = DEFAULTS.kafka.maxIdBytes, maxRecordBytes = DEFAULTS.kafka.maxRecordBytes } = this.options;
      const bytes = value.length + (key?.length ?? 0);
      if (bytes > maxRecordBytes)
        throw new InvalidItemError('oversize', `record is ${bytes} bytes (key and value), over the ${maxRecordBytes}-byte limit (kafka.maxRecordBytes)`);
      const raw = this.options.format === 'json' ? parseJson(value) : await this.parseAvro(value);
      return validateItem(raw, key === null || key.length === 0 ? undefined : key.toString('utf8'), { maxTextBytes, maxIdBytes });
    } catch (err: unknown) {
      if (err instanceof InvalidItemError) throw new DecodeError(err.kind, err.message, origin, { cause: err });
      throw err;
    }
  }

  private async parseAvro(value: Buffer): Promise<unknown> {
    const { itemType, registry } = this.options;
    if (registry === undefined) {
      const framing = this.options.avroWithoutRegistry ?? DEFAULTS.kafka.avroWithoutRegistry;
      return framing === 'plain' ? readPlainAvro(itemType, value) : this.readSingleObject(value);
    }
    const framed = fromWireFormat(value);
    if (framed === undefined) throw new InvalidItemError('not-avro', 'record lacks the schema-registry header (magic byte 0 + schema id)');
    const resolver = await this.resolverFor(framed.schemaId, registry);
    if (resolver === undefined) throw new InvalidItemError('wrong-schema', `writer schema ${framed.schemaId} cannot be read as an item`);
    return readAvro(() => itemType.fromBuffer(framed.body, resolver), 'not-avro');
  }

  /** A single-object record: its fingerprint must be the item schema's (or an earlier version's). */
  private readSingleObject(value: Buffer): unknown {
    const framed = fromSingleObject(value);
    if (framed === undefined) {
      if (value.length >= 5 && value[0] === 0 && fromWireFormat(value) !== undefined)
        throw new InvalidItemError(
          'wrong-schema',
          'record carries a schema-registry header (magic byte 0 + schema id) but no kafka.schemaRegistryUrl is configured',
        );
      throw new InvalidItemError(
        'not-avro',
        'record lacks the Avro single-object header (C3 01 + schema fingerprint) that says it was written with the item schema: write items with the single-object encoding (spillway produce does), use a schema registry, or set kafka.avroWithoutRegistry: plain',
      );
    }
    const writer = framed.fingerprint.toString('hex');
    if (!this.writers.has(writer))
      throw new InvalidItemError(
        'wrong-schema',
        `record was written with the schema of fingerprint ${writer}, not the item schema (${this.fingerprint}) or an earlier version of it`,
      );
    const resolver = this.writers.get(writer);
    return readAvro(
      () => (resolver === undefined ? this.options.itemType.fromBuffer(framed.body) : this.options.itemType.fromBuffer(framed.body, resolver)),
      'not-avro',
    );
  }

  /** undefined when the writer schema is incompatible with ours (a data problem, cached as such). */
  private resolverFor(schemaId: number, registry: SchemaRegistry): Promise<avro.Resolver | undefined> {
    let pending = this.resolvers.get(schemaId);
    if (pending === undefined) {
      pending = registry.typeById(schemaId).then((writer) => {
        try {
          return this.options.itemType.createResolver(writer);
        } catch {
          return undefined; // incompatible schemas: every record written with it is dead-lettered as wrong-schema
        }
      });
      pending.catch(() => this.resolvers.delete(schemaId));
      this.resolvers.set(schemaId, pending);
    }
    return pending;
  }
}

function parseJson(value: Buffer): unknown {
  try {
    // A UTF-8 byte-order mark is not JSON; editors and some producers write one.
    const hasBom = value.length >= 3 && value[0] === 0xef && value[1] === 0xbb && value[2] === 0xbf;
    return JSON.parse((hasBom ? value.subarray(3) : value).toString('utf8')) as unknown;
  } catch (err: unknown) {
    throw new InvalidItemError('not-json', 'record value is not JSON', { cause: err });
  }
}

/**
 * Without a registry nothing says which schema wrote a record, and Avro's binary form carries no field names:
 * a record of another schema can decode into a plausible item. So the decoded item must re-encode to exactly
 * the bytes received (invalid UTF-8, stray bytes and misread fields do not), and a record framed for a
 * registry is named as such.
 */
function readPlainAvro(itemType: avro.Type, value: Buffer): unknown {
  if (value.length >= 5 && value[0] === 0 && fromWireFormat(value) !== undefined && !decodes(itemType, value)) {
    throw new InvalidItemError(
      'wrong-schema',
      'record carries a schema-registry header (magic byte 0 + schema id) but no kafka.schemaRegistryUrl is configured',
    );
  }
  let decoded: unknown;
  try {
    decoded = itemType.fromBuffer(value);
  } catch (err: unknown) {
    throw new InvalidItemError('not-avro', `record value is not an Avro item: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  let again: Buffer;
  try {
    again = itemType.toBuffer(decoded);
  } catch (err: unknown) {
    throw new InvalidItemError('wrong-schema', 'record decodes to a value the item schema cannot hold', { cause: err });
  }
  if (!again.equals(value))
    throw new InvalidItemError(
      'wrong-schema',
      'record was not written with the item schema (it does not re-encode to the same bytes: another schema, or invalid UTF-8 in a string)',
    );
  return decoded;
}

function decodes(itemType: avro.Type, value: Buffer): boolean {
  try {
    itemType.fromBuffer(value);
    return true;
  } catch {
    return false;
  }
}

function readAvro(read: () => unknown, kind: 'not-avro'): unknown {
  try {
    return read();
  } catch (err: unknown) {
    throw new InvalidItemError(kind, `record value is not an Avro item: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/** Encodes items as input records (the `produce` command and tests). */
export class ItemEncoder {
  private readonly fingerprint: Buffer;

  /**
   * @param schemaId the registered id of `itemType`, when the Confluent wire format is in use.
   * @param withoutRegistry the framing of Avro without a registry (`kafka.avroWithoutRegistry`).
   */
  constructor(
    private readonly format: ItemFormat,
    private readonly itemType: avro.Type,
    private readonly schemaId?: number,
    private readonly withoutRegistry: 'single-object' | 'plain' = DEFAULTS.kafka.avroWithoutRegistry,
  ) {
    this.fingerprint = schemaFingerprint(itemType);
  }

  encode(item: StreamItem): Buffer {
    if (this.format === 'json') return Buffer.from(JSON.stringify(item));
    const body = this.itemType.toBuffer({
      id: item.id,
      text: item.text,
      task: item.task ?? null,
      metadata: item.metadata ?? {},
      eventTimeMs: item.eventTimeMs ?? null,
    });
    if (this.schemaId !== undefined) return toWireFormat(this.schemaId, body);
    return this.withoutRegistry === 'plain' ? body : toSingleObject(this.fingerprint, body);
  }
}
