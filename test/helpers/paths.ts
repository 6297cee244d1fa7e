/** Paths tests share: the repo root and the shared datasets beside it. */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DATASETS = resolve(REPO_ROOT, '../shared/datasets');
export const ISEAR = resolve(DATASETS, 'isear.jsonl');
export const HATESPEECH = resolve(DATASETS, 'hatespeech.jsonl');
