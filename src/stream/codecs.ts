/**
 * Builds every codec the CLI needs from the Kafka configuration, once at start-up: with a schema
 * registry, the current schemas are registered under `<topic>-value` (Confluent's TopicNameStrategy)
 * and their ids framed into what is written.
 */
import type { KafkaConfig } from '../config.js';
import { ItemDecoder, ItemEncoder } from './item-codec.js';
import { deadLetterJson, RecordDecoder, RecordEncoder } from './record-codec.js';
import { SchemaRegistryClient, type SchemaRegistry } from './schema-registry.js';
import { loadTopicSchemas, type TopicSchemas } from './schemas.js';
import type { LabelRecord } from './label-topic.js';
import type { AnnotationRecord, DeadLetterRecord } from './types.js';

/** The codecs of the topics. */
export interface StreamCodecs {
  schemas: TopicSchemas;
  registry: SchemaRegistry | undefined;
  /** Reads input records (kafka.inputFormat). */
  itemDecoder: ItemDecoder;
  /** Writes input records (kafka.inputFormat): `spillway produce`. */
  itemEncoder: ItemEncoder;
  annotationEncoder: RecordEncoder<AnnotationRecord>;
  deadLetterEncoder: RecordEncoder<DeadLetterRecord>;
  annotationDecoder: RecordDecoder;
  deadLetterDecoder: RecordDecoder;
  /** Writes spillway.labels records (kafka.outputFormat). */
  labelEncoder: RecordEncoder<LabelRecord>;
  labelDecoder: RecordDecoder;
}

/** Builds the codecs; `registry` overrides the client made from `kafka.schemaRegistryUrl` (tests). */
export async function buildCodecs(config: KafkaConfig, options: { schemas?: TopicSchemas; registry?: SchemaRegistry } = {}): Promise<StreamCodecs> {
  const schemas = options.schemas ?? loadTopicSchemas();
  const auth =
    config.schemaRegistryUsername !== undefined && config.schemaRegistryPassword !== undefined
      ? { username: config.schemaRegistryUsername, password: config.schemaRegistryPassword }
      : undefined;
  const registry =
    options.registry ??
    (config.schemaRegistryUrl === undefined ? undefined : new SchemaRegistryClient(config.schemaRegistryUrl, auth === undefined ? {} : { auth }));
  const idOf = async (topic: string, type: typeof schemas.item, format: 'json' | 'avro'): Promise<number | undefined> =>
    registry === undefined || format !== 'avro' ? undefined : registry.register(`${topic}-value`, type);
  const [itemId, annotationId, deadLetterId, labelId] = await Promise.all([
    idOf(config.topics.input, schemas.item, config.inputFormat),
    idOf(config.topics.output, schemas.annotation, config.outputFormat),
    idOf(config.topics.deadLetter, schemas.deadLetter, config.outputFormat),
    idOf(config.topics.labels, schemas.label, config.outputFormat),
  ]);
  return {
    schemas,
    registry,
    itemDecoder: new ItemDecoder({
      format: config.inputFormat,
      itemType: schemas.item,
      maxTextBytes: config.maxTextBytes,
      maxIdBytes: config.maxIdBytes,
      maxRecordBytes: config.maxRecordBytes,
      avroWithoutRegistry: config.avroWithoutRegistry,
      ...(registry === undefined ? {} : { registry }),
    }),
    itemEncoder: new ItemEncoder(config.inputFormat, schemas.item, itemId, config.avroWithoutRegistry),
    annotationEncoder: new RecordEncoder<AnnotationRecord>(config.outputFormat, schemas.annotation, annotationId),
    deadLetterEncoder: new RecordEncoder<DeadLetterRecord>(config.outputFormat, schemas.deadLetter, deadLetterId, deadLetterJson),
    annotationDecoder: new RecordDecoder(schemas.annotation, registry),
    deadLetterDecoder: new RecordDecoder(schemas.deadLetter, registry),
    labelEncoder: new RecordEncoder<LabelRecord>(config.outputFormat, schemas.label, labelId),
    labelDecoder: new RecordDecoder(schemas.label, registry),
  };
}
