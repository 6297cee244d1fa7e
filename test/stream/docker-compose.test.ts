import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configFromEnv, DEFAULTS, parseConfig } from '../../src/config.js';
import { loadTopicSettings } from '../../src/stream/index.js';
import { REPO_ROOT } from './helpers.js';

interface Service {
  image?: string;
  ports?: string[];
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parseYaml(readFileSync(path.join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;

/** The environment a service gets, with `${VAR:-default}` resolved to its default (the user's shell is not ours). */
function envOf(service: Service | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(service?.environment ?? {}).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
}

describe('docker-compose.yml', () => {
  it('publishes every port on 127.0.0.1 only', () => {
    const published = Object.values(services).flatMap((s) => s.ports ?? []);
    expect(published.length).toBe(3);
    for (const port of published) expect(port).toMatch(/^127\.0\.0\.1:\d+:\d+$/);
  });

  it('gives Kafka an internal listener for containers and a host listener advertised as 127.0.0.1', () => {
    const kafka = envOf(services.kafka);
    expect(kafka.KAFKA_ADVERTISED_LISTENERS).toBe('INTERNAL://kafka:29092,HOST://127.0.0.1:9092');
    expect(kafka.KAFKA_INTER_BROKER_LISTENER_NAME).toBe('INTERNAL');
    expect(services.kafka?.ports).toEqual(['127.0.0.1:9092:9092']);
    // Every listener named is mapped to a protocol, and the advertised ones are listened on.
    const mapped = new Set((kafka.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((m) => m.split(':')[0]));
    const listening = (kafka.KAFKA_LISTENERS ?? '').split(',').map((l) => l.split('://')[0]);
    for (const name of listening) expect(mapped.has(name)).toBe(true);
    for (const name of ['INTERNAL', 'HOST']) expect(listening).toContain(name);
  });

  it('runs Kafka 3.9 in KRaft mode, Redis, the topic creation and Spillway built from this repo', () => {
    expect(Object.keys(services).sort()).toEqual(['kafka', 'redis', 'spillway', 'topics']);
    expect(services.kafka?.image).toMatch(/^apache\/kafka:3\.9\.\d+$/);
    expect(envOf(services.kafka).KAFKA_PROCESS_ROLES).toBe('broker,controller');
    expect(services.redis?.image).toMatch(/^redis:/);
    expect(services.spillway?.build).toBe('.');
    expect(existsSync(path.join(REPO_ROOT, 'Dockerfile'))).toBe(true);
    expect(services.topics?.command).toEqual(['topics', 'create']);
    expect(services.spillway?.command).toEqual(['run']);
    expect(services.spillway?.depends_on?.topics?.condition).toBe('service_completed_successfully');
  });

  it('gives Spillway a configuration that parses and points at the compose broker and Redis', () => {
    const env = envOf(services.spillway);
    for (const name of Object.keys(env)) expect(name).toMatch(/^SPILLWAY_/);
    const config = parseConfig(configFromEnv(env));
    const advertised = Object.fromEntries((envOf(services.kafka).KAFKA_ADVERTISED_LISTENERS ?? '').split(',').map((l) => l.split('://') as [string, string]));
    expect(config.kafka.brokers).toEqual([advertised.INTERNAL]);
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.monitor.httpHost).toBe('0.0.0.0');
    // Published on 127.0.0.1 only, so no token; Prometheus scrapes it by its service name.
    expect(config.monitor.allowUnauthenticated).toBe(true);
    expect(config.monitor.allowedHosts).toEqual(['spillway']);
    expect(envOf(services.topics)).toEqual(env);
  });

  it('uses the default topic names, the ones topics/topics.yaml creates', () => {
    const config = parseConfig(configFromEnv(envOf(services.spillway)));
    expect(config.kafka.topics).toEqual(DEFAULTS.kafka.topics);
    const settings = loadTopicSettings();
    expect([settings.input.name, settings.output.name, settings.deadLetter.name, settings.labels?.name, settings.models?.name]).toEqual(
      Object.values(DEFAULTS.kafka.topics),
    );
  });
});
