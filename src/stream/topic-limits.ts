/**
 * What Spillway must know about a topic before writing to it: that it exists, and the largest record it
 * accepts (`max.message.bytes`, read from the broker through the admin client once at start).
 */
import kafkajs, { type Admin } from 'kafkajs';
import type { Logger } from 'pino';
import { TopicNotFoundError } from '../errors.js';

// kafkajs is CommonJS and Node's ESM loader does not see this export by name.
const { ConfigResourceTypes } = kafkajs;

/**
 * Kafka's default record batch limit (broker `message.max.bytes`, topic `max.message.bytes`): 1 MiB + 12
 * bytes of log overhead. Used when the broker does not let us read the topic's config (ACLs).
 */
export const DEFAULT_MAX_MESSAGE_BYTES = 1_048_588;

/** Largest record, in bytes, each output topic accepts. */
export interface OutputLimits {
  output: number;
  deadLetter: number;
}

/** Throws {@link TopicNotFoundError} naming the first of `topics` the broker does not have. */
export async function assertTopicsExist(admin: Admin, topics: ReadonlyArray<{ topic: string; role?: string }>): Promise<void> {
  const existing = new Set(await admin.listTopics());
  for (const { topic, role } of topics) {
    if (existing.has(topic)) continue;
    throw new TopicNotFoundError(
      topic,
      role === undefined
        ? `topic ${topic} does not exist (create it with \`spillway topics create\`, or check the name)`
        : `the ${role} topic ${topic} does not exist (create it with \`spillway topics create\`, or fix kafka.topics.${role})`,
    );
  }
}

/**
 * `max.message.bytes` of each topic (the broker resolves the topic override or its own default). A topic
 * whose config cannot be read gets {@link DEFAULT_MAX_MESSAGE_BYTES} and a warning.
 */
export async function readMaxMessageBytes(admin: Admin, topics: readonly string[], logger: Logger): Promise<Map<string, number>> {
  const limits = new Map<string, number>(topics.map((t) => [t, DEFAULT_MAX_MESSAGE_BYTES]));
  try {
    const described = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [...new Set(topics)].map((name) => ({ type: ConfigResourceTypes.TOPIC, name, configNames: ['max.message.bytes'] })),
    });
    for (const resource of described.resources) {
      const value = Number(resource.configEntries.find((e) => e.configName === 'max.message.bytes')?.configValue);
      if (resource.errorCode === 0 && Number.isInteger(value) && value > 0) limits.set(resource.resourceName, value);
      else
        logger.warn(
          { topic: resource.resourceName, errorCode: resource.errorCode, assumedBytes: DEFAULT_MAX_MESSAGE_BYTES },
          'max.message.bytes unreadable; assuming the Kafka default',
        );
    }
  } catch (err: unknown) {
    logger.warn({ err, topics, assumedBytes: DEFAULT_MAX_MESSAGE_BYTES }, 'topic configs unreadable; assuming the Kafka default max.message.bytes');
  }
  return limits;
}

/** Bytes of one message in a record batch, framing included (key, value, headers + {@link RECORD_FRAMING_BYTES}). */
export function messageBytes(m: { key?: Buffer | string | null; value: Buffer | string | null; headers?: Record<string, unknown> }): number {
  const len = (v: unknown): number => (v === null || v === undefined ? 0 : Buffer.isBuffer(v) ? v.length : Buffer.byteLength(String(v)));
  let headers = 0;
  for (const [name, value] of Object.entries(m.headers ?? {})) headers += Buffer.byteLength(name) + len(value) + 10;
  return len(m.key) + len(m.value) + headers + RECORD_FRAMING_BYTES;
}

/** A record's varints and attributes (≤ 40 bytes), rounded up. See Kafka's DefaultRecord. */
export const RECORD_FRAMING_BYTES = 64;
/** The record batch header (61 bytes), rounded up. See Kafka's DefaultRecordBatch. */
export const BATCH_HEADER_BYTES = 64;

/** True when `m` alone fits a topic whose max.message.bytes is `limit`. */
export function fitsTopic(m: Parameters<typeof messageBytes>[0], limit: number): boolean {
  return messageBytes(m) + BATCH_HEADER_BYTES <= limit;
}
