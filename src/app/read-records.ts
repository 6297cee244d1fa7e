/**
 * Reading the committed records of a Spillway topic (`spillway consume`): read_committed, decoded per the
 * topic's role (annotations, items, dead letters), from the start or new records only, until `max`, the end of
 * every partition, or the lifecycle's stop.
 */
import type { Config } from '../config.js';
import { assertTopicsExist, buildCodecs, createKafka, readTopic, type StreamCodecs } from '../stream/index.js';
import type { ServiceContext } from './service-context.js';

/** A decoded record. */
export type DecodedRecord = Record<string, unknown>;

/** What a topic's records are. */
export type TopicRole = 'annotations' | 'items' | 'dead-letters';

export interface ReadRecordsOptions {
  /** The topic (default: `kafka.topics.output`). */
  topic?: string;
  fromBeginning: boolean;
  exitAtEnd: boolean;
  max?: number;
  /** Stops reading (the lifecycle's signal). */
  signal: AbortSignal;
  /** Told the topic and its role before the first record. */
  onStart?: (topic: string, role: TopicRole) => void;
  onRecord: (record: { partition: number; offset: string; key: string | null; value: DecodedRecord }) => void;
}

/** Reads the topic's committed records; resolves with how many were read. */
export async function readRecords(context: ServiceContext, options: ReadRecordsOptions): Promise<number> {
  const { config, logger } = context;
  const topic = options.topic ?? config.kafka.topics.output;
  const kafka = createKafka(config.kafka, logger);
  const admin = kafka.admin();
  try {
    await admin.connect();
    await assertTopicsExist(admin, [{ topic }]);
  } finally {
    await admin.disconnect();
  }
  const role = roleOf(topic, config);
  const decode = decoderFor(role, await buildCodecs(config.kafka));
  options.onStart?.(topic, role);
  const read = await readTopic({
    kafka,
    topic,
    fromBeginning: options.fromBeginning,
    exitAtEnd: options.exitAtEnd,
    signal: options.signal,
    ...(options.max === undefined ? {} : { max: options.max }),
    onRecord: async (message, partition) => {
      const value = await decode(message.value, { topic, partition, offset: message.offset });
      options.onRecord({ partition, offset: message.offset, key: message.key?.toString('utf8') ?? null, value });
    },
  });
  logger.info({ topic, read }, 'consume finished');
  return read;
}

/** The role of a topic by its configured name; unknown topics are read as annotations. */
export function roleOf(topic: string, config: Readonly<Config>): TopicRole {
  if (topic === config.kafka.topics.deadLetter) return 'dead-letters';
  if (topic === config.kafka.topics.input) return 'items';
  return 'annotations';
}

type Decode = (value: Buffer | null, origin: { topic: string; partition: number; offset: string }) => Promise<DecodedRecord>;

function decoderFor(role: TopicRole, codecs: StreamCodecs): Decode {
  if (role === 'dead-letters') return (value, origin) => codecs.deadLetterDecoder.decode(value, origin) as Promise<DecodedRecord>;
  // Input records are items: decoded with the item decoder's format.
  if (role === 'items') return async (value, origin) => ({ ...(await codecs.itemDecoder.decode(value, null, origin)) });
  return (value, origin) => codecs.annotationDecoder.decode(value, origin) as Promise<DecodedRecord>;
}
