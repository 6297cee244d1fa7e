/**
 * Turns a decoded input value (JSON object or Avro record) into a {@link StreamItem}, or throws an
 * InvalidItemError whose `kind` becomes the dead-letter reason.
 */
import { DEFAULTS } from '../config.js';
import { InvalidItemError } from '../errors.js';
import type { StreamItem } from './types.js';

/** Size limits of one item (`kafka.maxTextBytes`, `kafka.maxIdBytes`). */
export interface ItemLimits {
  /** Largest text, UTF-8 bytes. */
  maxTextBytes: number;
  /** Longest id, UTF-8 bytes. @defaultValue `kafka.maxIdBytes`' default */
  maxIdBytes?: number;
}

/**
 * Something a classifier can read: a letter, a digit or an emoji. A text of only NULs, U+FFFD (what invalid
 * UTF-8 decodes to) or punctuation is empty in all but bytes, and was labelled like any other. The search
 * stops at the first match, so ordinary texts cost a character or two.
 */
const MEANINGFUL = /[\p{L}\p{N}\p{Extended_Pictographic}]/u;

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** True when `text` is over `maxBytes` UTF-8 bytes; counts them only when its length says it might be. */
export function overBytes(text: string, maxBytes: number): boolean {
  // A UTF-8 byte is at most 3 per UTF-16 unit, so short strings skip the count.
  return text.length * 3 > maxBytes && Buffer.byteLength(text, 'utf8') > maxBytes;
}

/**
 * Validates one decoded value. `fallbackId` (the record key) is used when the value has no id.
 * Rules: an object; `id` a non-empty string or a number of at most `maxIdBytes` UTF-8 bytes (checked first: an
 * id is hashed by the partitioner and copied into every record the item produces); `text` a non-empty string of
 * at most `maxTextBytes` UTF-8 bytes, with at least one letter, digit or emoji; `metadata` (optional) string
 * values only; `eventTimeMs` (optional) a number. `limits` may be the text limit alone.
 */
export function validateItem(raw: unknown, fallbackId: string | undefined, limits: number | ItemLimits): StreamItem {
  const { maxTextBytes, maxIdBytes = DEFAULTS.kafka.maxIdBytes } = typeof limits === 'number' ? { maxTextBytes: limits } : limits;
  if (!isRecord(raw)) throw new InvalidItemError('wrong-schema', `expected an object, got ${Array.isArray(raw) ? 'an array' : typeof raw}`);
  const id = typeof raw.id === 'number' && Number.isFinite(raw.id) ? String(raw.id) : (raw.id ?? fallbackId);
  if (typeof id !== 'string' || id === '') throw new InvalidItemError('missing-id', 'item has no id (neither an "id" field nor a record key)');
  if (overBytes(id, maxIdBytes)) {
    const bytes = Buffer.byteLength(id, 'utf8');
    throw new InvalidItemError(
      'oversize-id',
      `item id is ${bytes} bytes, over the ${maxIdBytes}-byte limit (kafka.maxIdBytes); it begins ${JSON.stringify(id.slice(0, 40))}`,
    );
  }
  const text = raw.text;
  if (text === undefined || text === null) throw new InvalidItemError('missing-text', `item ${id} has no "text"`);
  if (typeof text !== 'string') throw new InvalidItemError('wrong-schema', `item ${id}: "text" is ${typeof text}, not a string`);
  if (text.trim() === '') throw new InvalidItemError('empty-text', `item ${id}: "text" is empty`);
  if (!MEANINGFUL.test(text))
    throw new InvalidItemError('empty-text', `item ${id}: "text" has no letters, digits or emoji (only punctuation, control or replacement characters)`);
  if (overBytes(text, maxTextBytes))
    throw new InvalidItemError('oversize', `item ${id}: text is ${Buffer.byteLength(text, 'utf8')} bytes, over the ${maxTextBytes}-byte limit`);
  const item: StreamItem = { id, text };
  if (typeof raw.task === 'string') item.task = raw.task;
  else if (raw.task !== undefined && raw.task !== null) throw new InvalidItemError('wrong-schema', `item ${id}: "task" is not a string`);
  if (raw.metadata !== undefined && raw.metadata !== null) {
    if (!isRecord(raw.metadata) || !Object.values(raw.metadata).every((v) => typeof v === 'string')) {
      throw new InvalidItemError('wrong-schema', `item ${id}: "metadata" must map strings to strings`);
    }
    if (Object.keys(raw.metadata).length > 0) item.metadata = raw.metadata as Record<string, string>;
  }
  if (typeof raw.eventTimeMs === 'number' && Number.isFinite(raw.eventTimeMs)) item.eventTimeMs = raw.eventTimeMs;
  else if (raw.eventTimeMs !== undefined && raw.eventTimeMs !== null) throw new InvalidItemError('wrong-schema', `item ${id}: "eventTimeMs" is not a number`);
  return item;
}
