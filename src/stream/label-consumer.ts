/**
 * Reads the whole label topic for one worker (a broadcast, not a share of the group): its own consumer
 * group, unique per process, isolation read_committed so a label of an aborted transaction never arrives.
 * Labels are handed over one at a time, in offset order, each exactly once from `fromOffset` on; the
 * consumer commits nothing (a snapshot's label offset says where to start again).
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { DecodeError } from '../errors.js';
import type { LabelRecord } from './label-topic.js';
import type { RecordDecoder } from './record-codec.js';

/** Options of {@link LabelConsumer}. */
export interface LabelConsumerOptions {
  kafka: Kafka;
  /** The label topic (one partition: kafka.topics.labels). */
  topic: string;
  /** Prefix of the consumer's own group id; a random suffix makes it unique per process. */
  groupPrefix: string;
  /** The first label offset to hand over (a snapshot's label offset; 0 for all). */
  fromOffset: bigint;
  decoder: RecordDecoder;
  /** Called for each label in offset order; the next waits for it (a snapshot may be taken meanwhile). */
  onLabel: (label: LabelRecord, offset: bigint) => void | Promise<void>;
  logger: Logger;
}

/** How often a long replay sends a heartbeat, in labels. */
const HEARTBEAT_EVERY = 500;

/**
 * Labels trained on between two yields to the event loop. Training is synchronous (the mid model's steps
 * take milliseconds); a fetched batch of hundreds of labels would otherwise hold up LLM answers and item
 * processing for long enough to miss LLM deadlines and make the capacity governor cut the LLM share.
 */
const YIELD_EVERY = 8;

/** The label topic, consumed from an offset to its end and on. */
export class LabelConsumer {
  private consumer: Consumer | undefined;
  private next: bigint;
  private handed = 0;
  private failure: unknown;
  private readonly log: Logger;
  private waiters: Array<() => void> = [];
  /** First offset of a batch left half-done by a stop: END_BATCH_PROCESS must not move past it. */
  private unfinished: string | undefined;

  constructor(private readonly options: LabelConsumerOptions) {
    this.next = options.fromOffset;
    this.log = options.logger.child({ module: 'label-consumer' });
  }

  /** The next label offset to train on: every label before it has been handed over. */
  get position(): bigint {
    return this.next;
  }

  /** Labels handed over since start. */
  get count(): number {
    return this.handed;
  }

  /** Set when the consumer failed for good (the worker should stop: its learning has stopped). */
  get error(): unknown {
    return this.failure;
  }

  /** Joins its own group and starts reading at `fromOffset`. */
  async start(): Promise<void> {
    const { kafka, topic } = this.options;
    const consumer = kafka.consumer({
      groupId: `${this.options.groupPrefix}-${randomUUID()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 200,
      sessionTimeout: 30_000,
    });
    this.consumer = consumer;
    // Batches of aborted labels or transaction markers never reach eachBatch; this moves past them.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic) return;
      const after = BigInt(payload.lastOffset) + 1n;
      if (after > this.next && payload.firstOffset !== this.unfinished) this.advance(after);
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart) return;
      this.failure = payload.error;
      this.log.error({ err: payload.error }, 'label consumer crashed; this worker learns nothing more');
      this.wake();
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isRunning }) => {
        let n = 0;
        for (const message of batch.messages) {
          if (!isRunning()) {
            this.unfinished = batch.firstOffset() ?? undefined;
            return;
          }
          const offset = BigInt(message.offset);
          if (offset < this.next) continue; // before the snapshot, or refetched after the seek
          const origin = { topic: batch.topic, partition: batch.partition, offset: message.offset };
          let record: LabelRecord;
          try {
            record = (await this.options.decoder.decode(message.value, origin)) as unknown as LabelRecord;
          } catch (err: unknown) {
            if (!(err instanceof DecodeError)) throw err;
            // A label nobody can read teaches nothing; skipping it keeps every worker in the same state.
            this.log.warn({ offset: message.offset, err }, 'undecodable label skipped');
            this.advance(offset + 1n);
            continue;
          }
          await this.options.onLabel(record, offset);
          this.handed++;
          this.advance(offset + 1n);
          if (++n % HEARTBEAT_EVERY === 0) await heartbeat();
          else if (n % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      },
    });
    if (this.next > 0n) consumer.seek({ topic, partition: 0, offset: this.next.toString() });
    this.log.info({ topic, fromOffset: this.next.toString() }, 'label consumer started');
  }

  /**
   * Resolves true once every label committed when it was called has been handed over (the end offset then),
   * false after `timeoutMs` (an open transaction at the end, a broker too slow) or on failure.
   */
  async catchUp(timeoutMs: number): Promise<boolean> {
    const admin = this.options.kafka.admin();
    await admin.connect();
    let end: bigint;
    try {
      const offsets = await admin.fetchTopicOffsets(this.options.topic);
      end = BigInt(offsets.find((p) => p.partition === 0)?.high ?? '0');
    } finally {
      await admin.disconnect();
    }
    const deadline = Date.now() + timeoutMs;
    while (this.next < end && this.failure === undefined) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1_000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.failure === undefined;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
    this.consumer = undefined;
  }

  private advance(to: bigint): void {
    if (to > this.next) this.next = to;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
