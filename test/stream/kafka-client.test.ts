/**
 * Production Kafka: `kafka.ssl` and `kafka.sasl` reach kafkajs' client configuration (PEM files
 * read), and the schema registry client sends basic auth. The broker-side check is in kafka-auth.kafka.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULTS, type KafkaConfig } from '../../src/config.js';
import { ConfigError, SchemaRegistryError } from '../../src/errors.js';
import { kafkaClientConfig } from '../../src/stream/kafka-client.js';
import { buildCodecs } from '../../src/stream/index.js';
import { startRegistryDouble, type RegistryDouble } from './registry-double.js';

const silent = pino({ level: 'silent' });

describe('the kafkajs client configuration', () => {
  it('has no ssl and no sasl by default (plaintext, as the local broker)', () => {
    const config = kafkaClientConfig(DEFAULTS.kafka, silent);
    expect(config.ssl).toBeUndefined();
    expect(config.sasl).toBeUndefined();
    expect(config.brokers).toEqual(DEFAULTS.kafka.brokers);
  });

  it('carries ssl: true and each SASL mechanism with its credentials', () => {
    for (const mechanism of ['plain', 'scram-sha-256', 'scram-sha-512'] as const) {
      const config = kafkaClientConfig({ ...DEFAULTS.kafka, ssl: true, sasl: { mechanism, username: 'svc', password: 'pw' } }, silent);
      expect(config.ssl).toBe(true);
      expect(config.sasl).toEqual({ mechanism, username: 'svc', password: 'pw' });
    }
  });

  it('reads the CA, certificate and key files into the TLS options', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spillway-tls-'));
    const files = { ca: path.join(dir, 'ca.pem'), cert: path.join(dir, 'cert.pem'), key: path.join(dir, 'key.pem') };
    for (const [name, file] of Object.entries(files)) writeFileSync(file, `-----BEGIN ${name}-----\n`);
    const config = kafkaClientConfig({ ...DEFAULTS.kafka, ssl: { ...files, rejectUnauthorized: false } }, silent);
    expect(config.ssl).toEqual({
      ca: [Buffer.from('-----BEGIN ca-----\n')],
      cert: Buffer.from('-----BEGIN cert-----\n'),
      key: Buffer.from('-----BEGIN key-----\n'),
      rejectUnauthorized: false,
    });
  });

  it('an unreadable PEM file is a ConfigError naming the key', () => {
    const err = (() => {
      try {
        kafkaClientConfig({ ...DEFAULTS.kafka, ssl: { ca: '/nonexistent/ca.pem' } }, silent);
      } catch (e: unknown) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).key).toBe('kafka.ssl.ca');
  });
});

describe('a schema registry that requires basic auth', () => {
  let registry: RegistryDouble;
  beforeAll(async () => {
    registry = await startRegistryDouble({ auth: { username: 'reg', password: 'pw' } });
  });
  afterAll(async () => {
    await registry.close();
  });

  const avroConfig = (extra: Partial<KafkaConfig>): KafkaConfig => ({
    ...DEFAULTS.kafka,
    inputFormat: 'avro',
    outputFormat: 'avro',
    schemaRegistryUrl: registry.url,
    ...extra,
  });

  it('accepts the configured user and password', async () => {
    const codecs = await buildCodecs(avroConfig({ schemaRegistryUsername: 'reg', schemaRegistryPassword: 'pw' }));
    expect(codecs.registry).toBeDefined();
    // One schema per topic the codecs write or read, each registered with the credentials.
    expect(registry.requests.filter((r) => r.startsWith('POST')).length).toBeGreaterThanOrEqual(3);
  });

  it('without them, fails with the 401 and says which settings to check', async () => {
    const err = await buildCodecs(avroConfig({})).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SchemaRegistryError);
    expect((err as SchemaRegistryError).status).toBe(401);
    expect((err as Error).message).toContain('SPILLWAY_SCHEMA_REGISTRY_PASSWORD');
  });
});
