/**
 * A minimal Confluent schema registry client (REST API v1) and the Confluent wire format:
 * byte 0 = magic 0, bytes 1–4 = schema id (big-endian int32), then the Avro binary body.
 * See https://docs.confluent.io/platform/current/schema-registry/fundamentals/serdes-develop/index.html#wire-format
 */
import avro from 'avsc';
import { SchemaRegistryError } from '../errors.js';

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
/** Byte 0 of every Confluent-framed record. */
export const WIRE_MAGIC = 0;
/** Magic byte + schema id. */
export const WIRE_HEADER_BYTES = 5;

/** The registry calls the stream layer makes. */
export interface SchemaRegistry {
  /** Registers `type`'s schema under `subject` (idempotent in the registry) and returns its id. */
  register(subject: string, type: avro.Type): Promise<number>;
  /** The writer schema with this id; cached, so each id is fetched once. */
  typeById(id: number): Promise<avro.Type>;
}

/** Frames an Avro body with the Confluent header. */
export function toWireFormat(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(WIRE_HEADER_BYTES);
  header.writeUInt8(WIRE_MAGIC, 0);
  header.writeInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

/** Splits a Confluent-framed record; undefined when it does not start with the magic byte. */
export function fromWireFormat(value: Buffer): { schemaId: number; body: Buffer } | undefined {
  if (value.length < WIRE_HEADER_BYTES || value.readUInt8(0) !== WIRE_MAGIC) return undefined;
  return { schemaId: value.readInt32BE(1), body: value.subarray(WIRE_HEADER_BYTES) };
}

/** {@link SchemaRegistry} over HTTP with `fetch`. Failed lookups are not cached, so a registry that comes back is used again. */
export class SchemaRegistryClient implements SchemaRegistry {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly byId = new Map<number, Promise<avro.Type>>();
  private readonly authorization: string | undefined;

  /** @param options.auth HTTP basic auth (Confluent Cloud, a secured registry). */
  constructor(baseUrl: string, options: { timeoutMs?: number; auth?: { username: string; password: string } } = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    const auth = options.auth;
    this.authorization = auth === undefined ? undefined : `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`;
  }

  async register(subject: string, type: avro.Type): Promise<number> {
    const body = JSON.stringify({ schema: JSON.stringify(type.schema()) });
    const answer = await this.request(`/subjects/${encodeURIComponent(subject)}/versions`, { method: 'POST', body });
    const id = (answer as { id?: unknown }).id;
    if (typeof id !== 'number') throw new SchemaRegistryError(`registry gave no schema id for subject ${subject}`, 200);
    return id;
  }

  typeById(id: number): Promise<avro.Type> {
    let pending = this.byId.get(id);
    if (pending === undefined) {
      pending = this.request(`/schemas/ids/${id}`, { method: 'GET' }).then((answer) => {
        const schema = (answer as { schema?: unknown }).schema;
        if (typeof schema !== 'string') throw new SchemaRegistryError(`registry gave no schema for id ${id}`, 200);
        return avro.Type.forSchema(JSON.parse(schema) as avro.Schema);
      });
      pending.catch(() => this.byId.delete(id));
      this.byId.set(id, pending);
    }
    return pending;
  }

  private async request(path: string, init: { method: string; body?: string }): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        ...init,
        headers: { accept: CONTENT_TYPE, 'content-type': CONTENT_TYPE, ...(this.authorization === undefined ? {} : { authorization: this.authorization }) },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err: unknown) {
      throw new SchemaRegistryError(`schema registry ${this.baseUrl} unreachable`, undefined, { cause: err });
    }
    const text = await response.text();
    if (!response.ok) {
      const hint = response.status === 401 || response.status === 403 ? ' (check kafka.schemaRegistryUsername and SPILLWAY_SCHEMA_REGISTRY_PASSWORD)' : '';
      throw new SchemaRegistryError(`schema registry ${init.method} ${path} answered ${response.status}${hint}: ${text.slice(0, 200)}`, response.status);
    }
    try {
      return JSON.parse(text) as unknown;
    } catch (err: unknown) {
      throw new SchemaRegistryError(`schema registry ${path} answered non-JSON`, response.status, { cause: err });
    }
  }
}
