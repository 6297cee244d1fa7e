/**
 * Reads the whole label topic for one worker (a broadcast, not a share of the group): its own consumer
 * group, unique per process, isolation read_committed so a label of an aborted transaction never arrives.
 * Labels are handed over one at a time, in offset order, each exactly once from `fromOffset` on; the
 * consumer commits nothing (a snapshot's label offset says where to start again).
 *
 * Every record is checked before it is handed over (label-validator.ts); one that cannot be decoded, checked
 * or learned from is dead-lettered with its reason and skipped, the same on every worker, so one bad record
 * never stops the group's learning. Only a run of failures that no data explains (the learner itself broken)
 * stops the consumer.
 *
 * A crash that kafkajs does not restart (a broker back from an outage can answer a join with a "non-retriable"
 * coordinator error) gets a new consumer at the next offset, up to `maxRestarts` crashes in a row
 * (crash-count.ts): the worker must not stop learning because its broker was restarted.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka, KafkaMessage } from 'kafkajs';
import type { Logger } from 'pino';
import { DecodeError, InvalidSharedRecordError } from '../errors.js';
import { closeWithin } from './close-within.js';
import { CrashCount } from './crash-count.js';
import type { DeadLetterWriter } from './dead-letter-writer.js';
import type { LabelRecord } from './label-topic.js';
import { checkLabel, type LabelRules } from './label-validator.js';
import type { RecordDecoder } from './record-codec.js';
import type { RecordOrigin } from './types.js';

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
  /** What a label must fit to be handed over (item limits, the worker's task). */
  rules: LabelRules;
  /** Where refused labels go. */
  deadLetters: DeadLetterWriter;
  /**
   * Called for each checked label of the worker's task, in offset order; the next waits for it (a snapshot
   * may be taken meanwhile). A rejection refuses that label (dead-lettered `label-unlearnable`).
   */
  onLabel: (label: LabelRecord, offset: bigint) => void | Promise<void>;
  /**
   * Told the texts of a fetched batch before its labels are handed over one by one, so what they need (their
   * sentence vectors) is prepared together rather than one label at a time.
   */
  prefetch?: (texts: string[]) => void;
  /** Crashes in a row after which the consumer gives up (kafka.maxRestarts; crash-count.ts says what is "in a row"). */
  maxRestarts: number;
  /** Called once when the consumer stops for good (crashes past `maxRestarts`, or a broken learner). */
  onFailure?: (err: unknown) => void;
  logger: Logger;
}

/**
 * Labels in a row that fail to be learned, every one of them well-formed, before the consumer gives up: so many
 * are no bad data but a broken learner, and a worker that cannot learn must not go on paying for LLM calls.
 */
