import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { configFromEnv, DEFAULTS, loadConfig, parseConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import { REPO_ROOT } from './helpers/paths.js';

describe('configuration', () => {
  it('accepts the example file, whose values are the defaults', () => {
    const example = parse(readFileSync(join(REPO_ROOT, 'spillway.example.yaml'), 'utf8')) as Record<string, unknown>;
    const config = parseConfig(example);
    expect(config.cascade).toEqual(DEFAULTS.cascade);
    expect(config.kafka.topics).toEqual(DEFAULTS.kafka.topics);
    expect(config.monitor).toEqual(DEFAULTS.monitor);
  });

  it('lets the environment override the file and flags override both', () => {
    const env = { SPILLWAY_LLM_BUDGET: '0.3', SPILLWAY_KAFKA_BROKERS: 'a:1, b:2', SPILLWAY_CACHE: 'yes' };
    expect(configFromEnv(env)).toEqual({ cascade: { llmBudget: 0.3 }, kafka: { brokers: ['a:1', 'b:2'] }, cache: { enabled: true } });
    const config = loadConfig({ env, flags: { cascade: { llmBudget: 0.1 } } });
    expect(config.cascade.llmBudget).toBe(0.1);
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(Object.isFrozen(config.cascade)).toBe(true);
  });

  it('names every bad field, the value found and what was expected', () => {
    let error: unknown;
    try {
      parseConfig({ cascade: { llmBudget: 1.5, featureDim: 1000 }, llm: { concurrency: 0 } });
    } catch (err: unknown) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const keys = (error as ConfigError).issues.map((i) => i.key).sort();
    expect(keys).toEqual(['cascade.featureDim', 'cascade.llmBudget', 'llm.concurrency']);
    expect((error as ConfigError).message).toMatch(/cascade\.llmBudget: .*got 1\.5/);
  });

  it('checks rules across fields', () => {
    expect(() => parseConfig({ kafka: { topics: { input: 't', output: 't', deadLetter: 'd' } } })).toThrow(/must differ/);
    expect(() => parseConfig({ llm: { retryBaseMs: 500, retryMaxMs: 100 } })).toThrow(/retryMaxMs/);
  });

  it('reports an unreadable config file as a ConfigError naming it', () => {
    expect(() => loadConfig({ file: '/nonexistent/spillway.yaml', env: {} })).toThrow(ConfigError);
  });
});
