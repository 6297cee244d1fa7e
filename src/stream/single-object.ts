/**
 * Avro's single-object encoding (Avro specification 1.8+, "Single-object encoding"): the two bytes C3 01, the
 * writer schema's 64-bit Rabin fingerprint (CRC-64-AVRO of its Parsing Canonical Form, little-endian), then
 * the Avro binary body. Without a schema registry it is what tells a record of the item schema from a record
 * of any other schema whose bytes happen to decode as an item (plain Avro carries no names, so those cannot be
 * told apart). Java's `BinaryMessageEncoder` and other libraries write the same bytes.
 */
import type avro from 'avsc';

const MARKER_0 = 0xc3;
const MARKER_1 = 0x01;
const HEADER_BYTES = 10;

/** CRC-64-AVRO's empty value and table (Avro specification, "Schema Fingerprints"). */
const EMPTY = 0xc15d213aa4d7a795n;
const TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
  return fp;
});

/** The 64-bit Rabin fingerprint (CRC-64-AVRO) of `text`'s UTF-8 bytes, as 8 little-endian bytes. */
export function fingerprint64(text: string): Buffer {
  let fp = EMPTY;
  for (const byte of Buffer.from(text, 'utf8')) fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp);
  return out;
}

/** The fingerprint of a type's schema (avsc's `schema()` is its Parsing Canonical Form). */
export function schemaFingerprint(type: avro.Type): Buffer {
  return fingerprint64(JSON.stringify(type.schema()));
}

/** The single-object encoding of `body`, written with the schema whose fingerprint is `fingerprint`. */
export function toSingleObject(fingerprint: Buffer, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([MARKER_0, MARKER_1]), fingerprint, body]);
}

/** The fingerprint and body of a single-object record; undefined when `value` does not start with the marker. */
export function fromSingleObject(value: Buffer): { fingerprint: Buffer; body: Buffer } | undefined {
  if (value.length < HEADER_BYTES || value[0] !== MARKER_0 || value[1] !== MARKER_1) return undefined;
  return { fingerprint: value.subarray(2, HEADER_BYTES), body: value.subarray(HEADER_BYTES) };
}
