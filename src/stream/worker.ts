/**
 * The Kafka worker: a consumer group on the input topic, a processor (the cascade, injected), a producer
 * to the output and dead-letter topics. Exactly-once by default (Kafka transactions carrying the consumed
 * offsets; readers use read_committed), at-least-once with an idempotent producer as an option.
 *
 * Failure behaviour: kafkajs retries broker requests (~30 s, enough for a broker restart), then crashes
 * the consumer; the worker restarts it up to `kafka.maxRestarts` times in a row (a commit resets the
 * count), then gives up and `done` rejects, so the process exits non-zero. A non-retriable processor
 * error gives up at once.
 */
import type { Admin, Consumer, Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.js';
import { SpillwayError } from '../errors.js';
import { BatchHandler, type ShutdownSignal } from './batch-handler.js';
import { AtLeastOnceCommitter, TransactionalCommitter, type Committer } from './committer.js';
import { InFlightLimiter } from './in-flight-limiter.js';
import { KAFKA_RETRY, PARTITIONER } from './kafka-client.js';
import type { ItemDecoder } from './item-codec.js';
import type { RecordEncoder } from './record-codec.js';
import type { AnnotationRecord, DeadLetterRecord, ItemProcessor, StreamObserver } from './types.js';

/** What {@link StreamWorker} needs; the CLI builds it. */
export interface StreamWorkerOptions {
  kafka: Kafka;
  config: KafkaConfig;
  /** This worker's transactional id (exactly-once): stable across its restarts, unique per worker. */
  transactionalId: string;
  decoder: ItemDecoder;
  annotationEncoder: RecordEncoder<AnnotationRecord>;
  deadLetterEncoder: RecordEncoder<DeadLetterRecord>;
  process: ItemProcessor;
  logger: Logger;
  observer?: StreamObserver;
}

function rootCause(err: unknown): unknown {
  let current = err;
  while (current instanceof Error && current.cause !== undefined && !(current instanceof SpillwayError)) current = current.cause;
  return current;
}

/** One worker of the consumer group. Call `start()`, then await `done`; `stop()` shuts down gracefully. */
export class StreamWorker {
  /** Resolves after a graceful stop; rejects when the consumer crashed for good. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;
  private readonly log: Logger;
  private producer: Producer | undefined;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private restarts = 0;
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  private endGrace!: () => void;
  private readonly shutdown: ShutdownSignal;
  private committedItems = 0;
  private failed = false;

  constructor(private readonly options: StreamWorkerOptions) {
    this.log = options.logger.child({ module: 'stream-worker' });
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => undefined); // observed by the caller; avoid an unhandled rejection before it awaits
    const graceOver = new Promise<void>((resolve) => (this.endGrace = resolve));
    const self = this;
    this.shutdown = {
      get stopping() {
        return self.stopping;
      },
      graceOver,
    };
  }

  /** True from a successful start until it stops or fails (the /healthz check). */
  get running(): boolean {
    return this.consumer !== undefined && !this.stopping && !this.failed;
  }

  /** Items whose outputs (or dead letters) this worker has committed. */
  get committed(): number {
    return this.committedItems;
  }

  /** Connects, joins the group and starts consuming; resolves once consumption has started. */
  async start(): Promise<void> {
    const { kafka, config, transactionalId } = this.options;
    const exactlyOnce = config.delivery === 'exactly-once';
    // Transactions need an idempotent producer with one request in flight (kafkajs enforces it).
    this.producer = kafka.producer(
      exactlyOnce
        ? { transactionalId, idempotent: true, maxInFlightRequests: 1, transactionTimeout: config.transactionTimeoutMs, createPartitioner: PARTITIONER }
        : { idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER },
    );
    this.consumer = kafka.consumer({
      groupId: config.groupId,
      readUncommitted: false,
      sessionTimeout: config.sessionTimeoutMs,
      // A rebalance waits this long for members to finish their batches (an LLM-bound batch can be slow).
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.floor(config.sessionTimeoutMs / 10),
      maxBytesPerPartition: 1_048_576,
      // A fetch on an idle topic waits this long for records; stop() waits for it, so keep it short.
      maxWaitTimeInMs: 1_000,
      retry: { ...KAFKA_RETRY, restartOnFailure: (err) => Promise.resolve(this.shouldRestart(err)) },
    });
    const consumer = this.consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (!payload.restart && !this.stopping) this.fail(payload.error);
    });

    this.admin = kafka.admin();
    await this.admin.connect();
    await this.producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [config.topics.input], fromBeginning: true });

    const committer: Committer = exactlyOnce
      ? new TransactionalCommitter(this.producer, this.admin, config.groupId, { output: config.topics.output, deadLetter: config.topics.deadLetter }, this.log)
      : new AtLeastOnceCommitter(this.producer, consumer, { output: config.topics.output, deadLetter: config.topics.deadLetter });
    const handler = new BatchHandler({
      decoder: this.options.decoder,
      process: this.options.process,
      annotationEncoder: this.options.annotationEncoder,
      deadLetterEncoder: this.options.deadLetterEncoder,
      limiter: new InFlightLimiter(config.maxInFlight),
      commitIntervalMs: config.commitIntervalMs,
      committer,
      shutdown: this.shutdown,
      logger: this.log,
      ...(this.options.observer === undefined ? {} : { observer: this.options.observer }),
      onCommitted: (items) => {
        this.restarts = 0;
        this.committedItems += items;
      },
    });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      eachBatch: (payload) => handler.handle(payload),
    });
    this.log.info({ groupId: config.groupId, input: config.topics.input, delivery: config.delivery, transactionalId: exactlyOnce ? transactionalId : undefined }, 'worker started');
  }

  /**
   * Graceful stop: no new records are started, in-flight ones get `kafka.shutdownTimeoutMs` to finish
   * (those that do are committed, the rest stay uncommitted and are redone by the next worker), then the
   * consumer leaves the group and the clients disconnect. Idempotent.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.doStop();
    return this.stopPromise;
  }

  private async doStop(): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => this.endGrace(), this.options.config.shutdownTimeoutMs);
    try {
      await this.consumer?.stop();
      await this.consumer?.disconnect();
      await this.producer?.disconnect();
      await this.admin?.disconnect();
      this.log.info({ committed: this.committedItems }, 'worker stopped');
      this.resolveDone();
    } catch (err: unknown) {
      this.rejectDone(err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  private shouldRestart(err: unknown): boolean {
    const cause = rootCause(err);
    if (cause instanceof SpillwayError && !cause.retriable) {
      this.log.error({ err }, 'processing failed with a non-retriable error; giving up');
      return false;
    }
    this.restarts += 1;
    if (this.restarts > this.options.config.maxRestarts) {
      this.log.error({ err, restarts: this.restarts - 1 }, 'consumer keeps failing; giving up');
      return false;
    }
    this.log.warn({ err, restart: this.restarts }, 'consumer crashed; restarting');
    return true;
  }

  private fail(err: unknown): void {
    this.failed = true;
    this.log.error({ err }, 'worker failed');
    this.rejectDone(err);
    void Promise.allSettled([this.consumer?.disconnect(), this.producer?.disconnect(), this.admin?.disconnect()]);
  }
}
