/** Paths tests share: the repo root and the synthetic streams the repository ships (test/fixtures). */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { STREAMS_DIR } from '../fixtures/synthetic-streams.js';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export { STREAMS_DIR };
/** Seven balanced emotion labels, recorded teachers gpt-3.5-turbo-1106 and llama-2-70b-chat. */
export const EMOTIONS = resolve(STREAMS_DIR, 'emotions.jsonl');
/** A rare positive class (`yes`, label 1), same teachers. */
export const MODERATION = resolve(STREAMS_DIR, 'moderation.jsonl');
