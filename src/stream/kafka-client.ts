/** Creates the kafkajs client with its logs routed to pino, the retry policy the worker relies on, TLS and SASL. */
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry, type RetryOptions, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import type { KafkaConfig } from '../config.js';
import { ConfigError } from '../errors.js';
import { KEY_HASH_PARTITIONER } from './partitioner.js';

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

function readPem(file: string, key: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err: unknown) {
    throw new ConfigError([{ key, value: file, message: `cannot read ${file}` }], { cause: err });
  }
}

/** kafkajs' `ssl` from `kafka.ssl`: PEM files are read once here; an unreadable one is a ConfigError naming the key. */
export function tlsOptions(ssl: KafkaConfig['ssl']): boolean | ConnectionOptions | undefined {
  if (ssl === undefined || typeof ssl === 'boolean') return ssl;
  return {
    ...(ssl.ca === undefined ? {} : { ca: [readPem(ssl.ca, 'kafka.ssl.ca')] }),
    ...(ssl.cert === undefined ? {} : { cert: readPem(ssl.cert, 'kafka.ssl.cert') }),
    ...(ssl.key === undefined ? {} : { key: readPem(ssl.key, 'kafka.ssl.key') }),
    ...(ssl.rejectUnauthorized === undefined ? {} : { rejectUnauthorized: ssl.rejectUnauthorized }),
  };
}

/** kafkajs' `sasl` from `kafka.sasl`. */
export function saslOptions(sasl: KafkaConfig['sasl']): SASLOptions | undefined {
  if (sasl === undefined) return undefined;
  const { username, password } = sasl;
  switch (sasl.mechanism) {
    case 'plain':
      return { mechanism: 'plain', username, password };
    case 'scram-sha-256':
      return { mechanism: 'scram-sha-256', username, password };
    case 'scram-sha-512':
      return { mechanism: 'scram-sha-512', username, password };
  }
}

/** The configuration handed to kafkajs' `new Kafka()` (exported for tests: what reaches kafkajs). */
export function kafkaClientConfig(
  config: Pick<KafkaConfig, 'brokers' | 'clientId' | 'ssl' | 'sasl'>,
  logger: Logger,
  options: { retry?: RetryOptions } = {},
): KafkaJsConfig {
  const log = logger.child({ module: 'kafkajs' });
  const ssl = tlsOptions(config.ssl);
  const sasl = saslOptions(config.sasl);
  return {
    clientId: config.clientId,
    brokers: [...config.brokers],
    ...(ssl === undefined ? {} : { ssl }),
    ...(sasl === undefined ? {} : { sasl }),
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
  };
}

/** A kafkajs client for `config.brokers` logging through `logger` (kafkajs info is Spillway debug: it is chatty). */
export function createKafka(config: Pick<KafkaConfig, 'brokers' | 'clientId' | 'ssl' | 'sasl'>, logger: Logger, options: { retry?: RetryOptions } = {}): Kafka {
  return new Kafka(kafkaClientConfig(config, logger, options));
}

/** The partitioner every Spillway producer uses (Java-compatible murmur2 on the key, in linear time: partitioner.ts). */
export const PARTITIONER = KEY_HASH_PARTITIONER;
