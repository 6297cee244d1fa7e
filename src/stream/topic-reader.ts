/**
 * Reads a topic with isolation read_committed, optionally until it has caught up with the end of every
 * partition as it was when reading began (like `kcat -e`). Used by `spillway consume`, tests and benchmarks.
 * It joins a throw-away consumer group and commits nothing.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';

/** Options of {@link readTopic}. */
export interface ReadTopicOptions {
  kafka: Kafka;
  topic: string;
  /** Start at the earliest offset (else only records written after the reader joined). @defaultValue true */
  fromBeginning?: boolean;
  /** Stop after this many records. */
  max?: number;
  /** Stop once every partition's end offset at start has been reached. @defaultValue false */
  exitAtEnd?: boolean;
  /** Called for each record in partition order; an error stops the reader and rejects. */
  onRecord: (message: KafkaMessage, partition: number) => void | Promise<void>;
  /** Aborts reading (resolves with what was read). */
  signal?: AbortSignal;
}

/** Reads records until `max`, the end (with exitAtEnd) or `signal`; resolves with the number read. */
export async function readTopic(options: ReadTopicOptions): Promise<number> {
  const { kafka, topic } = options;
  const fromBeginning = options.fromBeginning ?? true;
  const admin = kafka.admin();
  await admin.connect();
  // Partitions still to reach, with the offset that counts as their end (the high watermark at start).
  const remaining = new Map<number, bigint>();
  try {
    if (options.exitAtEnd === true) {
      for (const p of await admin.fetchTopicOffsets(topic)) {
        const high = BigInt(p.high);
        if (fromBeginning ? high > BigInt(p.low) : false) remaining.set(p.partition, high);
      }
    }
  } finally {
    await admin.disconnect();
  }
  if (options.exitAtEnd === true && remaining.size === 0) return 0;

  const consumer = kafka.consumer({ groupId: `spillway-reader-${randomUUID()}`, readUncommitted: false, maxWaitTimeInMs: 200 });
  let count = 0;
  let finish!: (err?: unknown) => void;
  const finished = new Promise<void>((resolve, reject) => (finish = (err?: unknown) => (err === undefined ? resolve() : reject(err))));
  const reached = (partition: number, lastOffset: string): void => {
    const end = remaining.get(partition);
    if (end !== undefined && BigInt(lastOffset) + 1n >= end) remaining.delete(partition);
    if (options.exitAtEnd === true && remaining.size === 0) finish();
  };
  // END_BATCH_PROCESS also fires for batches of only aborted records or transaction markers, which
  // never reach eachBatch: without it a topic ending in an aborted transaction would never "end".
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => reached(payload.partition, payload.lastOffset));
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) finish(payload.error);
  });
  const onAbort = (): void => finish();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, isRunning }) => {
        for (const message of batch.messages) {
          if (!isRunning() || (options.max !== undefined && count >= options.max)) break;
          count += 1;
          try {
            await options.onRecord(message, batch.partition);
          } catch (err: unknown) {
            finish(err);
            return;
          }
          if (options.max !== undefined && count >= options.max) finish();
        }
      },
    });
    if (options.signal?.aborted === true) finish();
    await finished;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await consumer.disconnect();
  }
  return count;
}
