/**
 * Dead letters outside the worker's transactions: the records of shared learning's label and snapshot topics
 * that cannot be used. Each is counted, logged once with its offset and reason, and written to the dead-letter
 * topic (cut to fit it, as the worker's are) by an idempotent producer in the background, so a slow broker
 * never holds up learning; a write that fails is logged at error.
 */
import type { Kafka, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.js';
import type { InvalidSharedRecordError } from '../errors.js';
import { PARTITIONER } from './kafka-client.js';
import { closeWithin } from './close-within.js';
import { OutputFitter } from './output-fitter.js';
import type { RecordEncoder } from './record-codec.js';
import { assertTopicsExist, DEFAULT_MAX_MESSAGE_BYTES, readMaxMessageBytes } from './topic-limits.js';
import type { AnnotationRecord, DeadLetterRecord, RecordOrigin, StreamObserver } from './types.js';

/** What {@link DeadLetterWriter} needs. */
export interface DeadLetterWriterOptions {
  kafka: Kafka;
  config: Pick<KafkaConfig, 'topics' | 'outputFormat'>;
  codecs: { annotationEncoder: RecordEncoder<AnnotationRecord>; deadLetterEncoder: RecordEncoder<DeadLetterRecord> };
  logger: Logger;
  observer?: StreamObserver;
}

/** Writes the dead letters of shared learning's refused records. `start()` before `write()`. */
export class DeadLetterWriter {
  private producer: Producer | undefined;
  private fitter: OutputFitter | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly log: Logger;

  constructor(private readonly options: DeadLetterWriterOptions) {
    this.log = options.logger.child({ module: 'shared-dead-letters' });
  }

  /** Checks the dead-letter topic exists (a TopicNotFoundError names it), reads its size limit and connects the producer. */
  async start(): Promise<void> {
    const { kafka, config, codecs, logger, observer } = this.options;
    const admin = kafka.admin();
    await admin.connect();
    let limit: number;
    try {
      await assertTopicsExist(admin, [{ topic: config.topics.deadLetter, role: 'deadLetter' }]);
      limit = (await readMaxMessageBytes(admin, [config.topics.deadLetter], this.log)).get(config.topics.deadLetter) ?? DEFAULT_MAX_MESSAGE_BYTES;
    } finally {
      await admin.disconnect();
    }
    this.fitter = new OutputFitter({
      ...codecs,
      limits: { output: DEFAULT_MAX_MESSAGE_BYTES, deadLetter: limit },
      topics: { output: config.topics.output, deadLetter: config.topics.deadLetter },
      logger,
      deadLetterFormat: config.outputFormat,
      ...(observer === undefined ? {} : { observer }),
    });
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: PARTITIONER });
    await producer.connect();
    this.producer = producer;
  }

  /**
   * Counts, logs and queues the dead letter of one refused record of the label (`labels`) or snapshot
   * (`models`) topic. Never throws: failing to write a dead letter must not stop learning.
   */
  write(role: 'labels' | 'models', record: { key: Buffer | null; value: Buffer | null }, origin: RecordOrigin, err: InvalidSharedRecordError): void {
    this.options.observer?.sharedRecordRejected?.(role, err.kind);
    const fitter = this.fitter;
    const producer = this.producer;
    if (fitter === undefined || producer === undefined) {
      this.log.error({ ...origin, kind: err.kind, reason: err.message }, 'refused record not dead-lettered: the writer is not started');
      return;
    }
    const message = fitter.deadLetter(record, origin, err.kind, err.message);
    this.queue = this.queue
      .then(() => producer.send({ topic: this.options.config.topics.deadLetter, acks: -1, messages: [message] }))
      .then(
        () => undefined,
        (sendErr: unknown) => this.log.error({ ...origin, kind: err.kind, err: sendErr }, 'writing the dead letter of a refused record failed'),
      );
  }

  /** Resolves when every queued dead letter is written (or has failed). */
  flush(): Promise<void> {
    return this.queue;
  }

  /** Flushes and disconnects, within `timeoutMs` (what is still queued then is logged, close-within.ts). */
  async close(timeoutMs = 1_500): Promise<void> {
    const producer = this.producer;
    this.producer = undefined;
    await closeWithin({ 'write the queued dead letters and close': async () => (await this.flush(), await producer?.disconnect()) }, timeoutMs, this.log);
  }
}
