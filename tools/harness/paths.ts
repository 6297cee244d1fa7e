import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DatasetError } from '../../src/errors.js';

/** The repository's root folder. */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** The variable that says where the benchmarks' recorded datasets are. */
export const DATASETS_ENV = 'SPILLWAY_DATASETS';

/**
 * The benchmarks' recorded datasets (isear, hatespeech: real texts with recorded LLM answers, read in place and
 * never copied): `SPILLWAY_DATASETS`, else `../shared/datasets` beside the repository. Tests never read them.
 */
export const DATASETS_DIR = path.resolve(process.env[DATASETS_ENV] ?? path.join(REPO_ROOT, '../shared/datasets'));

/**
 * A benchmark dataset file: `nameOrPath` as given when that file exists, else the name (`isear`, `isear.jsonl`,
 * `isear.task.json`) in {@link DATASETS_DIR}. A DatasetError names the folder and `SPILLWAY_DATASETS` when absent.
 */
export function datasetFile(nameOrPath: string): string {
  if (existsSync(nameOrPath)) return path.resolve(nameOrPath);
  const name = /\.(jsonl|json)$/.test(nameOrPath) ? path.basename(nameOrPath) : `${path.basename(nameOrPath)}.jsonl`;
  const file = path.join(DATASETS_DIR, name);
  if (existsSync(file)) return file;
  const why = existsSync(DATASETS_DIR) ? `${DATASETS_DIR} has no ${name}` : `${DATASETS_DIR} does not exist`;
  throw new DatasetError(
    nameOrPath,
    `not found: ${why}. The benchmarks read recorded datasets from ${DATASETS_ENV} (default ../shared/datasets beside the repository): set it to the folder holding ${name}`,
  );
}
