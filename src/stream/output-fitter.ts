/**
 * Keeps every record the worker writes under its topic's max.message.bytes, so one item can never make a
 * transaction fail forever and block its partition: an annotation too large is written without
 * the item's metadata and flagged `truncated`; one still too large (a huge id) becomes a dead letter
 * `oversize-output`; a dead letter too large has its original key and value cut, flagged `truncated`; a side
 * record (a shared-learning label) too large for Kafka's default limit is left out, with a warning.
 */
import type { KafkaMessage, Message } from 'kafkajs';
import type { Logger } from 'pino';
import type { SideRecord } from './committer.js';
import type { RecordEncoder } from './record-codec.js';
import { toDeadLetter } from './records.js';
import { BATCH_HEADER_BYTES, DEFAULT_MAX_MESSAGE_BYTES, fitsTopic, messageBytes, type OutputLimits } from './topic-limits.js';
import type { AnnotationRecord, DeadLetterRecord, RecordOrigin, StreamObserver } from './types.js';

/** Original value bytes kept in a dead letter at most, whatever the topic allows: a dead letter is for a person to read. */
const MAX_DEAD_LETTER_VALUE_BYTES = 256 * 1024;
/** Longest error message kept in a dead letter, characters (messages may quote the input). */
const MAX_ERROR_MESSAGE_CHARS = 2_000;
/** Bytes kept free in a dead letter for the note saying what was cut. */
const NOTE_RESERVE_BYTES = 200;

/** What becomes of one input record: its annotation, or a dead letter. */
export type FittedOutcome = { output: Message } | { deadLetter: Message };

/** Dependencies of {@link OutputFitter}. */
export interface OutputFitterDeps {
  annotationEncoder: RecordEncoder<AnnotationRecord>;
  deadLetterEncoder: RecordEncoder<DeadLetterRecord>;
  /** Largest record each output topic accepts, bytes (its max.message.bytes). */
  limits: OutputLimits;
  /** Names of the output topics, for messages. */
  topics: { output: string; deadLetter: string };
  logger: Logger;
  observer?: StreamObserver;
  /** Encoding of dead letters: base64 in JSON makes cut bytes cost 4/3. */
  deadLetterFormat: 'json' | 'avro';
}

/** Builds output records that fit their topics. */
export class OutputFitter {
  constructor(private readonly deps: OutputFitterDeps) {}

  /** The annotation record of an item, as it will be written, or the dead letter of its input record when it cannot fit. */
  annotation(record: AnnotationRecord, input: KafkaMessage, origin: RecordOrigin): FittedOutcome {
    const { annotationEncoder, limits, logger } = this.deps;
    const full: Message = { key: record.id, value: annotationEncoder.encode(record) };
    if (fitsTopic(full, limits.output)) return { output: full };
    const fullBytes = messageBytes(full);
    const trimmed: Message = { key: record.id, value: annotationEncoder.encode({ ...record, metadata: {}, truncated: true }) };
    if (fitsTopic(trimmed, limits.output)) {
      logger.warn(
        { ...where(origin), bytes: fullBytes, limit: limits.output },
        'annotation over the output topic size limit; written without the item metadata',
      );
      this.deps.observer?.outputTruncated?.('output');
      return { output: trimmed };
    }
    const message = `annotation of ${fullBytes} bytes (${messageBytes(trimmed)} without metadata) exceeds max.message.bytes ${limits.output} of topic ${this.deps.topics.output}: the item id is ${Buffer.byteLength(record.id)} bytes`;
    return { deadLetter: this.deadLetter(input, origin, 'oversize-output', message) };
  }

  /**
   * The side records of an answered item (its label for shared learning) that fit Kafka's default record
   * limit; one that does not is left out of the commit with a warning: losing one training label is
   * better than a partition that never commits.
   */
  side(records: readonly SideRecord[], origin: RecordOrigin): SideRecord[] {
    const kept = records.filter((r) => fitsTopic(r.message, DEFAULT_MAX_MESSAGE_BYTES));
    if (kept.length < records.length) {
      for (const r of records.filter((x) => !kept.includes(x))) {
        this.deps.logger.warn(
          { ...where(origin), topic: r.topic, bytes: messageBytes(r.message), limit: DEFAULT_MAX_MESSAGE_BYTES },
          'side record over the size limit; left out',
        );
        this.deps.observer?.outputTruncated?.('side');
      }
    }
    return kept;
  }

  /** The dead letter of an input record, its key and value cut when they would not fit the dead-letter topic. */
  deadLetter(input: Pick<KafkaMessage, 'key' | 'value'>, origin: RecordOrigin, kind: string, errorMessage: string): Message {
    const { deadLetterEncoder, limits, logger } = this.deps;
    const reason = errorMessage.length > MAX_ERROR_MESSAGE_CHARS ? `${errorMessage.slice(0, MAX_ERROR_MESSAGE_CHARS)}…` : errorMessage;
    logger.warn({ ...where(origin), kind, reason: reason.slice(0, 300) }, 'record dead-lettered');
    this.deps.observer?.deadLetter(kind);
    const headers = { 'spillway-error-kind': kind };
    const key = input.key;
    const value = input.value;
    const build = (k: Buffer | null, v: Buffer | null, note: string): Message => {
      const record = toDeadLetter(k, v, origin, kind, `${reason}${note}`, Date.now(), note !== '');
      return { key: k, value: deadLetterEncoder.encode(record), headers: note === '' ? headers : { ...headers, 'spillway-truncated': 'true' } };
    };
    if ((value === null || value.length <= MAX_DEAD_LETTER_VALUE_BYTES) && (key === null || key.length <= MAX_DEAD_LETTER_VALUE_BYTES)) {
      const whole = build(key, value, '');
      if (fitsTopic(whole, limits.deadLetter)) return whole;
    }
    // Room for the original bytes: the limit minus the record without them and the note. The key is
    // written twice (record key and the dead letter's field); JSON writes bytes as base64 (4/3).
    const expansion = this.deps.deadLetterFormat === 'json' ? 4 / 3 : 1;
    const bare = messageBytes(build(null, null, ' '.repeat(NOTE_RESERVE_BYTES)));
    const room = Math.max(0, limits.deadLetter - BATCH_HEADER_BYTES - bare - 16);
    const keyLength = key?.length ?? 0;
    const keepKey = Math.min(keyLength, Math.floor(room / 4 / (1 + expansion)));
    const keepValue = Math.min(value?.length ?? 0, MAX_DEAD_LETTER_VALUE_BYTES, Math.floor((room - keepKey * (1 + expansion)) / expansion));
    const cut: string[] = [];
    if (key !== null && keepKey < key.length) cut.push(`key cut from ${key.length} to ${keepKey} bytes`);
    if (value !== null && keepValue < value.length) cut.push(`value cut from ${value.length} to ${keepValue} bytes`);
    const note = ` (${cut.join(', ')} to fit max.message.bytes ${limits.deadLetter} of topic ${this.deps.topics.deadLetter})`;
    const fitted = build(key === null ? null : key.subarray(0, keepKey), value === null ? null : value.subarray(0, keepValue), note);
    logger.warn({ ...where(origin), kind, keyBytes: keyLength, valueBytes: value?.length ?? 0, limit: limits.deadLetter }, 'dead letter cut to fit its topic');
    this.deps.observer?.outputTruncated?.('dead-letter');
    return fitted;
  }
}

function where(origin: RecordOrigin): { topic: string; partition: number; offset: string } {
  return { topic: origin.topic, partition: origin.partition, offset: origin.offset };
}
