/**
 * Publishing a JSONL file of items as input records (`spillway produce`): keyed by item id, encoded per
 * `kafka.inputFormat`, in file order. The file is checked first: a missing topic, or a line whose record the topic
 * would refuse (over its max.message.bytes), stops it with nothing produced. Invalid lines are skipped with a
 * warning. A failure while sending (broker down) says exactly which lines landed: each batch is acknowledged
 * before the next.
 */
import { createReadStream } from 'node:fs';
import type { Message } from 'kafkajs';
import { ProduceError } from '../errors.js';
import {
  assertTopicsExist,
  buildCodecs,
  createKafka,
  explainKafkaError,
  fitsTopic,
  messageBytes,
  PARTITIONER,
  readJsonlItems,
  readMaxMessageBytes,
  type ItemEncoder,
} from '../stream/index.js';
import type { ServiceContext } from './service-context.js';

/** Records sent per request: big enough to amortise round trips, small enough to pace a rate smoothly. */
const BATCH = 500;
/** Oversized lines reported by name at most; the count says the rest. */
const MAX_LINES_NAMED = 10;

export interface PublishFileOptions {
  file: string;
  /** The topic (default: `kafka.topics.input`). */
  topic?: string;
  /** Items per second at most. @defaultValue as fast as possible */
  rate?: number;
  /** Told the total once the file is checked, then the count sent after each batch. */
  onProgress?: (sent: number, total: number) => void;
  /** Stops sending (the lines already acknowledged stay). */
  signal?: AbortSignal;
}

/** What was published. */
export interface Published {
  topic: string;
  sent: number;
  skipped: number;
  seconds: number;
}

/** Checks, then publishes the file; throws ProduceError naming the lines when nothing or part was sent. */
export async function publishFile(context: ServiceContext, options: PublishFileOptions): Promise<Published> {
  const { config, logger } = context;
  const topic = options.topic ?? config.kafka.topics.input;
  const { itemEncoder } = await buildCodecs(config.kafka);
  const kafka = createKafka(config.kafka, logger);
  const limit = await topicLimit(kafka.admin(), topic, options.topic === undefined, logger);
  const { total } = await checkFile(options.file, topic, itemEncoder, config.kafka.maxTextBytes, limit);
  options.onProgress?.(0, total);
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
  await producer.connect();
  const startMs = Date.now();
  const state = { sent: 0, skipped: 0, landedUpTo: 0, batch: [] as Message[], bytes: 0, lines: { first: 0, last: 0 } };
  // A send carries one record batch per partition and the broker refuses one over the topic's limit: a batch of
  // large records is sent before it could reach it.
  const maxBatchBytes = Math.min(512 * 1024, limit - 64);
  const flush = async (): Promise<void> => {
    if (state.batch.length === 0) return;
    try {
      await producer.send({ topic, messages: state.batch, acks: -1 });
    } catch (err: unknown) {
      const landed = state.sent === 0 ? 'no line landed' : `every valid line up to line ${state.landedUpTo} landed`;
      const lines = state.lines.first === state.lines.last ? `line ${state.lines.first}` : `lines ${state.lines.first}–${state.lines.last}`;
      throw new ProduceError(
        `produced ${state.sent} of ${total} items to ${topic} (${landed}); ${lines} may be partly written: ${explainKafkaError(err, `writing to topic ${topic}`)}`,
        state.sent,
        { cause: err },
      );
    }
    state.sent += state.batch.length;
    state.landedUpTo = state.lines.last;
    state.batch = [];
    state.bytes = 0;
    // Paced by the whole run, not per batch, so short stalls are caught up.
    const aheadMs = options.rate === undefined ? 0 : (state.sent / options.rate) * 1000 - (Date.now() - startMs);
    if (aheadMs > 0) await new Promise((resolve) => setTimeout(resolve, aheadMs));
    options.onProgress?.(state.sent, total);
  };
  const perBatch = options.rate === undefined ? BATCH : Math.min(BATCH, Math.max(1, Math.ceil(options.rate / 20)));
  try {
    for await (const entry of readJsonlItems(createReadStream(options.file), config.kafka.maxTextBytes, undefined, options.signal)) {
      if ('error' in entry) {
        state.skipped++;
        logger.warn({ file: options.file, line: entry.line, kind: entry.error.kind }, 'line skipped');
        continue;
      }
      const message = { key: entry.item.id, value: itemEncoder.encode(entry.item) };
      if (state.batch.length > 0 && state.bytes + messageBytes(message) > maxBatchBytes) await flush();
      if (state.batch.length === 0) state.lines = { first: entry.line, last: entry.line };
      state.lines.last = entry.line;
      state.batch.push(message);
      state.bytes += messageBytes(message);
      if (state.batch.length >= perBatch) await flush();
    }
    await flush();
  } finally {
    await producer.disconnect().catch((err: unknown) => logger.debug({ err }, 'producer disconnect failed'));
  }
  return { topic, sent: state.sent, skipped: state.skipped, seconds: (Date.now() - startMs) / 1000 };
}

/** The topic's max.message.bytes, once it is known to exist (`input`: named as the input topic in the error). */
async function topicLimit(
  admin: ReturnType<ReturnType<typeof createKafka>['admin']>,
  topic: string,
  input: boolean,
  logger: ServiceContext['logger'],
): Promise<number> {
  await admin.connect();
  try {
    await assertTopicsExist(admin, [input ? { topic, role: 'input' } : { topic }]);
    return (await readMaxMessageBytes(admin, [topic], logger)).get(topic) as number;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The validation pass: counts the lines that will be sent and finds those whose record the topic would refuse,
 * before anything is sent; any such line is a ProduceError naming them.
 */
async function checkFile(file: string, topic: string, encoder: ItemEncoder, maxTextBytes: number, limit: number): Promise<{ total: number }> {
  let total = 0;
  const oversize: Array<{ line: number; bytes: number }> = [];
  for await (const entry of readJsonlItems(createReadStream(file), maxTextBytes)) {
    if ('error' in entry) continue;
    const message = { key: entry.item.id, value: encoder.encode(entry.item) };
    if (fitsTopic(message, limit)) total++;
    else oversize.push({ line: entry.line, bytes: messageBytes(message) });
  }
  if (oversize.length > 0) {
    const named = oversize
      .slice(0, MAX_LINES_NAMED)
      .map((o) => `line ${o.line} (${o.bytes} bytes)`)
      .join(', ');
    const more = oversize.length > MAX_LINES_NAMED ? ` and ${oversize.length - MAX_LINES_NAMED} more` : '';
    throw new ProduceError(
      `${file}: ${oversize.length} record(s) would exceed max.message.bytes ${limit} of topic ${topic}: ${named}${more}; nothing was produced`,
      0,
    );
  }
  return { total };
}
