/**
 * The configuration is written once: the zod schema in src/config.ts holds each key's default and
 * meaning, and spillway.example.yaml and the docs' key tables are generated from it. These fail when a file
 * is stale (run `npm run config:docs`) or a key is undocumented.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEFAULTS, ENV_KEYS, parseConfig } from '../../../src/config.js';
import { configKeys, renderConfigTable, writeConfigDocs } from '../../../tools/config/index.js';
import { REPO_ROOT } from '../../../tools/harness/index.js';

const example = readFileSync(path.join(REPO_ROOT, 'spillway.example.yaml'), 'utf8');
const keys = configKeys();

function at(tree: unknown, dotted: string): unknown {
  return dotted.split('.').reduce<unknown>((node, k) => (typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[k] : undefined), tree);
}

describe('the configuration schema', () => {
  it('describes every key', () => {
    expect(keys.length).toBeGreaterThan(80);
    expect(keys.filter((k) => k.description.trim().length < 8).map((k) => k.path)).toEqual([]);
  });

  it('is where the defaults come from: DEFAULTS holds exactly the schema defaults', () => {
    for (const k of keys) expect([k.path, at(DEFAULTS, k.path)]).toEqual([k.path, k.defaultValue]);
  });

  it('names only real keys in its environment variables', () => {
    // A variable may set a key or a part of one (kafka.ssl.ca inside kafka.ssl, a boolean or an object).
    const real = (p: string): boolean => keys.some((k) => p === k.path || p.startsWith(`${k.path}.`));
    expect(ENV_KEYS.map(([, p]) => p).filter((p) => !real(p))).toEqual([]);
  });
});

describe('spillway.example.yaml', () => {
  it('lists every key: each default as a value, each key without one as a commented line', () => {
    const parsed = parse(example) as unknown;
    for (const k of keys) {
      if (k.defaultValue === undefined) expect(example).toMatch(new RegExp(`^\\s*# ${k.path.split('.').at(-1)}:$`, 'm'));
      else expect([k.path, at(parsed, k.path)]).toEqual([k.path, k.defaultValue]);
    }
    expect(parseConfig(parsed)).toEqual(DEFAULTS);
  });

  it('and the docs tables are what the schema generates (npm run config:docs)', () => {
    expect(writeConfigDocs(true)).toEqual([]);
    const cacheDoc = readFileSync(path.join(REPO_ROOT, 'docs/cache.md'), 'utf8');
    expect(cacheDoc).toContain(renderConfigTable('cache.'));
    expect(renderConfigTable('cache.')).toMatch(/\| `enabled` \| `false` \| `SPILLWAY_CACHE` \|/);
  });
});
