import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { configFromEnv, DEFAULTS, parseConfig } from '../../src/config.js';
import { loadTopicSettings } from '../../src/stream/index.js';
import { REPO_ROOT } from './helpers.js';

interface Service {
  image?: string;
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

  it("gives Spillway a configuration that parses and points at the compose broker and Redis", () => {
    const env = envOf(services.spillway);
    for (const name of Object.keys(env)) expect(name).toMatch(/^SPILLWAY_/);
    const config = parseConfig(configFromEnv(env));
    expect(config.kafka.brokers).toEqual([envOf(services.kafka).KAFKA_ADVERTISED_LISTENERS?.replace('PLAINTEXT://', '')]);
    expect(config.redis.url).toBe('redis://redis:6379');
    expect(config.monitor.httpHost).toBe('0.0.0.0');
    expect(envOf(services.topics)).toEqual(env);
  });

  it('uses the default topic names, the ones topics/topics.yaml creates', () => {
    const config = parseConfig(configFromEnv(envOf(services.spillway)));
    expect(config.kafka.topics).toEqual(DEFAULTS.kafka.topics);
    const settings = loadTopicSettings();
    expect([settings.input.name, settings.output.name, settings.deadLetter.name, settings.labels?.name, settings.models?.name]).toEqual(Object.values(DEFAULTS.kafka.topics));
  });
});
