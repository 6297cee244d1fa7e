/**
 * `kafka.sasl` and `kafka.ssl` reach the broker: against the project's plaintext listener a SASL
 * client starts a SASL handshake (the broker refuses it) and a TLS client a TLS handshake (it fails), and the
 * CLI's explanation names the setting, not "check SPILLWAY_KAFKA_BROKERS" alone.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config.js';
import { createKafka, explainKafkaError } from '../../src/stream/index.js';
import { BROKERS } from './helpers.js';

const silent = pino({ level: 'silent' });

async function connectError(extra: Partial<typeof DEFAULTS.kafka>): Promise<unknown> {
  const admin = createKafka({ ...DEFAULTS.kafka, brokers: BROKERS, ...extra }, silent, { retry: { retries: 0 } }).admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return undefined;
  } catch (err: unknown) {
    return err;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

describe('when kafka.sasl is set against a plaintext listener', () => {
  it('the client speaks SASL to the broker, which refuses the handshake; the message names kafka.sasl', async () => {
    const err = await connectError({ sasl: { mechanism: 'plain', username: 'svc', password: 'pw' } });
    expect((err as { type?: string }).type).toBe('ILLEGAL_SASL_STATE');
    expect(explainKafkaError(err)).toMatch(/does not take this SASL mechanism.*kafka\.sasl/);
  });
});

describe('when kafka.ssl is set against a plaintext listener', () => {
  it('the client starts a TLS handshake, which fails', async () => {
    const err = await connectError({ ssl: true });
    expect(err).toBeInstanceOf(Error);
    expect(String((err as Error).message)).toMatch(/TLS/);
    expect(explainKafkaError(err)).toContain('kafka.ssl');
  });
});
