/**
 * The Kafka worker: a consumer group on the input topic, a processor (the cascade, injected), a producer
 * to the output and dead-letter topics. Exactly-once by default (Kafka transactions carrying the consumed
 * offsets; readers use read_committed), at-least-once with an idempotent producer as an option.
 *
 * Failure behaviour: kafkajs retries broker requests (~30 s, enough for a broker restart), then crashes
 * the consumer; the worker restarts it up to `kafka.maxRestarts` times in a row (a commit, or a minute
 * without a crash, starts a new count: crash-count.ts), then gives up and `done` rejects, so the process exits non-zero. A non-retriable processor
 * error gives up at once.
 */
import type { Admin, Consumer, Kafka, Message, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.js';
import { SpillwayError } from '../errors.js';
import { BatchHandler, HEARTBEAT_TICK_MS, type ShutdownSignal } from './batch-handler.js';
import { AtLeastOnceCommitter } from './at-least-once-committer.js';
import type { Committer, SideRecord } from './committer.js';
import { TransactionalCommitter } from './transactional-committer.js';
import { OutputFitter } from './output-fitter.js';
import { assertTopicsExist, readMaxMessageBytes, type OutputLimits } from './topic-limits.js';
import { closeWithin } from './close-within.js';
import { CrashCount } from './crash-count.js';
import { IdMemory } from './id-memory.js';
import { InFlightLimiter } from './in-flight-limiter.js';
import { KAFKA_RETRY, PARTITIONER } from './kafka-client.js';
import type { ItemDecoder } from './item-codec.js';
import type { RecordEncoder } from './record-codec.js';
import type { AnnotationRecord, DeadLetterRecord, ItemAnswer, ItemProcessor, StreamItem, StreamObserver } from './types.js';

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
  /** Records an answered item adds besides its annotation (shared learning's label). */
  sideRecords?: (item: StreamItem, answer: ItemAnswer) => SideRecord[];
  /**
   * When side records are written: `immediate`, by their own idempotent producer as soon as the item is
   * answered (at least once: an item redone after a crash writes them again); `with-annotation`, in the
   * annotation's transaction (once its partition's prefix is committed). @defaultValue 'with-annotation'
   */
  sideDelivery?: 'immediate' | 'with-annotation';
  /**
   * Called with this worker's input partitions, and the input topic's partition count, after each group join
   * (shared learning picks its snapshot publisher; the cascade pays its share of the group's warm-up).
   */
  onAssignment?: (partitions: number[], totalPartitions: number) => void;
}

/** How long a rebalance waits for the members to finish their batches and re-join, ms (an LLM-bound batch can be slow). */
const REBALANCE_TIMEOUT_MS = 60_000;
/** Safety below the rebalance timeout for the last commit of a batch caught in a rebalance (clocks, a slow commit). */
const EVICTION_MARGIN_MS = 5_000;

function heartbeatIntervalOf(config: Pick<KafkaConfig, 'sessionTimeoutMs'>): number {
  return Math.floor(config.sessionTimeoutMs / 10);
}

