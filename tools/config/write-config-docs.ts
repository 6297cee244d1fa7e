/**
 * `npm run config:docs`: rewrites spillway.example.yaml and the config tables of the docs from the schema.
 * With `--check`, writes nothing and exits 1 naming the stale files.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../harness/index.js';
import { fillConfigTables, renderExampleYaml } from './config-docs.js';

/** The generated files, relative to the repository root, and how each is rendered from its current text. */
export const CONFIG_DOCS: ReadonlyArray<[file: string, render: (current: string) => string]> = [
  ['spillway.example.yaml', () => renderExampleYaml()],
  ['docs/configuration.md', fillConfigTables],
  ['docs/cache.md', fillConfigTables],
  ['docs/kafka.md', fillConfigTables],
];

/** Rewrites (or with `check`, only compares) every generated file; returns the files that were stale. */
export function writeConfigDocs(check = false, root = REPO_ROOT): string[] {
  const stale: string[] = [];
  for (const [file, render] of CONFIG_DOCS) {
    const full = path.join(root, file);
    const current = readFileSync(full, 'utf8');
    const next = render(current);
    if (next === current) continue;
    stale.push(file);
    if (!check) writeFileSync(full, next);
  }
  return stale;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const check = process.argv.includes('--check');
  const stale = writeConfigDocs(check);
  if (check && stale.length > 0) {
    process.stderr.write(`stale (run npm run config:docs): ${stale.join(', ')}\n`);
    process.exitCode = 1;
  } else process.stdout.write(stale.length === 0 ? 'config docs are current\n' : `rewrote ${stale.join(', ')}\n`);
}
