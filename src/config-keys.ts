/**
 * Strictness of the configuration: keys the schema does not know, in a file or in flags, and
 * `SPILLWAY_*` variables that set nothing, are errors with a did-you-mean. Generic over the zod schema, so
 * keys added to src/config.ts are known here without a list.
 */
import type { z } from 'zod';
import type { ConfigIssue } from './errors.js';

interface ZodDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  options?: z.ZodType[];
  element?: z.ZodType;
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): ZodDef {
  return (schema as unknown as { _zod: { def: ZodDef } })._zod.def;
}

/** The object schemas `schema` may be, wrappers (optional, default, union, pipe) looked through. */
function objectShapes(schema: z.ZodType): Array<Record<string, z.ZodType>> {
  const def = defOf(schema);
  if (def.type === 'object' && def.shape !== undefined) return [def.shape];
  if (def.innerType !== undefined) return objectShapes(def.innerType);
  if (def.type === 'pipe' && def.in !== undefined) return objectShapes(def.in);
  if (def.type === 'union' && def.options !== undefined) return def.options.flatMap(objectShapes);
  return [];
}

function elementOf(schema: z.ZodType): z.ZodType | undefined {
  const def = defOf(schema);
  if (def.type === 'array') return def.element;
  if (def.innerType !== undefined) return elementOf(def.innerType);
  return undefined;
}

/** Every key path the schema knows, dotted (`cascade.llmBudget`), objects and leaves. */
export function knownPaths(schema: z.ZodType, prefix = ''): string[] {
  const out: string[] = [];
  for (const shape of objectShapes(schema)) {
    for (const [key, child] of Object.entries(shape)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      out.push(path, ...knownPaths(child, path));
    }
  }
  return [...new Set(out)];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Edit distance, case-insensitive (typos in a key are mostly one or two letters). */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  let previous = Array.from({ length: t.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s.length; i++) {
    const current = [i];
    for (let j = 1; j <= t.length; j++) {
      current[j] = Math.min((previous[j] as number) + 1, (current[j - 1] as number) + 1, (previous[j - 1] as number) + (s[i - 1] === t[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[t.length] as number;
}

/** The closest of `candidates` to `name`, when close enough to be a typo. */
export function closest(name: string, candidates: readonly string[], lastSegment = (c: string) => c): string | undefined {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(name, lastSegment(candidate));
    if (best === undefined || distance < best.distance) best = { candidate, distance };
  }
  if (best === undefined) return undefined;
  return best.distance <= Math.max(2, Math.floor(name.length / 4)) ? best.candidate : undefined;
}

/**
 * Keys of `value` the schema does not have, as config issues with a did-you-mean: a typo is matched
 * against every key of the schema (`llmBuget` at the top level → `cascade.llmBudget`), same level first.
 */
export function unknownKeys(schema: z.ZodType, value: unknown, all: readonly string[] = knownPaths(schema), prefix = ''): ConfigIssue[] {
  const shapes = objectShapes(schema);
  const issues: ConfigIssue[] = [];
  if (shapes.length > 0 && isPlainObject(value)) {
    for (const [key, child] of Object.entries(value)) {
      const path = prefix === '' ? key : `${prefix}.${key}`;
      const known = shapes.find((shape) => key in shape);
      if (known !== undefined) {
        issues.push(...unknownKeys(known[key] as z.ZodType, child, all, path));
        continue;
      }
      const siblings = shapes.flatMap((shape) => Object.keys(shape).map((k) => (prefix === '' ? k : `${prefix}.${k}`)));
      const last = (p: string): string => p.slice(p.lastIndexOf('.') + 1);
      const guess = closest(key, siblings, last) ?? closest(key, all, last);
      issues.push({ key: path, value: child, message: `unknown key${guess === undefined ? '' : ` — did you mean ${guess}?`}` });
    }
  }
  const element = elementOf(schema);
  if (element !== undefined && Array.isArray(value)) value.forEach((v, i) => issues.push(...unknownKeys(element, v, all, `${prefix}.${i}`)));
  return issues;
}

/**
 * `SPILLWAY_*` variables read by the project's scripts and tests, not by the configuration: allowed.
 * (scripts/kafka/*.sh, the test suites, the benchmarks.)
 */
const NON_CONFIG_ENV = new Set([
  'SPILLWAY_KAFKA_HOME',
  'SPILLWAY_KAFKA_LIB',
  'SPILLWAY_KAFKA_PORT',
  'SPILLWAY_KAFKA_CONTROLLER_PORT',
  'SPILLWAY_KAFKA_HEAP',
  'SPILLWAY_KAFKA_WAIT_S',
  'SPILLWAY_KAFKA_STOP_S',
  'SPILLWAY_KEEP_TEST_BROKER',
  'SPILLWAY_CHROMIUM',
  'SPILLWAY_DASHBOARD_SCREENSHOT',
  'SPILLWAY_RUN_DIST',
  'SPILLWAY_DATASETS',
]);
/** Prefixes of variables that are the tests' and benchmarks' own. */
const NON_CONFIG_PREFIXES = ['SPILLWAY_TEST_', 'SPILLWAY_BENCH_'];

/** `SPILLWAY_*` variables of `env` that set nothing, as config issues with a did-you-mean among `known`. */
export function unknownEnv(env: NodeJS.ProcessEnv, known: readonly string[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  for (const name of Object.keys(env)) {
    if (!name.startsWith('SPILLWAY_') || known.includes(name) || NON_CONFIG_ENV.has(name)) continue;
    if (NON_CONFIG_PREFIXES.some((p) => name.startsWith(p))) continue;
    const guess = closest(name, known);
    issues.push({
      key: name,
      value: env[name],
      message: `unknown environment variable${guess === undefined ? '' : ` — did you mean ${guess}?`} (docs/configuration.md lists every SPILLWAY_* variable)`,
    });
  }
  return issues;
}