/** Longest wait for leaving the group and closing the clients at shutdown, ms. */
const LEAVE_TIMEOUT_MS = 2_000;

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
  private committer: Committer | undefined;
  private handler: BatchHandler | undefined;
  private consumer: Consumer | undefined;
  private admin: Admin | undefined;
  private readonly crashes: CrashCount;
  private gaveUp = false;
  private stopping = false;
  private stopPromise: Promise<void> | undefined;
  private endGrace!: () => void;
  private readonly shutdown: ShutdownSignal;
  private committedItems = 0;
  private failed = false;
  /** A non-retriable processing error: the worker does not restart after it. */
  private fatal: SpillwayError | undefined;
  /** Consumption paused by the owner (the LLM is down); survives consumer restarts. */
  private paused = false;
  private brokerCheck: { at: number; result: Promise<boolean> } | undefined;
  private limits: OutputLimits | undefined;
  /** Writes side records at once (`sideDelivery: immediate`). */
  private sideProducer: Producer | undefined;

  constructor(private readonly options: StreamWorkerOptions) {
    this.log = options.logger.child({ module: 'stream-worker' });
    this.crashes = new CrashCount(options.config.maxRestarts);
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

  /**
   * Stops fetching from the input topic (the LLM is down): in-flight items finish or wait, nothing new starts,
   * committed work stays committed. Kept across consumer restarts until {@link resume}.
   */
  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.log.warn({ topic: this.options.config.topics.input }, 'consumption paused');
    this.applyPause();
  }

  /** Fetches again after {@link pause}. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.log.info({ topic: this.options.config.topics.input }, 'consumption resumed');
    try {
      this.consumer?.resume([{ topic: this.options.config.topics.input }]);
    } catch (err: unknown) {
      this.log.debug({ err }, 'resume before the consumer runs: nothing to resume');
    }
  }

  /** True while consumption is paused by {@link pause}. */
  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Whether a broker answers a metadata request within `timeoutMs` (the /healthz check). Results are reused
   * for a second, so a probe storm does not become a request storm.
   */
  brokerReachable(timeoutMs = 2_000): Promise<boolean> {
    const admin = this.admin;
    if (admin === undefined) return Promise.resolve(false);
    const now = Date.now();
    if (this.brokerCheck !== undefined && now - this.brokerCheck.at < 1_000) return this.brokerCheck.result;
    let timer: NodeJS.Timeout | undefined;
    const result = Promise.race([
      admin.describeCluster().then((c) => c.brokers.length > 0),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ])
      .catch(() => false)
      .finally(() => clearTimeout(timer));
    this.brokerCheck = { at: now, result };
    return result;
  }

  private applyPause(): void {
    if (!this.paused) return;
    try {
      this.consumer?.pause([{ topic: this.options.config.topics.input }]);
    } catch (err: unknown) {
      // Before consumer.run() kafkajs refuses to pause; runConsumer applies it once running.
      this.log.debug({ err }, 'pause before the consumer runs: applied when it does');
    }
  }

  /** The largest record each output topic accepts, as read from the broker at start. */
  get outputLimits(): OutputLimits | undefined {
    return this.limits;
  }

  /**
   * Connects, checks that the three topics exist (a TopicNotFoundError names a missing one), reads
   * the output topics' max.message.bytes, joins the group and starts consuming; resolves once consuming.
   */
  async start(): Promise<void> {
    const { kafka, config, transactionalId } = this.options;
    const exactlyOnce = config.delivery === 'exactly-once';
    const admin = kafka.admin();
    this.admin = admin;
    await admin.connect();
    await assertTopicsExist(admin, [
      { topic: config.topics.input, role: 'input' },
      { topic: config.topics.output, role: 'output' },
      { topic: config.topics.deadLetter, role: 'deadLetter' },
    ]);
    const maxBytes = await readMaxMessageBytes(admin, [config.topics.output, config.topics.deadLetter], this.log);
    const limits: OutputLimits = { output: maxBytes.get(config.topics.output) as number, deadLetter: maxBytes.get(config.topics.deadLetter) as number };
    this.limits = limits;
    const topics = { output: config.topics.output, deadLetter: config.topics.deadLetter, limits };
    // Transactions need an idempotent producer with one request in flight (kafkajs enforces it).
    const transactional = (): Producer =>
      kafka.producer({
        transactionalId,
        idempotent: true,
        maxInFlightRequests: 1,
        transactionTimeout: config.transactionTimeoutMs,
        createPartitioner: PARTITIONER,
      });
    const committer: Committer = exactlyOnce
      ? new TransactionalCommitter(transactional, admin, config.groupId, topics, this.log)
      : new AtLeastOnceCommitter(
          kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER }),
          { commitOffsets: (offsets) => this.consumer?.commitOffsets(offsets) ?? Promise.resolve() },
          topics,
        );
    this.committer = committer;
    const sendSide = await this.startSideProducer();
    this.handler = new BatchHandler({
      decoder: this.options.decoder,
      process: this.options.process,
      fitter: new OutputFitter({
        annotationEncoder: this.options.annotationEncoder,
        deadLetterEncoder: this.options.deadLetterEncoder,
        limits,
        topics,
        logger: this.log,
        deadLetterFormat: config.outputFormat,
        ...(this.options.observer === undefined ? {} : { observer: this.options.observer }),
      }),
      limiter: new InFlightLimiter(config.maxInFlight),
      commitIntervalMs: config.commitIntervalMs,
      committer,
      committedOffset: async (topic, partition) => {
        const [entry] = await admin.fetchOffsets({ groupId: config.groupId, topics: [topic] });
        const offset = entry?.partitions.find((p) => p.partition === partition)?.offset;
        return offset === undefined || offset === '-1' ? undefined : offset;
      },
      seek: (topic, partition, offset) => this.consumer?.seek({ topic, partition, offset }),
      shutdown: this.shutdown,
      logger: this.log,
      ...(this.options.observer === undefined ? {} : { observer: this.options.observer }),
      // kafkajs wraps what eachBatch throws and drops the error's class: remember the real one.
      onFailure: (err) => {
        if (err instanceof SpillwayError && !err.retriable) this.fatal = err;
      },
      onCommitted: (items) => {
        this.crashes.progressed();
        this.committedItems += items;
      },
      ...(this.options.sideRecords === undefined ? {} : { sideRecords: this.options.sideRecords }),
      ...(sendSide === undefined ? {} : { sendSide }),
      rebalanceCommitWindowMs: REBALANCE_TIMEOUT_MS - heartbeatIntervalOf(config) - HEARTBEAT_TICK_MS - EVICTION_MARGIN_MS,
      ...(config.rememberIds > 0 ? { ids: new IdMemory(config.rememberIds) } : {}),
    });
    // Before joining the group: a killed predecessor's open transaction is settled first, so the offsets
    // this worker starts from are final.
    await committer.start();
    await this.runConsumer();
    this.log.info(
      { groupId: config.groupId, input: config.topics.input, delivery: config.delivery, transactionalId: exactlyOnce ? transactionalId : undefined },
      'worker started',
    );
  }

  /** With `sideDelivery: immediate`, connects the side records' producer and returns their sender. */
  private async startSideProducer(): Promise<((records: readonly SideRecord[]) => Promise<void>) | undefined> {
    if (this.options.sideRecords === undefined || this.options.sideDelivery !== 'immediate') return undefined;
    // Idempotent with one request in flight: a retried send neither duplicates nor reorders the topic.
    const producer = this.options.kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
    await producer.connect();
    this.sideProducer = producer;
    return async (records) => {
      const byTopic = new Map<string, Message[]>();
      for (const r of records) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r.message]);
      await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    };
  }

  /** Creates a consumer, joins the group and runs the batch handler; a new consumer after each crash. */
  private async runConsumer(): Promise<void> {
    const { kafka, config } = this.options;
    const handler = this.handler as BatchHandler;
    const consumer = kafka.consumer({
      groupId: config.groupId,
      readUncommitted: false,
      sessionTimeout: config.sessionTimeoutMs,
      rebalanceTimeout: REBALANCE_TIMEOUT_MS,
      heartbeatInterval: heartbeatIntervalOf(config),
      maxBytesPerPartition: 1_048_576,
      // A fetch on an idle topic waits this long for records; stop() waits for it, so keep it short.
      maxWaitTimeInMs: 1_000,
      retry: { ...KAFKA_RETRY, restartOnFailure: (err) => Promise.resolve(this.shouldRestart(err)) },
    });
    this.consumer = consumer;
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      if (payload.restart || this.stopping) return;
      // kafkajs restarts only crashes it deems retriable; a broker restart can also surface as a
      // "non-retriable" coordinator error, so the worker restarts those itself, within maxRestarts.
      if (this.shouldRestart(payload.error)) void this.restartConsumer(consumer);
      else this.fail(payload.error);
    });
    const onAssignment = this.options.onAssignment;
    if (onAssignment !== undefined) {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const mine = payload.memberAssignment[config.topics.input] ?? [];
        void this.partitionCount(config.topics.input).then((total) => onAssignment(mine, Math.max(total, mine.length)));
      });
    }
    await consumer.connect();
    await consumer.subscribe({ topics: [config.topics.input], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      eachBatch: (payload) => handler.handle(payload),
    });
    this.applyPause();
  }

  /** The topic's partition count (0 when the broker cannot say: the caller then counts its own). */
  private async partitionCount(topic: string): Promise<number> {
    try {
      const metadata = await this.admin?.fetchTopicMetadata({ topics: [topic] });
      return metadata?.topics[0]?.partitions.length ?? 0;
    } catch {
      return 0;
    }
  }

  private async restartConsumer(crashed: Consumer): Promise<void> {
    await crashed.disconnect().catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, this.crashes.pauseMs));
    if (this.stopping) return;
    try {
      await this.runConsumer();
    } catch (err: unknown) {
      if (this.shouldRestart(err)) void this.restartConsumer(this.consumer ?? crashed);
      else this.fail(err);
    }
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

  /**
   * Batches in progress get the grace period (the batch handler races it); then stopping the consumer, leaving
   * the group and closing the producer and admin get LEAVE_TIMEOUT_MS: against a broker that is recovering
   * (the consumer rejoining, the coordinator loading) they would retry for half a minute, past the shutdown
   * watchdog (close-within.ts).
   */
  private async doStop(): Promise<void> {
    this.stopping = true;
    const timer = setTimeout(() => this.endGrace(), this.options.config.shutdownTimeoutMs);
    try {
      const consumer = this.consumer;
      const stopped = consumer?.stop().catch((err: unknown) => this.log.warn({ err }, 'stopping the consumer failed'));
      if ((this.handler?.active ?? 0) > 0) await Promise.race([stopped, this.shutdown.graceOver]);
      // In turn: the consumer's last commit goes through the producer.
      const close = async (): Promise<void> => {
        await consumer?.disconnect();
        await this.committer?.close();
        await this.sideProducer?.disconnect();
        await this.admin?.disconnect();
      };
      await closeWithin({ 'leave the group and close the clients': close }, LEAVE_TIMEOUT_MS, this.log);
      this.log.info({ committed: this.committedItems }, 'worker stopped');
      this.resolveDone();
    } finally {
      clearTimeout(timer);
    }
  }

  private shouldRestart(err: unknown): boolean {
    // Asked again for the same crash (kafkajs' restartOnFailure, then its CRASH event): the answer stands.
    if (this.gaveUp) return false;
    const cause = this.fatal ?? rootCause(err);
    if (cause instanceof SpillwayError && !cause.retriable) {
      this.gaveUp = true;
      this.log.error({ err: cause }, 'processing failed with a non-retriable error; giving up');
      return false;
    }
    if (!this.crashes.crashed()) {
      this.gaveUp = true;
      this.log.error({ err, restarts: this.crashes.count - 1 }, 'consumer keeps failing; giving up');
      return false;
    }
    this.log.warn({ err, restart: this.crashes.count }, 'consumer crashed; restarting');
    return true;
  }

  /** Gives up: `done` rejects with the processing error behind a crash when there is one (kafkajs keeps only its message). */
  private fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    const cause = this.fatal ?? err;
    this.log.error({ err: cause }, 'worker failed');
    this.rejectDone(cause);
    void Promise.allSettled([this.consumer?.disconnect(), this.committer?.close(), this.sideProducer?.disconnect(), this.admin?.disconnect()]);
  }
}
