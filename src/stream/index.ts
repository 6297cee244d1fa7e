/**
 * The Kafka side of Spillway: codecs, validation, topic administration and the worker.
 * The CLI wires it to the cascade; nothing here imports the cascade.
 */
export type { StreamItem, ItemAnswer, AnnotationRecord, DeadLetterRecord, RecordOrigin, ItemProcessor, StreamObserver, StageTraceRecord } from './types.js';
export { TOPICS_DIR, loadAvroType, loadTopicSchemas, type TopicSchemas } from './schemas.js';
export { SchemaRegistryClient, toWireFormat, fromWireFormat, type SchemaRegistry } from './schema-registry.js';
export { validateItem, type ItemLimits } from './item-validator.js';
export { IdMemory, type FirstSeen } from './id-memory.js';
export { murmur2, partitionOfKey, KEY_HASH_PARTITIONER } from './partitioner.js';
export { fingerprint64, schemaFingerprint, toSingleObject, fromSingleObject } from './single-object.js';
export { ItemDecoder, ItemEncoder, type ItemFormat, type ItemDecoderOptions } from './item-codec.js';
export { RecordEncoder, RecordDecoder, deadLetterJson } from './record-codec.js';
export { toAnnotationRecord, toDeadLetter } from './records.js';
export { loadTopicSettings, TOPICS_FILE, type TopicSettings, type TopicsSettings, type TopicRole } from './topic-settings.js';
export { ensureTopics, type TopicOutcome } from './topic-admin.js';
export { createKafka, KAFKA_RETRY, PARTITIONER } from './kafka-client.js';
export { explainKafkaError, isKafkaError } from './kafka-errors.js';
export { assertTopicsExist, readMaxMessageBytes, fitsTopic, messageBytes, DEFAULT_MAX_MESSAGE_BYTES, type OutputLimits } from './topic-limits.js';
export { StreamWorker, type StreamWorkerOptions } from './worker.js';
export { buildCodecs, type StreamCodecs } from './codecs.js';
export { readTopic, type ReadTopicOptions } from './topic-reader.js';
export { readJsonlItems, rejectDuplicateIds, DEFAULT_MAX_LINE_BYTES, type JsonlEntry } from './jsonl-source.js';
export { LabelPublisher, isTrainingLabel, type LabelRecord, type LabelPublisherOptions } from './label-topic.js';
export { OwnLabels } from './own-labels.js';
export { LabelConsumer, type LabelConsumerOptions } from './label-consumer.js';
export {
  SnapshotPublisher,
  readSnapshots,
  readUsableSnapshot,
  snapshotMessages,
  type ModelSnapshot,
  type PublishedSnapshot,
  type ReadSnapshotsOptions,
  type ReadUsableSnapshotOptions,
  type RefuseSnapshotRecord,
} from './snapshot-topic.js';
export { DeadLetterWriter, type DeadLetterWriterOptions } from './dead-letter-writer.js';
export { closeWithin } from './close-within.js';
export { checkLabel, type LabelRules, type CheckedLabel } from './label-validator.js';
export type { SideRecord } from './committer.js';
export { ReplacingFile } from './replacing-file.js';
