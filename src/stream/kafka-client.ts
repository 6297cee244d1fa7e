/** Creates the kafkajs client with its logs routed to pino, and the retry policy the worker relies on. */
import { Kafka, logLevel, Partitioners, type LogEntry, type RetryOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.js';

const PINO_LEVEL: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/**
 * Retries of broker requests: about 30 s of capped exponential backoff, enough to ride out a broker
 * restart; past that the consumer crashes and the worker decides whether to restart it.
 */
export const KAFKA_RETRY: RetryOptions = { initialRetryTime: 300, maxRetryTime: 5_000, retries: 8, factor: 0.2, multiplier: 2 };

/** A kafkajs client for `config.brokers` logging through `logger` (kafkajs info is Spillway debug: it is chatty). */
export function createKafka(config: Pick<KafkaConfig, 'brokers' | 'clientId'>, logger: Logger, options: { retry?: RetryOptions } = {}): Kafka {
  const log = logger.child({ module: 'kafkajs' });
  return new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    retry: options.retry ?? KAFKA_RETRY,
    logLevel: logLevel.INFO,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...extra } = entry.log;
      // kafkajs logs every failed response at error level, although it retries them: a broker restart or
      // a coordinator still loading is degraded service (warn), not a call for a person (error).
      const mapped = PINO_LEVEL[entry.level] ?? 'debug';
      const level = mapped === 'info' ? 'debug' : mapped === 'error' && entry.namespace === 'Connection' ? 'warn' : mapped;
      if (log.isLevelEnabled(level)) log[level]({ namespace: entry.namespace, ...extra }, message);
    },
  });
}

/** The partitioner every Spillway producer uses (Java-compatible murmur2 on the key). */
export const PARTITIONER = Partitioners.DefaultPartitioner;
