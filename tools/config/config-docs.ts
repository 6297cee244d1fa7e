/**
 * Generates the configuration's documentation from its one schema (src/config.ts): spillway.example.yaml
 * (every key with its default and description) and the key tables of docs/*.md (between
 * `<!-- config-table: <prefix> -->` and `<!-- /config-table -->` markers), so defaults and meanings are
 * written once. `npm run config:docs` rewrites the files; test/tools/config/config-docs.test.ts fails when
 * they are stale.
 */
import { stringify } from 'yaml';
import type { z } from 'zod';
import { configSchema, ENV_KEYS } from '../../src/config.js';

/** One configuration key: its dotted path, default (undefined: unset by default), description and variable. */
export interface ConfigKey {
  path: string;
  defaultValue: unknown;
  description: string;
  env: string | undefined;
}

interface Def {
  type: string;
  innerType?: z.ZodType;
  defaultValue?: unknown;
  shape?: Record<string, z.ZodType>;
}

const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The object schema under default/prefault/optional wrappers, or undefined for a leaf. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let node = schema;
  for (;;) {
    const d = def(node);
    if (d.type === 'object') return d.shape;
    if (d.innerType === undefined || !['default', 'prefault', 'optional'].includes(d.type)) return undefined;
    node = d.innerType;
  }
}

function defaultOf(schema: z.ZodType): unknown {
  const d = def(schema);
  return d.type === 'default' ? d.defaultValue : undefined;
}

/** Every leaf key of the schema, in schema order. */
export function configKeys(schema: z.ZodType = configSchema, prefix = ''): ConfigKey[] {
  const shape = objectShape(schema) ?? {};
  const env = new Map(ENV_KEYS.map(([name, path]) => [path, name]));
  return Object.entries(shape).flatMap(([key, field]) => {
    const path = `${prefix}${key}`;
    if (objectShape(field) !== undefined) return configKeys(field, `${path}.`);
    return [{ path, defaultValue: defaultOf(field), description: field.description ?? '', env: env.get(path) }];
  });
}

const yamlValue = (value: unknown): string => stringify(value, { flowCollectionPadding: false, collectionStyle: 'flow', lineWidth: 0 }).trim();

/** Wraps a description into `# ` comment lines of at most `width` characters. */
function comment(text: string, indent: string, width = 110): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/u).filter(Boolean)) {
    if (line !== '' && indent.length + 2 + line.length + 1 + word.length > width) {
      lines.push(`${indent}# ${line}`);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(`${indent}# ${line}`);
  return lines;
}

function yamlSection(schema: z.ZodType, depth: number, env: Map<string, string>, prefix: string): string[] {
  const indent = '  '.repeat(depth);
  const out: string[] = [];
  for (const [key, field] of Object.entries(objectShape(schema) ?? {})) {
    const path = `${prefix}${key}`;
    if (objectShape(field) !== undefined) {
      if (depth === 0) out.push('');
      const children = yamlSection(field, depth + 1, env, `${path}.`);
      // An optional section with no default (kafka.sasl) is shown commented out: present, it needs its keys.
      const unset = def(field).type === 'optional';
      const shown = unset ? children.map((l) => l.replace(/^(\s*)([^\s#])/u, '$1# $2')) : children;
      out.push(...comment(`${field.description ?? ''}${unset ? ' Unset by default.' : ''}`, indent), `${indent}${unset ? '# ' : ''}${key}:`, ...shown);
      continue;
    }
    const variable = env.get(path);
    const value = defaultOf(field);
    const notes = [variable === undefined ? '' : ` (${variable})`, value === undefined ? ' Unset by default.' : ''].join('');
    out.push(...comment(`${field.description ?? ''}${notes}`, indent));
    out.push(value === undefined ? `${indent}# ${key}:` : `${indent}${key}: ${yamlValue(value)}`);
  }
  return out;
}

/** spillway.example.yaml: every key, its default (unset keys commented out) and what it means. */
export function renderExampleYaml(): string {
  const env = new Map(ENV_KEYS.map(([name, path]) => [path, name]));
  const header = [
    '# Spillway configuration: every key, with its default. Generated from the schema in src/config.ts by',
    '# `npm run config:docs`: edit the schema, not this file. Every key is optional; use with --config FILE.',
    '# Environment variables (named in brackets) override the file, and flags override both.',
    '# The LLM API key belongs in the environment (SPILLWAY_LLM_API_KEY), never here.',
    '',
  ];
  return `${[...header, ...yamlSection(configSchema, 0, env, '')].join('\n').replace(/\n\n\n+/gu, '\n\n')}\n`;
}

const cell = (text: string): string => text.replace(/\|/gu, '\\|');

/** A Markdown table of the keys under `prefix` (e.g. 'cache.'; '' for all), paths shown relative to it. */
export function renderConfigTable(prefix: string): string {
  const rows = configKeys().filter((k) => k.path.startsWith(prefix));
  const lines = ['| key | default | environment | meaning |', '|---|---|---|---|'];
  for (const k of rows) {
    const value = k.defaultValue === undefined ? 'unset' : `\`${yamlValue(k.defaultValue)}\``;
    lines.push(`| \`${k.path.slice(prefix.length)}\` | ${value} | ${k.env === undefined ? '' : `\`${k.env}\``} | ${cell(k.description)} |`);
  }
  return lines.join('\n');
}

/** A Markdown table of every environment variable the configuration reads and the key each sets. */
export function renderEnvTable(): string {
  return ['| variable | sets |', '|---|---|', ...ENV_KEYS.map(([name, path]) => `| \`${name}\` | \`${path}\` |`)].join('\n');
}

const TABLE = /(<!-- config-table: ([\w.]*) -->)\n[\s\S]*?(<!-- \/config-table -->)/gu;
const ENV_TABLE = /(<!-- env-table -->)\n[\s\S]*?(<!-- \/env-table -->)/gu;

/** A Markdown document with every config-table (and env-table) block filled from the schema. */
export function fillConfigTables(markdown: string): string {
  return markdown
    .replace(TABLE, (_all, open: string, prefix: string, close: string) => `${open}\n${renderConfigTable(prefix)}\n${close}`)
    .replace(ENV_TABLE, (_all, open: string, close: string) => `${open}\n${renderEnvTable()}\n${close}`);
}
