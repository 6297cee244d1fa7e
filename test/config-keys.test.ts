/**
 * Strict configuration: `llmBuget: 0.1` used to run silently with the default budget. Unknown
 * keys and `SPILLWAY_*` variables are errors with a did-you-mean; YAML errors give the line; a bad value
 * from the environment names the variable; Kafka SSL/SASL and registry auth are read, secrets from the env.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { configFromEnv, loadConfig, parseConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

function file(name: string, text: string): string {
  const p = path.join(mkdtempSync(path.join(tmpdir(), 'spillway-config-')), name);
  writeFileSync(p, text);
  return p;
}

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err: unknown) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('when the config file has a key the schema does not know', () => {
  it('refuses a top-level typo and suggests the key it resembles anywhere (llmBuget → cascade.llmBudget)', () => {
    const err = configError(() => loadConfig({ file: file('c.yaml', 'llmBuget: 0.1\n'), env: {} }));
    expect(err.issues).toEqual([expect.objectContaining({ key: 'llmBuget', message: 'unknown key — did you mean cascade.llmBudget?' })]);
    expect(err.message).toContain('llmBuget: unknown key — did you mean cascade.llmBudget?');
  });

  it('refuses a nested typo, suggesting its sibling first', () => {
    const err = configError(() => parseConfig({ cascade: { llmBuget: 0.1 }, kafka: { topics: { inptu: 'x' } } }));
    expect(err.issues.map((i) => [i.key, i.message])).toEqual([
      ['cascade.llmBuget', 'unknown key — did you mean cascade.llmBudget?'],
      ['kafka.topics.inptu', 'unknown key — did you mean kafka.topics.input?'],
    ]);
  });

  it('refuses a key like nothing without a guess', () => {
    const err = configError(() => parseConfig({ monitor: { zzzzzzzzzzzz: true } }));
    expect(err.issues[0]).toMatchObject({ key: 'monitor.zzzzzzzzzzzz', message: 'unknown key' });
  });

  it('still accepts every key of the example configuration', () => {
    expect(() => loadConfig({ file: path.resolve('spillway.example.yaml'), env: {} })).not.toThrow();
  });
});

describe('when a SPILLWAY_* variable sets nothing', () => {
  it('is an error naming the variable, with a did-you-mean', () => {
    const err = configError(() => configFromEnv({ SPILLWAY_LLM_BUGDET: '0.1' }));
    expect(err.issues[0]).toMatchObject({ key: 'SPILLWAY_LLM_BUGDET' });
    expect(err.issues[0]?.message).toContain('did you mean SPILLWAY_LLM_BUDGET?');
  });

  it("leaves the scripts' and tests' own variables alone", () => {
    expect(configFromEnv({ SPILLWAY_KAFKA_PORT: '19092', SPILLWAY_KAFKA_HOME: '/tmp/x', SPILLWAY_TEST_DELAY_MS: '5', PATH: '/bin' })).toEqual({});
  });
});

describe('when a value is wrong', () => {
  it('from the environment, the error names the variable', () => {
    const err = configError(() => loadConfig({ env: { SPILLWAY_LLM_BUDGET: 'lots' } }));
    expect(err.issues[0]?.key).toBe('cascade.llmBudget');
    expect(err.issues[0]?.message).toContain('from SPILLWAY_LLM_BUDGET');
  });

  it('in YAML syntax, the error gives the file and line', () => {
    const p = file('broken.yaml', 'cascade:\n  llmBudget: 0.1\nkafka: [1,\nllm: {}\n');
    const err = configError(() => loadConfig({ file: p, env: {} }));
    expect(err.message).toMatch(new RegExp(`${p.replace(/[.]/g, '\\.')} line 4, column 1: not valid YAML or JSON`));
  });
});

describe('production Kafka settings', () => {
  it('reads SSL files and SASL from the file, the password from the environment (never shown)', () => {
    const p = file('c.yaml', 'kafka:\n  ssl: { ca: /etc/ca.pem, cert: /etc/c.pem, key: /etc/k.pem }\n  sasl: { mechanism: scram-sha-512, username: svc }\n');
    const config = loadConfig({
      file: p,
      env: { SPILLWAY_KAFKA_SASL_PASSWORD: 's3cret', SPILLWAY_SCHEMA_REGISTRY_USERNAME: 'reg', SPILLWAY_SCHEMA_REGISTRY_PASSWORD: 'pw' },
    });
    expect(config.kafka.ssl).toEqual({ ca: '/etc/ca.pem', cert: '/etc/c.pem', key: '/etc/k.pem' });
    expect(config.kafka.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'svc', password: 's3cret' });
    expect(config.kafka.schemaRegistryUsername).toBe('reg');
    expect(config.kafka.schemaRegistryPassword).toBe('pw');
  });

  it('a SASL password missing says which variable sets it, and a bad mechanism is refused', () => {
    const err = configError(() => parseConfig({ kafka: { sasl: { mechanism: 'gssapi', username: 'svc' } } }));
    expect(err.issues.map((i) => i.key).sort()).toEqual(['kafka.sasl.mechanism', 'kafka.sasl.password']);
    expect(err.issues.find((i) => i.key === 'kafka.sasl.password')?.message).toContain('SPILLWAY_KAFKA_SASL_PASSWORD');
  });

  it('SPILLWAY_KAFKA_SSL=true turns TLS on with the system CAs', () => {
    expect(loadConfig({ env: { SPILLWAY_KAFKA_SSL: 'true' } }).kafka.ssl).toBe(true);
  });

  it('registry basic auth needs both user and password', () => {
    const err = configError(() => parseConfig({ kafka: { schemaRegistryUsername: 'reg' } }));
    expect(err.issues[0]?.key).toBe('kafka.schemaRegistryPassword');
  });
});