const MAX_UNLEARNABLE_IN_A_ROW = 50;

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
  private refused = 0;
  private unlearnableInARow = 0;
  /** First offset of a batch left half-done by a stop: END_BATCH_PROCESS must not move past it. */
  private unfinished: string | undefined;
  /** The label topic's end as of the last fetch. */
  private end = 0n;
  private readonly crashes: CrashCount;
  private stopped = false;

  constructor(private readonly options: LabelConsumerOptions) {
    this.next = options.fromOffset;
    this.crashes = new CrashCount(options.maxRestarts);
    this.log = options.logger.child({ module: 'label-consumer' });
  }

  /** The next label offset to train on: every label before it has been handed over. */
  get position(): bigint {
    return this.next;
  }

  /**
   * Labels in the topic not handed over yet, as of the last fetch (the worker's own among them, skipped when
   * reached): how far this worker's stages are behind what the group has learned.
   */
  get lag(): number {
    return this.end > this.next ? Number(this.end - this.next) : 0;
  }

  /** Labels handed over since start. */
  get count(): number {
    return this.handed;
  }

  /** Records refused since start (dead-lettered and skipped). */
  get refusedCount(): number {
    return this.refused;
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
      if (payload.restart || this.stopped || this.failure !== undefined) return;
      void this.restartAfter(consumer, payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch, heartbeat, isRunning }) => {
        const end = BigInt(batch.highWatermark);
        if (end > this.end) this.end = end;
        if (this.options.prefetch !== undefined) this.options.prefetch(await this.textsOf(batch.messages));
        let n = 0;
        for (const message of batch.messages) {
          if (!isRunning()) {
            this.unfinished = batch.firstOffset() ?? undefined;
            return;
          }
          const offset = BigInt(message.offset);
          if (offset < this.next) continue; // before the snapshot, or refetched after the seek
          const origin = { topic: batch.topic, partition: batch.partition, offset: message.offset };
          const label = await this.check(message, origin);
          if (label !== undefined && (await this.learn(label, message, origin))) this.handed++;
          if (this.failure !== undefined) {
            this.unfinished = batch.firstOffset() ?? undefined;
            return;
          }
          this.advance(offset + 1n);
          if (++n % HEARTBEAT_EVERY === 0) await heartbeat();
          else if (n % YIELD_EVERY === 0) await new Promise<void>((resolve) => setImmediate(resolve));
        }
      },
    });
    // Stopped while a replacement was starting: stop() closed the one before it.
    if (this.stopped) {
      await consumer.disconnect().catch(() => undefined);
      return;
    }
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

  /** The texts of the records from the next offset on that decode (the rest are refused when reached). */
  private async textsOf(messages: readonly KafkaMessage[]): Promise<string[]> {
    const texts: string[] = [];
    for (const message of messages) {
      if (BigInt(message.offset) < this.next) continue;
      try {
        const text = (
          (await this.options.decoder.decode(message.value, { topic: this.options.topic, partition: 0, offset: message.offset })) as { text?: unknown }
        ).text;
        if (typeof text === 'string') texts.push(text);
      } catch {
        // Refused, with its reason, when the loop reaches it.
      }
    }
    return texts;
  }

  /** The record's label when it is a checked label of the worker's task; refused or skipped otherwise. */
  private async check(message: KafkaMessage, origin: RecordOrigin): Promise<LabelRecord | undefined> {
    try {
      const checked = checkLabel(await this.decode(message, origin), this.options.rules);
      if (checked.kind === 'label') return checked.label;
      this.log.debug({ offset: origin.offset, task: checked.task }, 'label of another task skipped');
    } catch (err: unknown) {
      if (!(err instanceof InvalidSharedRecordError)) throw err;
      this.refuse(message, origin, err);
    }
    return undefined;
  }

  private async decode(message: KafkaMessage, origin: RecordOrigin): Promise<unknown> {
    try {
      return await this.options.decoder.decode(message.value, origin);
    } catch (err: unknown) {
      if (!(err instanceof DecodeError)) throw err;
      throw new InvalidSharedRecordError('label-undecodable', err.message, { cause: err });
    }
  }

  /** Hands a checked label over; true when it was learned. A failure refuses the label; a long run of them stops the consumer. */
  private async learn(label: LabelRecord, message: KafkaMessage, origin: RecordOrigin): Promise<boolean> {
    try {
      await this.options.onLabel(label, BigInt(origin.offset));
      this.unlearnableInARow = 0;
      return true;
    } catch (err: unknown) {
      const why = err instanceof Error ? err.message : String(err);
      this.refuse(message, origin, new InvalidSharedRecordError('label-unlearnable', `learning from label ${label.id} failed: ${why}`, { cause: err }));
      if (++this.unlearnableInARow >= MAX_UNLEARNABLE_IN_A_ROW) {
        const broken = new InvalidSharedRecordError(
          'label-unlearnable',
          `${this.unlearnableInARow} well-formed labels in a row could not be learned (the last: ${why}): this worker's learning is broken`,
          { cause: err },
        );
        this.log.error({ err: broken }, 'label consumer stopped; this worker learns nothing more');
        this.fail(broken);
      }
      return false;
    }
  }

  private refuse(message: KafkaMessage, origin: RecordOrigin, err: InvalidSharedRecordError): void {
    this.refused++;
    this.options.deadLetters.write('labels', { key: message.key, value: message.value }, origin, err);
  }

  /** A new consumer at the next offset after a crash kafkajs gave up on, with a growing pause; gives up past maxRestarts. */
  private async restartAfter(crashed: Consumer, err: unknown): Promise<void> {
    if (!this.crashes.crashed()) {
      this.log.error({ err, restarts: this.crashes.count - 1 }, 'label consumer keeps crashing; this worker learns nothing more');
      this.fail(err);
      return;
    }
    this.log.warn({ err, restart: this.crashes.count }, 'label consumer crashed; restarting');
    await crashed.disconnect().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, this.crashes.pauseMs));
    if (this.stopped) return;
    try {
      await this.start();
    } catch (next: unknown) {
      if (!this.stopped) void this.restartAfter(this.consumer ?? crashed, next);
    }
  }

  /** Leaves its group and disconnects (bounded: a recovering broker must not hold a shutdown, close-within.ts). */
  async stop(timeoutMs = 1_500): Promise<void> {
    this.stopped = true;
    const consumer = this.consumer;
    this.consumer = undefined;
    await closeWithin({ 'stop the label consumer': () => consumer?.disconnect() }, timeoutMs, this.log);
  }

  private fail(err: unknown): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    this.wake();
    this.options.onFailure?.(err);
  }

  private advance(to: bigint): void {
    if (to > this.next) {
      this.next = to;
      this.crashes.progressed();
    }
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
