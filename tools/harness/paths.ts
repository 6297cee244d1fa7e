import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const REPO_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));
/** The shared datasets beside the repository (`../shared/datasets`), read in place, never copied. */
export const DATASETS_DIR = path.resolve(REPO_ROOT, '../shared/datasets');
